"""Pseudonymized ids: no real id survives anywhere, whatever the export calls its id column."""

from __future__ import annotations

import polars as pl

from cxlab import load_dataset
from cxlab.privacy import pseudonymize
from cxlab.shapes import make_shape
from tests.conftest import assert_no_real_id


def test_no_real_id_in_any_file_when_the_mapping_renames_the_id_column(tmp_path):
    data = make_shape("crm_export").write(tmp_path / "export")  # ids in 'Account ID'
    accounts = pl.read_csv(data / "accounts.csv", infer_schema=False)
    pl.concat([accounts, accounts.head(5)]).write_csv(data / "accounts.csv")  # 5 rejected duplicates
    dataset = load_dataset(data, mapping=data / "mapping.yaml")
    assert dataset.report.tables["customers"].rows_rejected == 5
    hidden = pseudonymize(dataset, salt="test")
    hidden.report.write_rejected(tmp_path / "run" / "rejected")
    hidden.save(tmp_path / "run" / "dataset")
    assert_no_real_id(tmp_path / "run", set(accounts["Account ID"]))
