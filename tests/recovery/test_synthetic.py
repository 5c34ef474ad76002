"""The generator plants what it says it plants (checked with independent reference fits)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
from lifelines import CoxPHFitter

from cxlab import load_dataset
from cxlab.synthetic import ARCHETYPES, DRIVER_WEIGHTS, EXPOSURES, make_journeys


@pytest.fixture(scope="module")
def data():
    return make_journeys(20_000, random_state=7)


def test_same_seed_same_data_and_other_seed_other_data():
    a, b, c = (make_journeys(300, random_state=s) for s in (3, 3, 4))
    for name in ("customers", "interactions", "surveys"):
        assert getattr(a.dataset, name).equals(getattr(b.dataset, name))
    assert not a.dataset.interactions.equals(c.dataset.interactions)


def test_generated_data_satisfies_the_contract(tmp_path):
    make_journeys(2_000, random_state=0).write(tmp_path)
    ds = load_dataset(tmp_path)
    assert ds.report.summary()["rows_rejected"].sum() == 0
    assert not ds.report.warnings
    assert set(ds.interactions["stage"]) == {"awareness", "consideration", "purchase", "post_purchase"}


def test_about_ten_events_per_customer(data):
    assert 8 <= data.dataset.interactions.height / data.dataset.customers.height <= 14


def test_archetypes_have_their_own_touchpoint_mix(data):
    events = data.dataset.interactions.join(data.truth.archetypes, on="customer_id")
    share = (
        events.group_by("archetype_label", "touchpoint")
        .len()
        .with_columns((pl.col("len") / pl.col("len").sum().over("archetype_label")).alias("share"))
    )

    def top(touchpoint):
        return share.filter(pl.col("touchpoint") == touchpoint).sort("share")["archetype_label"][-1]

    assert top("store") == "store_loyalists"
    assert top("mobile_app") == "app_natives"
    assert top("phone_system") == "phone_assisted"
    assert top("ratings_reviews") == "digital_researchers"
    lengths = (
        events.group_by("archetype_label", "customer_id")
        .len()
        .group_by("archetype_label")
        .agg(pl.col("len").mean())
    )
    mean = dict(lengths.iter_rows())
    assert mean["app_natives"] > mean["store_loyalists"] + 2  # journeys of different length


def _landmark(data, window=30):
    """Customers active at the landmark, their window exposures and time to churn after it."""
    c = data.dataset.customers.with_columns((pl.col("signup_at") + timedelta(days=window)).alias("landmark"))
    end = pl.lit(datetime(2025, 12, 31))
    c = c.filter(
        pl.col("churned_at").is_null() | (pl.col("churned_at") > pl.col("landmark")), pl.col("landmark") < end
    )
    exposures = (
        data.dataset.interactions.join(c.select("customer_id", "signup_at", "landmark"), on="customer_id")
        .filter(pl.col("timestamp") < pl.col("landmark"), pl.col("timestamp") > pl.col("signup_at"))
        .filter(pl.col("touchpoint").is_in(list(EXPOSURES)))
        .select("customer_id", "touchpoint")
        .unique()
        .with_columns(pl.lit(1).alias("x"))
        .pivot(on="touchpoint", index="customer_id", values="x")
    )
    stop = pl.coalesce("churned_at", end)
    return (
        c.join(exposures, on="customer_id", how="left")
        .fill_null(0)
        .join(data.truth.archetypes, on="customer_id")
        .with_columns(
            ((stop - pl.col("landmark")).dt.total_seconds() / 86400).alias("T"),
            pl.col("churned_at").is_not_null().cast(pl.Int8).alias("E"),
            (pl.col("segment") == "business").cast(pl.Int8).alias("business"),
        )
    )


def test_planted_churn_effects_are_recovered_only_with_adjustment(data):
    frame = _landmark(data)
    dummies = [f"a{k}" for k in range(1, len(ARCHETYPES))]
    frame = frame.with_columns(
        (pl.col("archetype") == k).cast(pl.Int8).alias(f"a{k}") for k in range(1, len(ARCHETYPES))
    )
    columns = [*EXPOSURES, *dummies, "business", "T", "E"]
    adjusted = CoxPHFitter().fit(frame.select(columns).to_pandas(), "T", "E").params_
    for tp, (_, beta) in EXPOSURES.items():
        # 20k customers give standard errors near 0.05: 0.2 is four of them.
        assert abs(adjusted[tp] - beta) < 0.2, tp
    # live_chat is common among high-churn app natives: alone, its protective effect vanishes.
    naive = CoxPHFitter().fit(frame.select("live_chat", "T", "E").to_pandas(), "T", "E").params_
    assert naive["live_chat"] - EXPOSURES["live_chat"][1] > 0.2


def test_planted_driver_weights_show_in_a_regression_despite_the_halo(data):
    answers = data.dataset.surveys.filter(pl.col("response_id").str.starts_with("R"))
    wide = answers.pivot(
        on="touchpoint", index="response_id", values="score", aggregate_function="first"
    ).drop_nulls()
    y = wide["null"].to_numpy()
    x = wide.select(list(DRIVER_WEIGHTS)).to_numpy()
    assert np.corrcoef(x, rowvar=False)[np.triu_indices(x.shape[1], 1)].min() > 0.2  # the halo
    coef = np.linalg.lstsq(np.column_stack([np.ones(len(y)), x]), y, rcond=None)[0][1:]
    # Clipping NPS to 0-10 shrinks the weights a little; the order and the size stay.
    assert np.all(np.diff(coef) < 0)
    assert np.allclose(coef, list(DRIVER_WEIGHTS.values()), atol=0.15)


def test_survey_answers_of_one_response_share_id_and_time(data):
    per_response = data.dataset.surveys.group_by("response_id").agg(
        pl.col("customer_id").n_unique(),
        pl.col("responded_at").n_unique(),
        (pl.col("metric") == "nps").sum().alias("nps"),
    )
    assert per_response["customer_id"].max() == 1 and per_response["responded_at"].max() == 1
    assert per_response["nps"].max() == 1


def test_invalid_size_is_a_clear_error():
    with pytest.raises(ValueError, match="'n_customers' parameter of make_journeys must be an int >= 1"):
        make_journeys(0)
