"""JourneyArchetypes finds the archetypes the generator planted."""

from __future__ import annotations

import polars as pl
import pytest
from sklearn.metrics import adjusted_rand_score

from cxlab import JourneyArchetypes, build_features, load_dataset, retention
from cxlab.journeys import landmark_features
from cxlab.synthetic import OVERLAPPING_DESIGN, make_journeys


@pytest.mark.parametrize("seed", [0, 1])
def test_auto_recovers_the_planted_archetypes(tmp_path, seed):
    data = make_journeys(5_000, random_state=seed)
    features = build_features(load_dataset(data.write(tmp_path, file_format="parquet")))
    truth = features.join(data.truth.archetypes, on="customer_id", maintain_order="left")["archetype"]
    model = JourneyArchetypes(random_state=0).fit(features)
    assert model.n_archetypes_ == data.truth.n_archetypes
    # 0.8: the planted mixes overlap on purpose (every touchpoint has a background weight and a
    # journey has about ten events), so a few customers look like another archetype; 0.8 still
    # means the groups are the planted ones, while a split or merged archetype scores about 0.5-0.7.
    assert adjusted_rand_score(truth, model.labels_) >= 0.8
    # Each planted archetype leads on the touchpoint it was built around.
    names = " ".join(model.names_)
    assert all(word in names for word in ("store", "mobile app", "phone system", "ratings reviews"))


def _null_cover(features, landmark, k: int, nulls: list[str]) -> pl.Series:
    """Whether each null touchpoint's 95% interval covers 1, adjusting for k archetypes at the landmark."""
    archetypes = JourneyArchetypes(n_archetypes=k, random_state=0).fit(landmark).assign(landmark)
    cox = retention.touchpoint_hazard_ratios(retention.landmark_data(features, archetypes=archetypes))
    table = cox.summary.filter(pl.col("touchpoint").is_in(nulls))
    assert table.height == len(nulls)
    return (table["ci_low"] <= 1) & (table["ci_high"] >= 1)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::cxlab.archetypes.ArchetypeWarning")
def test_two_alike_archetypes_are_kept_apart_and_the_adjustment_holds():
    """Five archetypes, two sharing most touchpoints but not churn (OVERLAPPING_DESIGN): "auto"
    finds five, and the impact model adjusting for five archetypes at the landmark leaves the 13
    touchpoints without effect covering 1; merging the alike pair (four) does not."""
    chosen, right, merged = [], [], []
    for seed in (0, 1):
        data = make_journeys(8_000, random_state=seed, design=OVERLAPPING_DESIGN)
        dataset = data.load()
        features, landmark = build_features(dataset), landmark_features(dataset)
        truth = data.truth.archetypes["archetype"]
        model = JourneyArchetypes(random_state=0).fit(features)
        chosen.append((model.n_archetypes_, adjusted_rand_score(truth, model.labels_)))
        nulls = [tp for tp, beta in data.truth.exposure_log_hr.items() if beta == 0]
        right.append(_null_cover(features, landmark, model.n_archetypes_, nulls))
        merged.append(_null_cover(features, landmark, 4, nulls))
    assert [k for k, _ in chosen] == [5, 5]
    # 0.85: the bar. The alike pair differs in a minority of touchpoints of about ten
    # events, so a few customers look like the other one (0.89-0.90 measured); merging them
    # scores about 0.74.
    assert all(ari >= 0.85 for _, ari in chosen)
    # 90% of 26 intervals (13 null touchpoints, two seeds): nominal coverage is 95%, and 90%
    # allows two or three misses by chance (measured: 24 of 26). Merged, confounding is left
    # behind and coverage falls to 16 of 26.
    assert pl.concat(right).mean() >= 0.9
    assert pl.concat(merged).mean() < 0.8
