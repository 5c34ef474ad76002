"""Attribution: the Markov removal effect against a published worked example and a second
implementation, and the heuristic rules by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from cxlab import load_dataset
from cxlab.attribution import attribution, attribution_paths, heuristic_credit, markov_credit, removal_effects


def _paths(journeys: list[tuple[list[str], bool]]) -> pl.DataFrame:
    """Paths as attribution_paths returns them: one day between events, horizon a day after the last."""
    rows = []
    for j, (touchpoints, retained) in enumerate(journeys):
        start = datetime(2025, 1, 1)
        horizon = start + timedelta(days=len(touchpoints))
        for i, tp in enumerate(touchpoints):
            rows.append((f"c{j}", j, start + timedelta(days=i), tp, retained, horizon))
    schema = ["customer_id", "journey", "timestamp", "touchpoint", "retained", "horizon_at"]
    return pl.DataFrame(rows, schema=schema, orient="row")


def test_markov_removal_matches_the_worked_example():
    # The three-path example of Anderl et al. (2016) as worked through on analyzecore.com:
    # c1 > c2 > c3 converts, c1 does not, c2 > c3 does not. P(convert) = 1/3; without c1 it is
    # 1/6 (removal effect 0.5), without c2 or c3 it is 0 (effect 1): credits 0.2, 0.4, 0.4.
    paths = _paths([(["c1", "c2", "c3"], True), (["c1"], False), (["c2", "c3"], False)])
    credit = dict(markov_credit(paths).select("touchpoint", "credit").iter_rows())
    assert credit == {"c1": pytest.approx(0.2), "c2": pytest.approx(0.4), "c3": pytest.approx(0.4)}


def _absorption_by_iteration(counts: pl.DataFrame, removed: str | None) -> float:
    """A second implementation: push probability mass from (start) through the chain until absorbed."""
    totals = counts.group_by("source").agg(pl.col("n").sum().alias("t"))
    edges = counts.join(totals, on="source").with_columns((pl.col("n") / pl.col("t")).alias("p"))
    mass, retained = {"(start)": 1.0}, 0.0
    for _ in range(500):
        step: dict[str, float] = {}
        for source, target, p in edges.select("source", "target", "p").iter_rows():
            if source in mass:
                if target == "(retained)":
                    retained += mass[source] * p
                elif target not in ("(churned)", removed):
                    step[target] = step.get(target, 0.0) + mass[source] * p
        mass = step
    return retained


def test_removal_effects_agree_with_a_second_implementation():
    rng = np.random.default_rng(3)
    states = ["a", "b", "c", "d"]
    targets = [*states, "(retained)", "(churned)"]
    rows = [(s, t, int(n)) for s in ["(start)", *states] for t in targets if (n := rng.integers(0, 20)) > 0]
    counts = pl.DataFrame(rows, schema=["source", "target", "n"], orient="row")
    effects = removal_effects(counts, states)
    base = _absorption_by_iteration(counts, None)
    for state in states:
        assert effects[state] == pytest.approx(1 - _absorption_by_iteration(counts, state) / base, abs=1e-9)


def test_heuristic_rules_by_hand():
    paths = _paths([(["a", "b", "c"], True), (["b"], True), (["a"], False)])
    heuristic = heuristic_credit(paths, half_life_days=1)
    credit = {(m, t): c for t, m, c, _ in heuristic.iter_rows()}
    # credit among the 2 retained customers; the Markov chain learns from all 3
    assert set(heuristic["n_customers"]) == {2} and set(markov_credit(paths)["n_customers"]) == {3}
    # first: a, b; last: c, b; linear: a 1/3, b 1/3 + 1, c 1/3 over 2 customers
    assert credit[("first_touch", "a")] == credit[("first_touch", "b")] == 0.5
    assert credit[("last_touch", "c")] == credit[("last_touch", "b")] == 0.5
    assert credit[("linear", "b")] == pytest.approx(2 / 3) and credit[("linear", "a")] == pytest.approx(1 / 6)
    # time decay, half-life 1 day: a, b, c are 3, 2, 1 days before the horizon -> 1/8, 1/4, 1/2 (of 7/8)
    assert credit[("time_decay", "c")] == pytest.approx((4 / 7) / 2)
    assert credit[("time_decay", "b")] == pytest.approx((2 / 7 + 1) / 2)


def test_only_customers_with_a_known_outcome_are_attributed(tiny):
    # End of observation 2025-05-01; horizon = signup + 30 + 180 days. c2 churned on 05-01, before
    # its horizon: known. c1 and c3 are active and their horizons are after the end: unknown.
    paths, counts = attribution_paths(load_dataset(tiny))
    assert counts == {"known_outcome": 1, "unknown_outcome": 2}
    assert set(paths["customer_id"]) == {"c2"} and not paths["retained"].any()
    table = attribution(load_dataset(tiny)).summary
    assert table.filter(method="markov_removal")["credit"].sum() == 0  # nobody retained: no credit


def test_the_chart_shows_the_touchpoints_with_most_credit_and_says_how_many_it_left_out():
    import matplotlib

    matplotlib.use("Agg")
    from cxlab.plotting import plot_attribution

    credit = pl.DataFrame(
        {
            "touchpoint": [f"page_{i:03d}" for i in range(30)] * 2,
            "credit": [i / 900 for i in range(60)],
            "method": ["markov_removal"] * 30 + ["last_touch"] * 30,
        }  # fmt: skip
    )
    ax = plot_attribution(credit, top=5)
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"page {i:03d}" for i in range(29, 24, -1)]
    assert ax.get_title().endswith("top 5 of 30 touchpoints")
