"""Tables formatted for people: labels, percentages, rounding, every row, scrolling."""

from __future__ import annotations

import polars as pl

from cxlab.display import MAX_ROWS, SCROLL_AFTER, table_html


def test_labels_shares_and_numbers_are_written_for_people():
    frame = pl.DataFrame(
        {
            "touchpoint": ["checkout_payment", "store"],
            "customer_id": ["C_0001", "C_0002"],  # not all lower-case labels: left as they are
            "comment": ["App crashes at checkout_page", None],
            "retention_rate": [0.8123, None],
            "ci_low": [0.75, None],
            "hazard_ratio": [1.23456, float("nan")],
            "share": [0.5, 1.5],  # above 1: not a share, left a number
            "n_customers": [12345, 7],
            "horizon_days": [None, 180],  # an integer column with a gap: pandas makes it float
        }
    )
    html = table_html(frame)
    assert "checkout payment" in html and "checkout_payment" not in html.replace("checkout_page", "")
    assert "C_0001" in html and "App crashes at checkout_page" in html
    assert "81.2%" in html and "75.0%" in html and "1.23" in html and "1.5" in html and "50.0%" not in html
    assert "retention rate" in html and "hazard ratio" in html and "nan" not in html.lower()
    assert ">180<" in html and "180.0" not in html


def test_a_short_table_shows_every_row_and_a_long_one_scrolls():
    short = table_html(pl.DataFrame({"n": range(SCROLL_AFTER)}))
    assert "cxlab-scroll" not in short and short.count("<tr") == SCROLL_AFTER + 1
    long = table_html(pl.DataFrame({"n": range(200)}))
    assert "cxlab-scroll" in long and long.count("<tr") == 201 and "not shown" not in long
    huge = table_html(pl.DataFrame({"n": range(MAX_ROWS + 5)}))
    assert "5 more rows not shown (1,005 in all)" in huge


def test_in_a_notebook_data_frames_show_as_these_tables():
    from IPython.core.interactiveshell import InteractiveShell

    from cxlab import plotting

    shell = InteractiveShell.instance()
    plotting.use_style()
    shown, _ = shell.display_formatter.format(pl.DataFrame({"touch_point": ["live_chat"], "share": [0.25]}))
    assert (
        "live chat" in shown["text/html"]
        and "25.0%" in shown["text/html"]
        and "shape:" not in shown["text/html"]
    )
