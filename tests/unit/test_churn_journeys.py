"""Journeys into churn: hand-computed windows and paths, a planted step before churn, anchored flows."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from cxlab import load_dataset
from cxlab.churn_journeys import anchored_flow, churned_vs_retained, paths_into_churn, reference_points
from tests.conftest import write_dataset

# Both churned customers leave 59 days after signup, so every active customer's matched point
# is 59 days after their signup too (2025-03-01), whatever the seed.
CUSTOMERS = "customer_id,signup_at,churned_at\nc1,2025-01-01,2025-03-01\nc2,2025-01-01,2025-03-01\n"
CUSTOMERS += "a1,2025-01-01,\na2,2025-01-01,\n"
EVENTS = """customer_id,timestamp,touchpoint
c1,2025-01-01,website
c1,2025-02-15,support_team
c1,2025-02-20,billing
c2,2025-01-01,website
c2,2025-02-25,support_team
a1,2025-01-01,website
a1,2025-02-10,billing
a1,2025-06-01,website
a2,2025-01-01,website
a2,2025-01-15,store
"""


@pytest.fixture
def dataset(tmp_path):
    folder = write_dataset(tmp_path / "d", customers=CUSTOMERS, interactions=EVENTS, surveys=None)
    return load_dataset(folder)


def test_active_customers_are_read_at_a_churned_customers_tenure(dataset):
    points = reference_points(dataset).sort("customer_id")
    assert points["reference_at"].to_list() == [datetime(2025, 3, 1)] * 4


def test_shares_in_the_last_30_days_by_hand(dataset):
    table = churned_vs_retained(dataset, window_days=30).summary
    shares = {r["step"]: (r["share_churned"], r["share_retained"]) for r in table.iter_rows(named=True)}
    assert shares == {
        "(any touchpoint)": (1.0, 0.5),  # a2's last event (15 Jan) is outside the window
        "support_team": (1.0, 0.0),
        "billing": (0.5, 0.5),
        "support_team → billing": (0.5, 0.0),  # c2's website visit is outside the window
    }
    billing = table.filter(step="billing").row(0, named=True)
    assert billing["difference"] == 0 and billing["p_value"] == pytest.approx(1.0)


def test_last_touchpoints_as_paths_by_hand(dataset):
    table = paths_into_churn(dataset, steps=2).summary
    counts = {(r["kind"], r["step"]): (r["n_churned"], r["n_retained"]) for r in table.iter_rows(named=True)}
    assert counts == {
        ("path", "support_team > billing"): (1, 0),
        ("path", "website > support_team"): (1, 0),
        ("path", "website > billing"): (0, 1),
        ("path", "website > store"): (0, 1),
        ("step", "support_team"): (2, 0),
        ("step", "billing"): (1, 1),
        ("step", "website"): (1, 2),
        ("step", "store"): (0, 1),
    }
    assert table["kind"].to_list()[:4] == ["step"] * 4  # steps first, then the common paths


def test_anchored_flow_with_end_states(dataset):
    flow = anchored_flow(dataset, "support_team", steps=1).summary
    assert sorted(flow.select("position", "touchpoint", "n_customers").rows()) == [
        (-1, "website", 2),
        (0, "support_team", 2),
        (1, "(churned)", 1),
        (1, "billing", 1),
    ]
    assert not anchored_flow(dataset, "loyalty_program").estimable


def test_nobody_churned_is_not_estimable(tmp_path):
    customers = "customer_id,signup_at,churned_at\na1,2025-01-01,\n"
    folder = write_dataset(
        tmp_path / "d",
        customers=customers,
        interactions=EVENTS.split("c1")[0] + "a1,2025-01-02,web\n",
        surveys=None,
    )
    result = churned_vs_retained(load_dataset(folder))
    assert not result.estimable and "churned" in result.describe()


def _planted(tmp_path, seed: int = 0, n: int = 2_000):
    """Monthly website visits for everyone and billing at random (no link to churn); half the
    customers who churn contact support in the 20 days before they leave."""
    rng = np.random.default_rng(seed)
    start, end = datetime(2024, 1, 1), 540.0
    signup = rng.uniform(0, 300, n)
    churn = signup + rng.uniform(60, 400, n)
    churned = churn < end
    stop = np.minimum(churn, end)
    rows = []
    for i in range(n):
        for day in np.arange(signup[i], stop[i], 30.0):
            rows.append((f"c{i}", day, "website"))
        for day in rng.uniform(signup[i], stop[i], rng.poisson((stop[i] - signup[i]) / 60)):
            rows.append((f"c{i}", day, "billing"))
        if churned[i] and rng.random() < 0.5:
            rows.append((f"c{i}", churn[i] - rng.uniform(1, 20), "support_team"))
    at = lambda d: (start + timedelta(days=float(d))).isoformat(sep=" ", timespec="seconds")  # noqa: E731
    customers = pl.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "signup_at": [at(d) for d in signup],
            "churned_at": [at(d) if c else None for d, c in zip(churn, churned, strict=True)],
        }
    )
    events = pl.DataFrame(rows, schema=["customer_id", "day", "touchpoint"], orient="row")
    events = events.select(
        "customer_id", pl.col("day").map_elements(at, pl.String).alias("timestamp"), "touchpoint"
    )
    folder = tmp_path / "planted"
    folder.mkdir()
    customers.write_csv(folder / "customers.csv")
    events.write_csv(folder / "interactions.csv")
    return load_dataset(folder, observation_end=at(end))


def test_a_planted_step_before_churn_is_found_and_a_null_one_is_not(tmp_path):
    table = churned_vs_retained(_planted(tmp_path), window_days=30).summary
    support = table.filter(step="support_team").row(0, named=True)
    # Half the churned customers contact support in their last 20 days, no retained one does:
    # 0.5 within sampling noise of about 1,000 churned customers (sd about 0.016).
    assert support["share_churned"] == pytest.approx(0.5, abs=0.05) and support["share_retained"] == 0
    assert support["q_value"] < 0.05
    # Billing and website come at the same rate whether one churns or not.
    for step in ("billing", "website"):
        assert table.filter(step=step)["q_value"].item() >= 0.05
