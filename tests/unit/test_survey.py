"""Survey scores by hand, driver importance against a second implementation, comments."""

from __future__ import annotations

from datetime import datetime
from itertools import permutations

import numpy as np
import polars as pl
import pytest
from scipy import stats
from sklearn.linear_model import LinearRegression

from cxlab import build_features, load_dataset
from cxlab.survey import lmg_importance, nps_interval, relative_weights, survey_scores, wilson_interval
from cxlab.voice import nps_followup, responder_comparison


def test_nps_and_its_trinomial_interval_by_hand():
    # 2 promoters, 2 passives, 2 detractors: NPS 0; variance (2/6 + 2/6 - 0) / 6 = 1/9.
    score, low, high = nps_interval(np.array([10, 9, 8, 7, 6, 0]))
    assert score == 0 and high == pytest.approx(100 * 1.96 / 3) and low == pytest.approx(-high)


def test_wilson_interval_is_scipys_for_every_count():
    cells = pl.DataFrame(
        [(k, n) for n in (1, 2, 7, 10, 250) for k in range(n + 1)], schema=["k", "n"], orient="row"
    )
    low, high = wilson_interval(pl.col("k"), pl.col("n"))
    ours = cells.select(low=low, high=high)
    scipy = [stats.binomtest(k, n).proportion_ci(method="wilson") for k, n in cells.iter_rows()]
    assert ours["low"].to_numpy() == pytest.approx([c.low for c in scipy], abs=1e-12)
    assert ours["high"].to_numpy() == pytest.approx([c.high for c in scipy], abs=1e-12)


def test_top_two_box_share_and_mean_intervals_match_their_one_cell_formulas(tiny):
    dataset = load_dataset(tiny)
    rng = np.random.default_rng(0)
    csat = rng.integers(1, 6, 40).astype(float)
    dataset.surveys = pl.DataFrame(
        {
            "customer_id": "c1",
            "responded_at": datetime(2025, 3, 1),
            "response_id": [f"r{i}" for i in range(40)],
            "metric": "csat",
            "score": csat,
            "touchpoint": "delivery",
        }  # fmt: skip
    )
    cells = survey_scores(dataset).overall().filter(pl.col("touchpoint") == "delivery")
    top2 = cells.filter(metric="csat_top2").row(0, named=True)
    wilson = stats.binomtest(int((csat >= 4).sum()), 40).proportion_ci(method="wilson")
    assert top2["score"] == (csat >= 4).mean() and (top2["ci_low"], top2["ci_high"]) == pytest.approx(wilson)
    mean = cells.filter(metric="csat").row(0, named=True)
    t = stats.t.interval(0.95, 39, loc=csat.mean(), scale=stats.sem(csat))
    assert mean["score"] == pytest.approx(csat.mean()) and (mean["ci_low"], mean["ci_high"]) == pytest.approx(
        t
    )


def test_customers_without_an_archetype_count_in_all_customers_only(tiny):
    dataset = load_dataset(tiny)
    archetypes = pl.DataFrame({"customer_id": ["c1"], "archetype_name": ["Loyal"]})  # c2 and c3 have none
    scores = survey_scores(dataset, archetypes=archetypes, min_cell_size=1).summary
    keys = ["metric", "touchpoint", "segment", "stage", "month"]
    assert not scores.select(keys).is_duplicated().any()
    assert set(scores["segment"]) == {"all", "Loyal"}


def test_score_table_cells_and_suppression(tiny):
    scores = survey_scores(load_dataset(tiny), min_cell_size=2).summary
    overall = scores.filter(pl.col("segment") == "all", pl.col("month").is_null(), pl.col("stage").is_null())
    nps = overall.filter(metric="nps").row(0, named=True)  # r1: 9 (promoter), r2: 3 (detractor)
    assert (nps["n"], nps["score"], nps["touchpoint"], nps["suppressed"]) == (2, 0.0, None, False)
    csat = overall.filter(metric="csat").row(0, named=True)  # one CSAT answer: 4 on delivery
    assert (csat["touchpoint"], csat["score"], csat["suppressed"]) == ("delivery", 4.0, True)
    by_stage = scores.filter(pl.col("stage").is_not_null())
    assert set(by_stage["stage"]) == {"post_purchase", "purchase"}  # delivery, checkout_payment


def _lmg_by_permutations(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Second implementation: average R^2 gain of each driver over every order of entry."""
    p = X.shape[1]

    def r2(columns):
        return LinearRegression().fit(X[:, columns], y).score(X[:, columns], y) if columns else 0.0

    gains = np.zeros(p)
    orders = list(permutations(range(p)))
    for order in orders:
        for k, j in enumerate(order):
            gains[j] += r2(list(order[: k + 1])) - r2(list(order[:k]))
    return gains / len(orders)


def test_lmg_agrees_with_a_permutation_implementation_and_weights_sum_to_r2():
    rng = np.random.default_rng(0)
    halo = rng.normal(size=400)
    X = np.column_stack([halo + rng.normal(size=400) for _ in range(4)])
    y = X @ np.array([1.0, 0.5, 0.2, 0.0]) + rng.normal(size=400)
    corr = np.corrcoef(np.column_stack([y, X]), rowvar=False)
    lmg = lmg_importance(corr)
    assert lmg == pytest.approx(_lmg_by_permutations(X, y), abs=1e-9)
    r2 = LinearRegression().fit(X, y).score(X, y)
    assert lmg.sum() == pytest.approx(r2) and relative_weights(corr).sum() == pytest.approx(r2)
    assert list(np.argsort(-relative_weights(corr))) == [0, 1, 2, 3]


def test_relative_weights_of_uncorrelated_drivers_are_squared_correlations():
    corr = np.array([[1.0, 0.5, 0.3], [0.5, 1.0, 0.0], [0.3, 0.0, 1.0]])
    assert relative_weights(corr) == pytest.approx([0.25, 0.09])


def test_followup_starts_at_the_first_answer_and_responders_are_compared(tiny):
    dataset = load_dataset(tiny)
    features = build_features(dataset)
    followup = nps_followup(dataset, features).sort("customer_id")
    # c1 answered 02-10 and is active until 05-01 (80 days); c2 answered 03-02 and churned 05-01 (60 days)
    assert followup["duration"].to_list() == [80.0, 60.0] and followup["churned"].to_list() == [False, True]
    assert followup["nps_category"].to_list() == ["promoter", "detractor"]
    groups = responder_comparison(dataset, features).summary
    assert groups["n_customers"].to_list() == [3] and groups["group"].to_list() == ["responders"]


def test_mean_with_t_interval_by_hand():
    from cxlab.survey import _mean

    score, low, high = _mean(np.array([1.0, 2, 3, 4, 5]))
    # sd 1.5811, se 0.7071, t(0.975, 4) = 2.7764
    assert (
        score == 3
        and high - score == pytest.approx(2.7764 * 0.7071, abs=1e-3)
        and low == pytest.approx(6 - high)
    )


def test_nps_interval_covers_the_true_score_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    truth = 100 * (0.40 - 0.25)
    draws = rng.choice([10, 8, 3], p=[0.40, 0.35, 0.25], size=(2_000, 200))
    covered = [low <= truth <= high for _, low, high in map(nps_interval, draws)]
    assert 0.93 <= np.mean(covered) <= 0.97


def test_driver_labels_on_the_fix_first_chart_neither_overlap_nor_leave_the_frame():
    import matplotlib

    matplotlib.use("Agg")
    from cxlab.plotting import plot_driver_quadrant

    names = ["mobile_app", "checkout_payment", "website", "billing", "support_team", "delivery"]
    importance = [0.057, 0.072, 0.093, 0.12, 0.195, 0.258]  # the crowded left of the sample's chart
    scores = [3.565, 3.561, 3.557, 3.566, 3.54, 3.591]
    drivers = pl.DataFrame({
        "driver": names, "method": "lmg", "importance": importance, "mean_score": scores,
        "score_ci_low": [s - 0.03 for s in scores], "score_ci_high": [s + 0.03 for s in scores],
    })  # fmt: skip
    ax = plot_driver_quadrant(drivers)
    renderer = ax.figure.canvas.get_renderer()
    labels = [t for t in ax.texts if t.get_text().strip().replace(" ", "_") in names]
    boxes = [t.get_window_extent(renderer) for t in labels]
    frame = ax.get_window_extent(renderer)
    assert len(boxes) == len(names)
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    assert all(frame.x0 <= b.x0 and b.x1 <= frame.x1 and frame.y0 <= b.y0 and b.y1 <= frame.y1 for b in boxes)
