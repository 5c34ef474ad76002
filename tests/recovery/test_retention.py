"""The landmark Cox model recovers the churn effects the generator planted, despite confounding."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from lifelines import CoxPHFitter

from cxlab import JourneyArchetypes, build_features, load_dataset, retention
from cxlab.synthetic import EXPOSURES, make_journeys

PLANTED = {tp: beta for tp, (_, beta) in EXPOSURES.items() if beta != 0}


@pytest.fixture(scope="module", params=[0, 1])
def landmark(request, tmp_path_factory):
    data = make_journeys(20_000, random_state=request.param)
    directory = data.write(tmp_path_factory.mktemp(f"impact{request.param}"), file_format="parquet")
    features = build_features(load_dataset(directory))
    archetypes = JourneyArchetypes(random_state=0).fit(features).assign(features)
    return retention.landmark_data(features, archetypes=archetypes)


@pytest.fixture(scope="module")
def table(landmark):
    return retention.touchpoint_hazard_ratios(landmark).summary.filter(pl.col("estimate").is_not_null())


def test_every_planted_effect_is_found(table):
    found = {r["touchpoint"]: r for r in table.iter_rows(named=True) if r["touchpoint"] in PLANTED}
    assert set(found) == set(PLANTED)
    for touchpoint, beta in PLANTED.items():
        row = found[touchpoint]
        assert np.sign(np.log(row["estimate"])) == np.sign(beta) and row["p_value"] < 0.05, touchpoint
        assert abs(np.log(row["estimate"]) - beta) < 0.2, touchpoint


def test_intervals_of_touchpoints_without_an_effect_mostly_cover_one(table):
    nulls = table.filter(~pl.col("touchpoint").is_in(list(PLANTED)))
    covering = nulls.filter(pl.col("ci_low") <= 1, pl.col("ci_high") >= 1)
    # 95% intervals should cover 1 about 95% of the time; with about a dozen touchpoints, 80% leaves
    # room for chance while failing if the model were biased (most intervals would then miss 1).
    assert nulls.height >= 8 and covering.height >= 0.8 * nulls.height


def test_ignoring_the_archetype_biases_a_confounded_touchpoint(landmark, table):
    # Thank-you cards go mostly to store loyalists, who churn least: no planted effect, but a naive
    # comparison credits the card with their loyalty.
    design = landmark.data.select("duration", "churned", pl.col("exposed_thank_you_card").cast(pl.Float64))
    naive = CoxPHFitter().fit(design.to_pandas(), "duration", "churned").summary.loc["exposed_thank_you_card"]
    assert naive["exp(coef) upper 95%"] < 0.9  # clearly protective when unadjusted
    adjusted = table.filter(touchpoint="thank_you_card").row(0, named=True)
    assert adjusted["ci_low"] <= 1 <= adjusted["ci_high"]
