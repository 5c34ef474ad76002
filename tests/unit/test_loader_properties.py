"""Property: whatever corruption a file suffers, the loader never crashes with an unhandled
exception, and every row it reads is either loaded or rejected (read = loaded + rejected)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxlab import DataContractError, load_dataset
from tests.conftest import CUSTOMERS, INTERACTIONS, SURVEYS, write_dataset

TABLES = {"customers": CUSTOMERS, "interactions": INTERACTIONS, "surveys": SURVEYS}
NOISE = st.text(alphabet=st.sampled_from(list('abc019,;"\n\t -:TZ+.\ufeff\x00é')), max_size=12)


@st.composite
def corruption(draw):
    """Pick a table and damage it: overwrite a cell, splice in noise, cut it short, or repeat a line."""
    table = draw(st.sampled_from(sorted(TABLES)))
    lines = TABLES[table].splitlines()
    kind = draw(st.sampled_from(["cell", "splice", "truncate", "repeat"]))
    if kind == "cell":
        i = draw(st.integers(1, len(lines) - 1))
        cells = lines[i].split(",")
        cells[draw(st.integers(0, len(cells) - 1))] = draw(NOISE)
        lines[i] = ",".join(cells)
        text = "\n".join(lines) + "\n"
    elif kind == "splice":
        text = "\n".join(lines) + "\n"
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(NOISE) + text[at + draw(st.integers(0, 5)) :]
    elif kind == "truncate":
        text = "\n".join(lines)[: draw(st.integers(0, len(TABLES[table])))]
    else:
        i = draw(st.integers(1, len(lines) - 1))
        text = "\n".join(lines + [lines[i]] * draw(st.integers(1, 3))) + "\n"
    return table, text


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(corruption())
def test_loader_accounts_for_every_row_or_explains_why_not(damage):
    table, text = damage
    with tempfile.TemporaryDirectory() as tmp:
        write_dataset(Path(tmp), **{table: text})
        try:
            ds = load_dataset(tmp, max_rejected_share=1.0)
        except DataContractError as exc:
            assert str(exc)  # a clear message, not a crash
            return
    for name, t in ds.report.tables.items():
        assert t.rows_read == t.rows_loaded + t.rows_rejected, name
        assert t.rejected["reason"].null_count() == 0
    assert ds.interactions["customer_id"].is_in(ds.customers["customer_id"].implode()).all()
    assert ds.interactions.select(pl.col("timestamp", "touchpoint").null_count()).sum_horizontal().item() == 0
    assert ds.customers["customer_id"].is_unique().all()
