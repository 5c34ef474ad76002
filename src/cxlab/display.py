"""Tables as people read them: formatted HTML instead of raw dataframe reprs.

Examples
--------
>>> import polars as pl
>>> from cxlab.display import table_html
>>> "<table" in table_html(pl.DataFrame({"touchpoint": ["app"], "share": [0.12345]}))
True
"""

from __future__ import annotations

import polars as pl


def _number(value: float) -> str:
    if value != value:  # NaN
        return ""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def table_html(frame: pl.DataFrame, *, max_rows: int = 40) -> str:
    """``frame`` as an HTML table: headers in words (no underscores), numbers rounded to three
    significant digits, empty cells for missing values, text left-aligned, and a line saying
    how many rows are not shown."""
    shown = frame.head(max_rows).to_pandas()
    text = [c for c, t in frame.schema.items() if not t.is_numeric()]
    styler = (
        shown.rename(columns=lambda c: str(c).replace("_", " "))
        .style.hide(axis="index")
        .format(
            _number, subset=[c.replace("_", " ") for c, t in frame.schema.items() if t.is_float()], na_rep=""
        )
        .format(na_rep="", subset=[c.replace("_", " ") for c in text])
        .set_properties(subset=[c.replace("_", " ") for c in text], **{"text-align": "left"})
        .set_table_styles([{"selector": "th", "props": "text-align: left"}])
        .set_table_attributes('class="cxlab-table"')
    )
    body = styler.to_html()
    hidden = frame.height - len(shown)
    more = f"<p><em>{hidden:,} more rows not shown ({frame.height:,} in all).</em></p>" if hidden > 0 else ""
    return body + more
