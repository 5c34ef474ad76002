"""Per-customer tables computed elsewhere: what a run starting from them checks."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import cxlab
from cxlab import JourneyArchetypes, build_features, load_dataset, retention
from cxlab.exceptions import DataContractError
from cxlab.precomputed import load_precomputed
from cxlab.profiles import profile_assignment
from cxlab.retention import LANDMARK_COLUMNS
from cxlab.session import features_for


def _write(directory: Path, dataset, **replace: pl.DataFrame | None) -> Path:
    features = build_features(dataset)
    archetypes = features.select(
        "customer_id", pl.lit(0, pl.Int32).alias("archetype"), pl.lit("everyone").alias("archetype_name")
    )
    tables = {"customer_features": features, "archetypes": archetypes, "surveys": dataset.surveys, **replace}
    directory.mkdir()
    for name, frame in tables.items():
        if frame is not None:
            frame.write_parquet(directory / f"{name}.parquet")
    return directory


def test_per_customer_tables_give_the_dataset_they_came_from(tiny, tmp_path):
    dataset = load_dataset(tiny)
    tables = load_precomputed(_write(tmp_path / "pc", dataset))
    assert_frame_equal(tables.dataset.surveys, dataset.surveys)
    assert_frame_equal(tables.dataset.customers.select("customer_id", "signup_at", "churned_at"),
                       dataset.customers.select("customer_id", "signup_at", "churned_at"))  # fmt: skip
    assert tables.dataset.interactions.height == 0 and tables.exposure_window_days == 30
    assert tables.dataset.observation_end == dataset.observation_end
    interactions = tables.dataset.report.tables["interactions"]
    assert interactions.rows_read == 0 and "no events" in interactions.source


def test_spark_part_files_in_a_folder_are_read_as_one_table(tiny, tmp_path):
    dataset = load_dataset(tiny)
    directory = _write(tmp_path / "pc", dataset, customer_features=None)
    features = build_features(dataset)
    (directory / "customer_features.parquet").mkdir()
    for i, part in enumerate((features.head(1), features.tail(2))):
        part.write_parquet(directory / "customer_features.parquet" / f"part-0000{i}.snappy.parquet")
    (directory / "customer_features.parquet" / "_SUCCESS").touch()
    assert_frame_equal(load_precomputed(directory).features, features)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"archetypes": None}, r"the archetypes table is missing; expected archetypes.parquet"),
        ({"customer_features": pl.DataFrame({"customer_id": ["c1"]})}, r"column 'signup_at', .* missing"),
        ({"archetypes": pl.DataFrame({"customer_id": ["c1", "c1", "x"], "archetype": [0, 0, 0],
                                      "archetype_name": ["a"] * 3})},
         "2 customers have none, 2 rows repeat a customer and 1 rows name a customer"),
        ({"archetypes": pl.DataFrame({"customer_id": ["c1", "c2", "c3"], "archetype": [0, 0, 1],
                                      "archetype_name": ["a", "b", "c"]})},
         r"archetypes.parquet: 1 archetypes have more than one archetype_name \(archetype 0\)"),
        ({"surveys": pl.DataFrame({"customer_id": ["nobody"], "responded_at": ["2025-02-01"],
                                   "metric": ["nps"], "score": [7]})},
         r"surveys.parquet: 1 of 1 rows of the surveys table .* unknown customer_id"),
    ],
    ids=["no archetypes", "not features", "archetypes do not match", "two names for one archetype",
         "surveys of unknown customers"],
)  # fmt: skip
def test_bad_per_customer_tables_are_refused_naming_the_table_and_count(tiny, tmp_path, change, message):
    directory = _write(tmp_path / "pc", load_dataset(tiny), **change)
    with pytest.raises(DataContractError, match=message):
        load_precomputed(directory)


def test_features_mixing_two_builds_are_refused(tiny, tmp_path):
    dataset = load_dataset(tiny)
    mixed = pl.concat(
        [build_features(dataset).head(1), build_features(dataset, exposure_window_days=60).tail(2)]
    )
    with pytest.raises(DataContractError, match="'exposure_window_days' holds 2 different values"):
        load_precomputed(_write(tmp_path / "pc", dataset, customer_features=mixed))


def test_saved_features_are_reused_only_for_the_same_window_and_customers(tiny, tmp_path):
    dataset = load_dataset(tiny)
    saved = tmp_path / "customer_features.parquet"
    build_features(dataset).write_parquet(saved)
    assert_frame_equal(features_for(dataset, saved), build_features(dataset))
    with pytest.raises(DataContractError, match=r"built with .* \[\(30, .*this analysis uses \[\(60"):
        features_for(dataset, saved, exposure_window_days=60)
    build_features(dataset).head(2).write_parquet(saved)
    with pytest.raises(DataContractError, match="other customers than the dataset"):
        features_for(dataset, saved)


def test_the_landmark_reads_only_its_columns_of_the_runs_features_and_matches_the_full_table(
    generated, tmp_path
):
    run = cxlab.open_run(tmp_path / "run", data_dir=generated)
    run.write_table("archetypes.csv", run.archetypes)  # as the archetypes notebook does; features too
    full = retention.landmark_data(run.features, archetypes=run.landmark_archetypes)
    again = cxlab.open_run(tmp_path / "run", data_dir=generated)
    assert_frame_equal(again.landmark.data, full.data)  # every column landmark_data uses is read
    assert again.landmark.counts == full.counts and "features" not in vars(again)
    assert_frame_equal(
        again.read_features(["is_churned", "customer_id"]), run.features["is_churned", "customer_id"]
    )
    assert 10 < again.read_features(LANDMARK_COLUMNS).width < run.features.width / 2


def test_profiles_of_a_given_assignment_match_the_fitted_models(generated):
    features = build_features(load_dataset(generated))
    model = JourneyArchetypes(n_archetypes=3, random_state=0).fit(features)
    profiled = profile_assignment(features, model.assign(features).reverse())
    lifts, profiles = profiled.lifts, profiled.summary
    assert_frame_equal(profiles, model.profiles_)
    assert_frame_equal(lifts, model.lifts_)
