"""The standardised retention difference against lifelines' predictions, and its delta-method
intervals by coverage of planted differences."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter

from cxlab.standardized import _breslow_at, retention_differences

HORIZON = 180.0
# Constant hazards: 0.004 a day, halved by chat, doubled in segment b (half of the customers).
# The planted difference in retention at the horizon, over the population:
TRUE_DIFFERENCE = 0.5 * sum(np.exp(-0.002 * f * HORIZON) - np.exp(-0.004 * f * HORIZON) for f in (1, 2))


def _design(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    segment_b = rng.random(n) < 0.5
    chat = rng.random(n) < np.where(segment_b, 0.6, 0.3)  # confounded with the segment
    email = rng.random(n) < 0.5  # no effect
    time = rng.exponential(1 / (0.004 * np.where(chat, 0.5, 1) * np.where(segment_b, 2, 1)))
    censor = rng.uniform(50, 400, n)
    columns = {"exposed_chat": chat, "exposed_email": email, "segment_b": segment_b}
    frame = pd.DataFrame({"duration": np.minimum(time, censor), "churned": time <= censor, **columns})
    return frame.astype(float)


def _fit(design: pd.DataFrame) -> CoxPHFitter:
    return CoxPHFitter().fit(design, "duration", "churned")


def test_the_difference_is_lifelines_predictions_averaged():
    design = _design(1_000, seed=0)
    model = _fit(design)
    found = retention_differences(model, design, ["exposed_chat"], HORIZON)["exposed_chat"][0]
    X = design.drop(columns=["duration", "churned"])
    means = [
        model.predict_survival_function(X.assign(exposed_chat=v), times=[HORIZON]).mean(axis=1).iloc[0]
        for v in (1.0, 0.0)
    ]
    assert found == pytest.approx(means[0] - means[1], abs=1e-12)
    baseline = model.baseline_cumulative_hazard_.iloc[:, 0].loc[:HORIZON].iloc[-1]
    centred = X.to_numpy() - X.to_numpy().mean(axis=0)
    risk = np.exp(centred @ model.params_.to_numpy())
    assert _breslow_at(design, risk, centred, HORIZON)[0] == pytest.approx(baseline, rel=1e-12)


@pytest.mark.slow
def test_intervals_cover_the_planted_differences_about_95_percent_of_the_time():
    truth = {"exposed_chat": TRUE_DIFFERENCE, "exposed_email": 0.0}
    covered = {c: [] for c in truth}
    for seed in range(300):
        design = _design(1_000, seed=seed)
        found = retention_differences(_fit(design), design, list(truth), HORIZON)
        for column, (estimate, se) in found.items():
            covered[column].append(abs(estimate - truth[column]) <= 1.96 * se)
    # Over 300 datasets the coverage of a true 95% interval has a standard error of 1.3 points:
    # 91-98.5% is about -3.2 to +2.8 of those (measured: 92.3% for chat; 95.2% on 500 more seeds).
    # Here the coefficients' share is nearly all of the variance (the baseline's and the
    # averaged customers' add under 1%), so this checks that share and its gradient.
    for column, hits in covered.items():
        assert 0.91 <= np.mean(hits) <= 0.985, column
