"""Scaled Schoenfeld residuals against lifelines' own, with and without tied times."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.statistics import proportional_hazard_test

from cxlab.schoenfeld import scaled_schoenfeld


def _design(n: int, *, days: bool, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a, b, c = rng.random(n) < 0.4, rng.normal(size=n), rng.random(n) < 0.1
    time = rng.exponential(1 / (0.01 * np.exp(0.5 * a - 0.3 * b + 0.2 * c)))
    censor = rng.uniform(10, 300, n)
    duration = np.minimum(time, censor)
    frame = pd.DataFrame(
        {
            "duration": np.ceil(duration) if days else duration,
            "churned": time <= censor,
            "a": a,
            "b": b,
            "c": c,
        }
    )
    return frame.astype(float).sample(frac=1, random_state=seed)  # rows not in time order


@pytest.mark.parametrize("days", [False, True], ids=["distinct times", "tied days"])
def test_residuals_and_test_equal_lifelines(days):
    design = _design(2_000, days=days)
    model = CoxPHFitter().fit(design, "duration", "churned")
    ours = scaled_schoenfeld(model, design)
    theirs = model.compute_residuals(design, kind="scaled_schoenfeld")
    assert list(ours.index) == list(theirs.index)
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=0, atol=1e-12)
    reference = proportional_hazard_test(model, design, time_transform="rank").summary["p"]
    found = proportional_hazard_test(model, design, time_transform="rank", precomputed_residuals=ours)
    np.testing.assert_allclose(found.summary["p"], reference, rtol=1e-10)
