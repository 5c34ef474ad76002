"""The README's worked examples of real exports load exactly as written, and the mapping's
error messages tell the analyst which key would fix the data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from cxlab import load_dataset
from cxlab.exceptions import DataContractError
from cxlab.shapes import make_shape

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_mappings() -> list[dict]:
    section = README.read_text().split("## Bringing a real export", 1)[1].split("\n## ", 1)[0]
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", section, re.S)]


@pytest.mark.parametrize(("index", "name"), [(0, "crm_export"), (1, "order_history"), (2, "b2b_funnel")])
def test_readme_examples_load_as_written(index, name, tmp_path):
    mapping = _readme_mappings()[index]
    shape = make_shape(name)
    assert mapping == shape.mapping  # the zoo test runs every notebook on this very mapping
    dataset = load_dataset(shape.write(tmp_path), mapping=mapping)
    assert dataset.report.summary()["rows_rejected"].sum() == 0
    assert dataset.customers.height > 0 and dataset.interactions.height > 0


def test_crm_export_wide_survey_becomes_one_answer_per_row(tmp_path):
    shape = make_shape("crm_export")
    dataset = load_dataset(shape.write(tmp_path), mapping=shape.mapping)
    asked = {(m, t) for m, t in dataset.surveys.select("metric", "touchpoint").unique().iter_rows()}
    assert asked == {("nps", None), ("csat", "delivery"), ("csat", "support_team"), ("csat", "billing")}
    assert dataset.customers["signup_at"].dt.day().max() > 12  # read day-first, not month-first


def test_day_first_dates_without_the_key_name_the_values_and_the_fix(tmp_path):
    shape = make_shape("crm_export")
    mapping = yaml.safe_load(yaml.safe_dump(shape.mapping))
    del mapping["tables"]["customers"]["day_first"]
    with pytest.raises(DataContractError) as error:
        load_dataset(shape.write(tmp_path), mapping=mapping)
    message = str(error.value)
    assert "accounts.csv" in message and "signup_at" in message
    assert "tables.customers.day_first: true" in message
    date = r"'\d\d/\d\d/\d{4} \d\d:\d\d'"
    assert re.search(rf"of signup_at are not a timestamp, for example {date}, {date}, {date};", message)


def test_a_misspelt_contract_column_gets_a_did_you_mean():
    with pytest.raises(DataContractError, match="Did you mean 'timestamp'"):
        load_dataset(".", mapping={"tables": {"interactions": {"columns": {"timestmap": "Date"}}}})


def test_a_touchpoint_target_missing_from_the_catalog_is_an_error(tmp_path):
    shape = make_shape("crm_export")
    mapping = yaml.safe_load(yaml.safe_dump(shape.mapping))
    mapping["touchpoints"]["Invoice"] = "biling"
    with pytest.raises(DataContractError, match="Did you mean 'billing'"):
        load_dataset(shape.write(tmp_path), mapping=mapping)


def test_identifiers_keep_their_text(tmp_path):
    (tmp_path / "interactions.csv").write_text("customer_id,timestamp,touchpoint\n00042,2025-01-02,website\n")
    dataset = load_dataset(tmp_path, mapping={"tables": {"customers": {"derive": True}}})
    assert dataset.customers["customer_id"].to_list() == ["00042"]


def test_undecodable_bytes_name_the_file_and_line(tmp_path):
    (tmp_path / "interactions.csv").write_bytes(
        b"customer_id,timestamp,touchpoint\nX\xff1,2025-01-02,website\n"
    )
    with pytest.raises(DataContractError, match=r"interactions.csv, line 2: byte ff is not valid utf-8"):
        load_dataset(tmp_path, mapping={"tables": {"customers": {"derive": True}}})
    dataset = load_dataset(
        tmp_path, mapping={"tables": {"customers": {"derive": True}, "interactions": {"encoding": "latin-1"}}}
    )
    assert dataset.customers["customer_id"].to_list() == ["Xÿ1"]


def test_a_header_only_interactions_table_is_refused(tmp_path):
    (tmp_path / "interactions.csv").write_text("customer_id,timestamp,touchpoint\n")
    with pytest.raises(
        DataContractError, match="interactions.csv: the interactions table has a header but no rows"
    ):
        load_dataset(tmp_path, mapping={"tables": {"customers": {"derive": True}}})


def test_a_survey_file_without_a_metric_column_gets_the_mapped_metric(tmp_path):
    (tmp_path / "interactions.csv").write_text("customer_id,timestamp,touchpoint\nA,2025-01-02,website\n")
    (tmp_path / "csat.csv").write_text("customer_id,responded_at,score\nA,2025-01-03,4\n")
    mapping = {"tables": {"customers": {"derive": True}, "surveys": {"file": "csat.csv", "metric": "CSAT"}}}
    surveys = load_dataset(tmp_path, mapping=mapping).surveys
    assert surveys.select("metric", "score").rows() == [("csat", 4.0)]
    (tmp_path / "csat.csv").write_text("customer_id,responded_at,score,metric\nA,2025-01-03,4,csat\n")
    with pytest.raises(
        DataContractError, match="has a metric column, and .* gives 'tables.surveys.metric' too"
    ):
        load_dataset(tmp_path, mapping=mapping)
