"""Journey features show what the generator planted in each archetype."""

from __future__ import annotations

import polars as pl
import pytest

from cxlab import build_features, load_dataset
from cxlab.synthetic import ARCHETYPES, EXPOSURES, make_journeys


@pytest.fixture(scope="module")
def features(tmp_path_factory):
    data = make_journeys(5_000, random_state=11)
    directory = data.write(tmp_path_factory.mktemp("planted"), file_format="parquet")
    frame = build_features(load_dataset(directory), exposure_window_days=30)
    return frame.join(data.truth.archetypes, on="customer_id", how="left")


def _mean_by_archetype(features: pl.DataFrame, column: str) -> dict[str, float]:
    means = features.group_by("archetype_label").agg(pl.col(column).cast(pl.Float64).mean())
    return dict(means.iter_rows())


@pytest.mark.parametrize(
    ("column", "archetype"),
    [
        ("share_tp_store", "store_loyalists"),
        ("share_tp_catalog", "store_loyalists"),
        ("share_tp_mobile_app", "app_natives"),
        ("share_tp_phone_system", "phone_assisted"),
        ("share_tp_ratings_reviews", "digital_researchers"),
        ("share_kind_physical", "store_loyalists"),
        ("share_kind_human", "phone_assisted"),
        ("share_channel_app", "app_natives"),
    ],
)
def test_each_archetypes_planted_mix_leads_its_features(features, column, archetype):
    means = _mean_by_archetype(features, column)
    assert max(means, key=means.get) == archetype, means


def test_exposure_flags_match_the_planted_exposure_probabilities(features):
    # Only planted exposures fall in the window (other post-purchase events come later), so among
    # customers who stayed through the whole window the flag rate is the planted probability.
    stayed = features.filter(
        pl.col("window_complete"), (pl.col("observed_days") >= 30) | ~pl.col("is_churned")
    )
    for touchpoint, (probabilities, _) in EXPOSURES.items():
        rates = _mean_by_archetype(stayed, f"exposed_{touchpoint}")
        for archetype, planted in zip(ARCHETYPES, probabilities, strict=True):
            assert rates[archetype] == pytest.approx(planted, abs=0.05), (touchpoint, archetype)


def test_every_customer_has_one_row(features):
    assert features.height == 5_000 and features["customer_id"].n_unique() == 5_000
    assert features["archetype_label"].null_count() == 0
