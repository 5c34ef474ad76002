"""Tables as people read them: formatted HTML instead of raw dataframe reprs.

Headers in words, labels such as ``checkout_payment`` as "checkout payment", shares and rates
as percentages, other numbers to three significant digits, text left-aligned, every row of a
short table, and a long one in a box that scrolls under a header that stays in view.

Examples
--------
>>> import polars as pl
>>> from cxlab.display import table_html
>>> html = table_html(pl.DataFrame({"touchpoint": ["checkout_payment"], "share": [0.12345]}))
>>> "checkout payment" in html, "12.3%" in html
(True, True)
"""

from __future__ import annotations

import re

import polars as pl

SCROLL_AFTER = 15
"""Tables longer than this many rows scroll inside a box about that high."""
MAX_ROWS = 1_000
"""Rows shown at most; a note says how many more there are (the full table is in the run's CSV)."""
_PERCENT = re.compile(r"(^|_)(share|rate|retention|pct|conversion|drop_off)(_|$)")
_LABEL = r"^[a-z0-9]+(_[a-z0-9]+)+$"


def _number(value: float) -> str:
    if value != value:  # NaN
        return ""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _percent(value: float) -> str:
    return "" if value != value else f"{value:.1%}"


def _in_unit_range(frame: pl.DataFrame, column: str) -> bool:
    values = frame[column].drop_nulls().drop_nans()
    return values.len() > 0 and bool(values.is_between(0, 1).all())


def _is_percent(frame: pl.DataFrame, column: str) -> bool:
    """A share or rate: named so, and every value between 0 and 1."""
    return bool(_PERCENT.search(column)) and _in_unit_range(frame, column)


def _labels(frame: pl.DataFrame) -> pl.DataFrame:
    """Text columns whose values are all snake_case labels, with spaces instead of underscores."""
    text = [c for c, t in frame.schema.items() if t == pl.String]
    labels = [c for c in text if frame[c].drop_nulls().str.contains(_LABEL).any()
              and frame[c].drop_nulls().str.contains(r"^[a-z0-9_ ]+$").all()]  # fmt: skip
    return frame.with_columns(pl.col(labels).str.replace_all("_", " "))


def table_html(frame: pl.DataFrame, *, max_rows: int = MAX_ROWS) -> str:
    """``frame`` as an HTML table for people (see the module docs), with a line saying how many
    rows are not shown when it has more than ``max_rows``."""
    shown = _labels(frame.head(max_rows))
    floats = [c for c, t in frame.schema.items() if t.is_float()]
    percent = [c for c in floats if _is_percent(shown, c)]
    if percent:  # the interval of a share or rate is one too
        percent += [c for c in floats if c in ("ci_low", "ci_high") and _in_unit_range(shown, c)]
    integers = [c for c, t in frame.schema.items() if t.is_integer()]  # float in pandas when one is missing
    text = [c for c, t in frame.schema.items() if not t.is_numeric()]
    words = {c: c.replace("_", " ") for c in frame.columns}
    styler = (
        shown.to_pandas().rename(columns=words)
        .style.hide(axis="index")
        .format(_number, subset=[words[c] for c in floats if c not in percent], na_rep="")
        .format(_percent, subset=[words[c] for c in percent], na_rep="")
        .format("{:.0f}", subset=[words[c] for c in integers], na_rep="")
        .format(na_rep="", subset=[words[c] for c in text])
        .set_properties(subset=[words[c] for c in text], **{"text-align": "left"})
        .set_table_styles([{"selector": "th", "props": "text-align: left; position: sticky; top: 0; "
                                                       "background: white"}])
        .set_table_attributes('class="cxlab-table"')
    )  # fmt: skip
    body = styler.to_html()
    if shown.height > SCROLL_AFTER:
        body = f'<div class="cxlab-scroll" style="max-height: 30em; overflow: auto">{body}</div>'
    hidden = frame.height - shown.height
    more = f"<p><em>{hidden:,} more rows not shown ({frame.height:,} in all).</em></p>" if hidden > 0 else ""
    return body + more
