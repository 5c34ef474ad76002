"""The column-mapping file: renames, labels, derived customers, churn by inactivity, errors."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from cxlab import DataContractError, load_dataset, read_mapping
from tests.conftest import write_dataset

CLICKSTREAM = """\
user_id,event_time,event,amount
u1,2025-01-01 10:00,Landing Page,
u1,2025-01-02 10:00,Purchase,20
u1,2025-06-25 10:00,Landing Page,
u2,2025-02-01 10:00,Landing Page,
u2,2025-02-03 10:00,Purchase,35
u3,2025-03-01 10:00,Landing Page,
"""

CLICKSTREAM_MAPPING = """\
tables:
  interactions:
    file: web_events.csv
    columns:
      customer_id: user_id
      timestamp: event_time
      touchpoint: event
      value: amount
  customers:
    derive: true
touchpoints:
  "Landing Page": website
  Purchase: checkout_payment
churn:
  inactivity_days: 90
"""


@pytest.fixture
def clickstream(tmp_path):
    (tmp_path / "web_events.csv").write_text(CLICKSTREAM)
    (tmp_path / "mapping.yml").write_text(CLICKSTREAM_MAPPING)
    return tmp_path


def test_clickstream_without_customer_table_is_a_dataset(clickstream):
    ds = load_dataset(clickstream, mapping=clickstream / "mapping.yml")
    customers = ds.customers.sort("customer_id")
    assert customers["customer_id"].to_list() == ["u1", "u2", "u3"]
    # signup_at = each customer's first event
    assert customers["signup_at"].to_list() == [
        datetime(2025, 1, 1, 10),
        datetime(2025, 2, 1, 10),
        datetime(2025, 3, 1, 10),
    ]
    # End of observation 2025-06-25: u2 (last seen Feb 3) and u3 (Mar 1) inactive > 90 days.
    assert customers["churned_at"].to_list() == [None, datetime(2025, 2, 3, 10), datetime(2025, 3, 1, 10)]
    assert set(ds.interactions["touchpoint"]) == {"website", "checkout_payment"}
    assert ds.report.tables["customers"].derived.startswith("derived from interactions")
    assert ds.report.tables["customers"].rows_read == 3


def test_signup_touchpoint_makes_first_purchase_the_signup(clickstream):
    mapping = read_mapping(clickstream / "mapping.yml")
    mapping.tables["customers"] = type(mapping.tables["customers"])(
        derive=True, signup_touchpoint="checkout_payment"
    )
    ds = load_dataset(clickstream, mapping=mapping, max_rejected_share=0.5)
    assert ds.customers.sort("customer_id")["signup_at"].to_list() == [
        datetime(2025, 1, 2, 10),
        datetime(2025, 2, 3, 10),
    ]
    # u3 never purchased: not a customer; its event is quarantined, not dropped.
    rejected = ds.report.tables["interactions"].rejected
    assert rejected["user_id"].to_list() == ["u3"]
    assert rejected["reason"][0].startswith("unknown customer_id")


def test_mapping_renames_a_column_that_is_not_in_the_file(clickstream):
    text = CLICKSTREAM_MAPPING.replace("timestamp: event_time", "timestamp: event_ts")
    (clickstream / "mapping.yml").write_text(text)
    with pytest.raises(
        DataContractError, match=r"interactions\.timestamp comes from column 'event_ts'.*web_events\.csv"
    ):
        load_dataset(clickstream, mapping=clickstream / "mapping.yml")


def test_no_churn_information_is_a_warning_not_a_silent_answer(clickstream):
    (clickstream / "mapping.yml").write_text(
        CLICKSTREAM_MAPPING.replace("churn:\n  inactivity_days: 90\n", "")
    )
    ds = load_dataset(clickstream, mapping=clickstream / "mapping.yml")
    assert ds.customers["churned_at"].null_count() == 3
    assert any("no customer counts as churned" in w for w in ds.report.warnings)


def test_inactivity_rule_is_ignored_when_churn_dates_are_given(tiny):
    ds = load_dataset(tiny, mapping={"churn": {"inactivity_days": 10}})
    assert ds.customers.filter(pl.col("customer_id") == "c2")["churned_at"].to_list() == [
        datetime(2025, 5, 1)
    ]
    assert any("is not used" in w for w in ds.report.warnings)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("tables:\n  orders: {}\n", "unknown table 'orders'"),
        ("tabels: {}\n", "unknown key 'tabels' in the top level"),
        (
            "churn:\n  inactivity_days: soon\n",
            r"'churn.inactivity_days' must be a whole number of days > 0. Got 'soon'",
        ),
        ("scales:\n  nps: [10, 0]\n", r"'scales.nps' must be \[min, max\] with min < max"),
        ("tables:\n  surveys:\n    derive: true\n", "only the customers table can be derived"),
        ("tables: [1, 2]\n", "must be a mapping"),
        ("touchpoints:\n  a: [1]\n", "'touchpoints.a' must be a name"),
        ("validation:\n  max_rejected_share: 2\n", "between 0 and 1"),
        ("key: [unclosed\n", "is not valid YAML"),
    ],
)
def test_mapping_errors_name_the_file_and_key(tmp_path, content, message):
    path = tmp_path / "m.yml"
    path.write_text(content)
    with pytest.raises(DataContractError, match=message) as info:
        read_mapping(path)
    assert str(path) in str(info.value)


def test_missing_mapping_file_is_a_clear_error(tmp_path):
    with pytest.raises(DataContractError, match="does not exist"):
        read_mapping(tmp_path / "nope.yml")


def test_mapping_can_name_a_file_for_a_table(tmp_path):
    write_dataset(tmp_path, surveys=None)
    (tmp_path / "customers.csv").rename(tmp_path / "crm_export.csv")
    ds = load_dataset(tmp_path, mapping={"tables": {"customers": {"file": "crm_export.csv"}}})
    assert ds.customers.height == 3
    with pytest.raises(DataContractError, match="names .*nope.csv for the customers table"):
        load_dataset(tmp_path, mapping={"tables": {"customers": {"file": "nope.csv"}}})


def test_yaml_aliases_are_refused_with_the_line(tmp_path):
    laughs = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    path = tmp_path / "mapping.yml"
    path.write_text(laughs + "tables: {}\n")
    with pytest.raises(DataContractError, match=r"line 2: YAML aliases \(\*name\) are not allowed"):
        read_mapping(path)
