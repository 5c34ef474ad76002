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


def load_damaged(table: str, content: str | bytes):
    """The tiny dataset with ``table`` replaced by ``content``, loaded; None when the loader
    refused it with a message naming the file or the table (never a crash)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = write_dataset(Path(tmp)) / f"{table}.csv"
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        try:
            ds = load_dataset(tmp, max_rejected_share=1.0)
        except DataContractError as exc:
            assert f"{table}.csv" in str(exc) or "customers" in str(exc), str(exc)
            return None
    for name, t in ds.report.tables.items():
        assert t.rows_read == t.rows_loaded + t.rows_rejected, name
        assert t.rejected["reason"].null_count() == 0
    return ds


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(corruption())
def test_loader_accounts_for_every_row_or_explains_why_not(damage):
    ds = load_damaged(*damage)
    if ds is None:
        return
    assert ds.interactions["customer_id"].is_in(ds.customers["customer_id"].implode()).all()
    assert ds.interactions.select(pl.col("timestamp", "touchpoint").null_count()).sum_horizontal().item() == 0
    assert ds.customers["customer_id"].is_unique().all()


@st.composite
def byte_damage(draw):
    """Damage a table at the byte level: re-encode it, change a row's field count, unbalance a
    quote or splice in binary garbage."""
    table = draw(st.sampled_from(sorted(TABLES)))
    lines = TABLES[table].splitlines()
    i = draw(st.integers(1, len(lines) - 1))
    kind = draw(st.sampled_from(["encoding", "fields", "quote", "garbage"]))
    if kind == "fields":
        cells = lines[i].split(",")
        lines[i] = ",".join(cells[: draw(st.integers(0, len(cells) - 1))] or cells + ["extra"] * 2)
    elif kind == "quote":
        cells = lines[i].split(",")
        at = draw(st.integers(0, len(cells) - 1))
        cells[at] = draw(st.sampled_from(['"', '"x', 'x"y', '""', '"a,b"', '"a\nb"'])) + cells[at]
        lines[i] = ",".join(cells)
    text = "\n".join(lines) + "\n"
    if kind == "encoding":
        text = text.replace("c1", draw(st.sampled_from(["cé1", "c\u00ff1", "c\u20ac1"])))
        encoding = draw(st.sampled_from(["latin-1", "cp1252", "utf-16", "utf-8-sig"]))
        return table, text.encode(encoding, "replace")
    data = text.encode("utf-8")
    if kind == "garbage":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=24)) + data[at:]
    return table, data


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(byte_damage())
def test_bytes_in_any_encoding_or_shape_are_loaded_rejected_or_refused_by_name(damage):
    ds = load_damaged(*damage)
    if ds is not None:
        assert "\ufffd" not in "".join(ds.customers["customer_id"].to_list())  # nothing replaced silently
