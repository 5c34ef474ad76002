"""Cohort retention against lifelines on each cohort; the lifecycle view by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
from lifelines import KaplanMeierFitter

from cxlab import build_features, load_dataset
from cxlab.cohorts import DAYS_PER_MONTH, cohort_retention, lifecycle
from cxlab.synthetic import make_journeys
from tests.conftest import write_dataset


def _features(seed: int = 0, n: int = 3_000) -> pl.DataFrame:
    """Signups over a year, exponential churn, follow-up censored at the end of the year."""
    rng = np.random.default_rng(seed)
    signup = rng.uniform(0, 365, n)
    churn = rng.exponential(300, n)
    observed = np.minimum(churn, 365 - signup)
    return pl.DataFrame(
        {
            "signup_at": [datetime(2025, 1, 1) + timedelta(days=float(d)) for d in signup],
            "observed_days": observed,
            "is_churned": churn <= 365 - signup,
        }
    )


def test_each_cell_is_lifelines_kaplan_meier_of_its_cohort():
    features = _features()
    table = cohort_retention(features, months=12, min_cell_size=1).summary
    frame = features.with_columns(pl.col("signup_at").dt.strftime("%Y-%m").alias("cohort")).to_pandas()
    for cohort, rows in frame.groupby("cohort"):
        fitter = KaplanMeierFitter().fit(rows["observed_days"], rows["is_churned"])
        cells = table.filter(cohort=cohort)
        expected = fitter.survival_function_at_times(cells["month"].to_numpy() * DAYS_PER_MONTH).to_numpy()
        np.testing.assert_allclose(cells["retention"].to_numpy(), expected, rtol=1e-9)
        at_risk = [(rows["observed_days"] >= m * DAYS_PER_MONTH).sum() for m in cells["month"]]
        assert cells["n_at_risk"].to_list() == at_risk


def test_a_young_cohort_stops_where_its_follow_up_stops_and_small_cells_are_suppressed():
    table = cohort_retention(_features(), months=12, min_cell_size=30).summary
    last = table.filter(cohort="2025-12")
    # December signups are followed for at most 31 days: month 1 at most, never a zero later.
    assert last["month"].max() <= 1 and table["retention"].drop_nulls().min() > 0
    small = table.filter("suppressed")
    assert (small["n_at_risk"] < 30).all() and small["retention"].is_null().all()
    assert table.filter(~pl.col("suppressed"))["retention"].is_not_null().all()


def test_no_customers_is_not_estimable():
    empty = _features().clear()
    assert not cohort_retention(empty).estimable


def test_lifecycle_counts_new_returning_resurrected_and_dormant(tmp_path):
    customers = "customer_id,signup_at,churned_at\na,2025-01-01,\nb,2025-02-01,\n"
    events = (
        "customer_id,timestamp,touchpoint\n"
        "a,2025-01-05,website\na,2025-01-20,billing\na,2025-02-03,website\na,2025-04-02,store\n"
        "b,2025-02-10,website\n"
    )
    dataset = load_dataset(
        write_dataset(tmp_path / "d", customers=customers, interactions=events, surveys=None)
    )
    table = lifecycle(dataset).summary
    assert table.rows() == [
        ("2025-01", 1, 0, 0, 0),
        ("2025-02", 1, 1, 0, 0),  # b new; a returning
        ("2025-03", 0, 0, 0, 2),  # a and b were active in February, not in March
        ("2025-04", 0, 0, 1, 0),  # a back after a month away
    ]


def test_lifecycle_needs_repeated_activity(tmp_path):
    customers = "customer_id,signup_at,churned_at\na,2025-01-01,\nb,2025-02-01,\n"
    events = "customer_id,timestamp,touchpoint\na,2025-01-05,website\nb,2025-02-10,website\n"
    dataset = load_dataset(
        write_dataset(tmp_path / "d", customers=customers, interactions=events, surveys=None)
    )
    result = lifecycle(dataset)
    assert not result.estimable and "repeated activity" in result.describe()


@pytest.mark.parametrize("months", [1, 6])
def test_cohort_table_on_generated_data_is_censoring_aware(months):
    features = build_features(make_journeys(1_000).load())
    table = cohort_retention(features, months=months).summary
    assert table["month"].max() <= months and table.height > 0
