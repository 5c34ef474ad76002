"""Landmark data, Cox hazard ratios and retention differences on hand-built data."""

from __future__ import annotations

import warnings
from datetime import datetime

import numpy as np
import polars as pl
import pytest
from lifelines import CoxPHFitter

from cxlab import retention
from cxlab.retention import Landmark


def _features(rows):
    columns = [
        "customer_id",
        "is_churned",
        "observed_days",
        "window_complete",
        "exposed_chat",
        "attr_segment",
    ]
    frame = pl.DataFrame(rows, schema=columns, orient="row")
    return frame.with_columns(pl.lit(datetime(2025, 1, 1)).alias("signup_at"))


def test_landmark_keeps_customers_active_at_the_end_of_the_window_and_counts_the_rest():
    features = _features(
        [
            ("a", False, 20.0, False, True, "x"),  # signed up 20 days before the end: window incomplete
            ("b", True, 10.0, True, True, "x"),  # churned on day 10, inside the window
            ("c", False, 30.0, True, False, "y"),  # active, but observation ends at the landmark
            ("d", True, 100.0, True, False, "y"),  # churned 70 days after the landmark
            ("e", False, 200.0, True, True, "x"),  # censored 170 days after the landmark
        ]
    )
    landmark = retention.landmark_data(features, exposure_window_days=30)
    assert landmark.data["customer_id"].to_list() == ["d", "e"]
    assert landmark.data["duration"].to_list() == [70.0, 170.0]
    assert landmark.data["churned"].to_list() == [True, False]
    counts = landmark.counts
    assert (counts["window_incomplete"], counts["churned_in_window"], counts["no_follow_up"]) == (1, 1, 1)
    assert (counts["included"], counts["churned"]) == (2, 1)
    assert "2 of 5 customers" in landmark.describe()


def _simulated(n=4_000, seed=0):
    """Exposure 'chat' halves the hazard; 'email' does nothing; segment b doubles it."""
    rng = np.random.default_rng(seed)
    segment = rng.choice(["a", "b"], n)
    chat = rng.random(n) < np.where(segment == "b", 0.6, 0.3)  # confounded with segment
    email = rng.random(n) < 0.5
    hazard = 0.004 * np.exp(np.log(0.5) * chat + np.log(2) * (segment == "b"))
    time = rng.exponential(1 / hazard)
    censor = rng.uniform(50, 400, n)
    data = pl.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "duration": np.minimum(time, censor),
            "churned": time <= censor,
            "exposed_chat": chat,
            "exposed_email": email,
            "exposed_everyone": np.ones(n, dtype=bool),
            "exposed_rare": np.arange(n) < 10,
            "attr_segment": segment,
        }
    )
    return Landmark(data, 30)


def test_cox_rows_estimates_and_reasons_for_missing_ones():
    cox = retention.touchpoint_hazard_ratios(_simulated(), min_exposed=50)
    rows = {r["touchpoint"]: r for r in cox.summary.iter_rows(named=True)}
    assert rows["chat"]["ci_low"] < 0.5 < rows["chat"]["ci_high"] and rows["chat"]["p_value"] < 1e-6
    assert rows["email"]["ci_low"] < 1 < rows["email"]["ci_high"]
    assert rows["everyone"]["estimate"] is None and "0 unexposed" in rows["everyone"]["note"]
    assert rows["rare"]["estimate"] is None and "10 exposed" in rows["rare"]["note"]
    assert rows["chat"]["n_exposed"] + rows["chat"]["n_unexposed"] == 4_000
    assert "segment=b (vs a)" in cox.model.params_.index or "segment=a (vs b)" in cox.model.params_.index
    assert 0 <= rows["chat"]["ph_p_value"] <= 1


def test_refit_without_the_ph_check_has_the_same_estimates_and_no_ph_p_value():
    checked = retention.touchpoint_hazard_ratios(_simulated(), min_exposed=50).summary
    unchecked = retention.touchpoint_hazard_ratios(_simulated(), min_exposed=50, check_ph=False).summary
    assert unchecked.drop("ph_p_value").equals(checked.drop("ph_p_value"))
    assert unchecked["ph_p_value"].is_null().all() and checked["ph_p_value"].is_not_null().any()


def test_exposures_that_partition_customers_are_flagged_as_collinear():
    landmark = _simulated()
    data = landmark.data.with_columns((~pl.col("exposed_chat")).alias("exposed_no_chat"))
    cox = retention.touchpoint_hazard_ratios(Landmark(data, 30))
    notes = dict(cox.summary.select("touchpoint", "note").iter_rows())
    assert "collinear" in notes["no_chat"] and notes["chat"] == ""


@pytest.mark.parametrize("rows", [5, 200])
def test_exposures_collinear_but_for_a_few_customers_are_not_estimated(rows):
    """Exposed exactly when chat is not, but for those of the first rows who have both: below
    min_exposed (50) such customers, its effect would rest on them alone and is not estimated."""
    data = _simulated().data
    no_chat = ~pl.col("exposed_chat") | (pl.int_range(pl.len()) < rows)
    cox = retention.touchpoint_hazard_ratios(
        Landmark(data.with_columns(no_chat.alias("exposed_no_chat")), 30)
    )
    notes = dict(cox.summary.select("touchpoint", "note").iter_rows())
    both = data.head(rows)["exposed_chat"].sum()  # 3 and 99
    assert notes["chat"] == ""
    if both < 50:
        assert f"all but {both:,} customers" in notes["no_chat"]
    else:
        assert notes["no_chat"] == ""


def test_no_churn_means_nothing_to_estimate():
    data = _simulated().data.with_columns(pl.lit(False).alias("churned"))
    cox = retention.touchpoint_hazard_ratios(Landmark(data, 30))
    assert cox.summary["estimate"].is_null().all()
    assert (cox.summary["note"] == "not estimable: nobody churned after the landmark").all()


def test_g_computation_agrees_with_lifelines_survival_predictions():
    # Reference: lifelines' own predict_survival_function, averaged with the exposure set to 1 and 0.
    cox = retention.touchpoint_hazard_ratios(_simulated(n=1_500), min_exposed=50)
    table = retention.retention_difference(cox, horizon_days=180).summary
    chat = table.filter(touchpoint="chat").row(0, named=True)
    X = cox.design.drop(columns=["duration", "churned"])
    mean_retention = [
        cox.model.predict_survival_function(X.assign(exposed_chat=value), times=[180]).mean(axis=1).iloc[0]
        for value in (1.0, 0.0)
    ]
    assert chat["estimate"] == pytest.approx(mean_retention[0] - mean_retention[1], abs=1e-9)
    assert chat["estimate"] > 0 and chat["ci_low"] < chat["estimate"] < chat["ci_high"]


def test_unadjusted_estimate_of_the_confounded_exposure_is_further_from_the_truth():
    landmark = _simulated(n=8_000, seed=2)
    adjusted = retention.touchpoint_hazard_ratios(landmark).summary.filter(touchpoint="chat")["estimate"][0]
    design = landmark.data.select("duration", "churned", pl.col("exposed_chat").cast(pl.Float64)).to_pandas()
    naive = CoxPHFitter().fit(design, "duration", "churned").hazard_ratios_["exposed_chat"]
    assert abs(np.log(adjusted) - np.log(0.5)) < 0.1 < abs(np.log(naive) - np.log(0.5))


def test_retention_at_reads_kaplan_meier_with_its_band():
    data = pl.DataFrame(
        {"duration": [10.0, 20.0, 30.0, 40.0], "churned": [True, True, False, True], "group": ["g"] * 4}
    )
    curves = retention.retention_curves(Landmark(data, 30), "group")
    fitters, p_value = curves.fitters, curves.p_value
    table = retention.retention_at(fitters, days=(15, 35, 99)).to_dicts()
    assert p_value is None  # one group: nothing to compare
    assert table[0]["retention"] == pytest.approx(0.75) and table[1]["retention"] == pytest.approx(0.5)
    assert table[0]["ci_low"] < 0.75 < table[0]["ci_high"]
    assert table[2]["retention"] is None  # past the longest follow-up


def test_effects_by_archetype_label_each_segment():
    data = _simulated().data.with_columns(pl.col("attr_segment").alias("archetype_name")).drop("attr_segment")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = retention.effects_by_archetype(Landmark(data, 30)).summary
    assert set(table["segment"]) == {"a", "b"}
    chat = dict(table.filter(touchpoint="chat").select("segment", "estimate").iter_rows())
    assert all(0.35 < hr < 0.7 for hr in chat.values())


def test_prediction_is_better_than_chance_and_leans_on_the_real_signals():
    from cxlab.prediction import predict_retention

    result = predict_retention(_simulated(n=3_000), horizon_days=180, n_folds=3)
    assert 0.55 < result.auc < 0.8 and len(result.auc_by_fold) == 3
    assert set(result.importance["feature"].head(2)) == {"exposed_chat", "attr_segment"}
    assert result.counts["customers"] + result.counts["censored"] == 3_000
    assert "ROC AUC" in result.describe()


def test_retention_difference_when_every_analysed_customer_churned():
    # All churned: every duration is an event time; the interval must still be computed.
    landmark = _simulated(n=1_500)
    landmark = Landmark(landmark.data.with_columns(pl.lit(True).alias("churned")), 30)
    difference = retention.retention_difference(retention.touchpoint_hazard_ratios(landmark))
    chat = difference.summary.filter(touchpoint="chat").row(0, named=True)
    assert chat["ci_low"] < chat["estimate"] < chat["ci_high"]


def test_a_long_curve_is_drawn_with_its_values_on_a_grid_and_a_short_one_at_every_step():
    from lifelines import KaplanMeierFitter

    from cxlab.charting import CURVE_POINTS, curve_points

    rng = np.random.default_rng(0)
    durations = rng.exponential(200, 20_000)  # 20,000 distinct times
    kmf = KaplanMeierFitter().fit(durations, rng.random(20_000) < 0.7)
    days, value, low, high = curve_points(kmf)
    assert len(days) == CURVE_POINTS and days[0] == 0 and days[-1] == kmf.timeline.max()
    np.testing.assert_allclose(value, kmf.survival_function_at_times(days).to_numpy())  # lifelines' own
    assert np.all((low <= value) & (value <= high))
    short = KaplanMeierFitter().fit([5.0, 10.0, 10.0, 30.0], [True, True, False, True])
    days, value, _, _ = curve_points(short)
    assert days.tolist() == [0.0, 5.0, 10.0, 30.0] and value.tolist() == pytest.approx([1, 0.75, 0.5, 0])


def test_calibration_points_are_tenths_of_the_customers_however_skewed_the_predictions():
    import matplotlib

    matplotlib.use("Agg")
    from cxlab.plotting import plot_calibration

    rng = np.random.default_rng(0)
    predicted = rng.beta(8, 2, 2_000)  # mostly 0.6-0.95: equal-width bins would leave some nearly empty
    retained = rng.random(2_000) < predicted
    ax = plot_calibration(retained, predicted)
    x, y = next(line for line in ax.lines if line.get_label() == "gradient boosting").get_data()
    assert len(x) == 10  # one point per tenth, each of 200 customers
    # Calibrated by construction: a share of 200 has a standard error of at most 0.035
    assert np.all(np.abs(np.asarray(y) - np.asarray(x)) < 0.1)


def test_the_heat_map_of_effects_by_archetype_leaves_a_missing_effect_blank():
    import matplotlib

    matplotlib.use("Agg")
    import seaborn as sns

    from cxlab.plotting import plot_effects_by_segment

    impact = pl.DataFrame(
        {"touchpoint": ["chat", "chat", "email"], "method": "cox_hr", "segment": ["a", "b", "a"],
         "estimate": [0.5, 2.0, 1.0]}
    )  # fmt: skip
    with sns.axes_style("whitegrid"):  # the report's style, whose grid crossed blank cells
        ax = plot_effects_by_segment(impact)
    cells = ax.collections[0].get_array()
    assert cells.mask.sum() == 1  # email in b
    assert not any(line.get_visible() for line in ax.get_xgridlines() + ax.get_ygridlines())


def test_retention_since_signup_by_archetype_is_the_share_still_active_without_censoring():
    rng = np.random.default_rng(0)
    days = rng.exponential(60, 2_000)  # fractional days; everyone churns: no censoring
    ids = [f"c{i}" for i in range(days.size)]
    features = pl.DataFrame({"customer_id": ids, "observed_days": days, "is_churned": True})
    names = pl.DataFrame({"customer_id": ids, "archetype_name": np.where(np.arange(days.size) % 2, "A", "B")})
    table = retention.archetype_retention(features, names, step_days=15, max_days=90).summary
    for group, at, share in table.select("group", "days", "retention").iter_rows():
        in_group = days[(np.arange(days.size) % 2 == 1) == (group == "A")]
        assert share == pytest.approx((in_group > at).mean())  # read at whole days, exactly
