"""Cells that a spreadsheet would run as formulas are neutralised in every CSV cxlab writes."""

from __future__ import annotations

import polars as pl

from cxlab import load_dataset
from cxlab.rundir import RunDir
from tests.conftest import write_dataset

HOSTILE = "=cmd|' /C calc'!A0"


def test_result_tables_neutralise_formulas_and_read_back_the_raw_value(tmp_path):
    run = RunDir(tmp_path)
    table = pl.DataFrame({"customer_id": [HOSTILE, "+1", "c3"], "archetype": [0, 1, 0]})
    table = table.with_columns(pl.lit("store buyers").alias("archetype_name"))
    path = run.write_table("archetypes.csv", table)
    text = path.read_text()
    assert f"'{HOSTILE}" in text and "'+1" in text and "\nc3," in text
    assert run.read_table("archetypes.csv")["customer_id"].to_list() == [HOSTILE, "+1", "c3"]


def test_rejected_rows_are_written_neutralised(tmp_path):
    rows = [f'"{HOSTILE}",2025-01-01,', f'"{HOSTILE}",2025-01-02,', "c2,2025-01-01,"]  # a duplicate id
    customers = "customer_id,signup_at,churned_at\n" + "\n".join(rows) + "\n"
    events = "customer_id,timestamp,touchpoint\nc2,2025-01-05,website\n"
    folder = write_dataset(tmp_path / "d", customers=customers, interactions=events, surveys=None)
    dataset = load_dataset(folder, max_rejected_share=1.0)
    written = dataset.report.write_rejected(tmp_path / "rejected")
    assert written and all(
        f"'{HOSTILE}" in p.read_text() and f",{HOSTILE}" not in p.read_text() for p in written
    )
