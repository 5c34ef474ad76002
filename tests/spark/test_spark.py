"""cxlab.spark gives the numbers one machine gives: validation, features, archetypes."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import polars.selectors as cs
import pytest
from polars.testing import assert_frame_equal

from cxlab import build_features, load_dataset
from cxlab.archetypes import JourneyArchetypes
from cxlab.catalog import default_catalog, merge_catalogs
from cxlab.exceptions import DataContractError
from cxlab.synthetic import make_journeys
from tests.db.conftest import dirty_tables, write_parquet

pytestmark = [pytest.mark.slow, pytest.mark.spark]
TABLES = ("interactions", "customers", "surveys")


def _read(spark, directory: Path) -> list:
    return [spark.read.parquet(str(directory / f"{name}.parquet")) for name in TABLES]


def _local(frame) -> pl.DataFrame:
    return pl.from_arrow(frame.toArrow())


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("clean")
    make_journeys(3000, random_state=4).write(directory, file_format="parquet")
    return directory


@pytest.fixture(scope="module")
def on_spark(spark, clean):
    from cxlab import spark as cxspark

    data = cxspark.validate(*_read(spark, clean), customers_per_group=700)  # five groups
    features = cxspark.build_features(
        data.interactions, data.customers, data.surveys, observation_end=data.observation_end,
        customers_per_group=700,
    )  # fmt: skip
    return data, features


def test_spark_features_equal_one_machine_features_in_every_column(on_spark, clean):
    data, features = on_spark
    dataset = load_dataset(clean)
    expected = build_features(dataset).sort("customer_id")
    got = _local(features).sort("customer_id")
    assert data.observation_end == dataset.observation_end
    assert got.columns == expected.columns
    integers = [c for c, t in expected.schema.items() if t.is_unsigned_integer()]  # Spark has none
    assert_frame_equal(
        got, expected.cast(dict.fromkeys(integers, pl.Int64)), check_exact=False, rel_tol=0, abs_tol=1e-9
    )
    exact = [c for c, t in expected.schema.items() if not t.is_float()]
    assert_frame_equal(got.select(exact), expected.select(exact).cast(dict.fromkeys(integers, pl.Int64)))


def test_spark_archetype_assignments_equal_predict_on_one_machine(on_spark, clean):
    from cxlab import spark as cxspark

    _, features = on_spark
    local = build_features(load_dataset(clean))
    model = JourneyArchetypes(n_archetypes=4, random_state=0).fit(local)
    on_executors = _local(cxspark.assign_archetypes(model, features)).sort("customer_id")
    assert_frame_equal(on_executors, model.assign(local).sort("customer_id"))
    sampled = cxspark.fit_archetypes(features, sample_size=1000, n_archetypes=4)
    assert len(sampled.names_) == 4 and sampled.labels_.shape[0] <= 1000


def test_spark_tables_written_for_a_run_read_back_as_one_machine_computes_them(on_spark, clean, tmp_path):
    from cxlab import spark as cxspark
    from cxlab.precomputed import load_precomputed

    data, features = on_spark
    dataset = load_dataset(clean)
    local = build_features(dataset)
    model = JourneyArchetypes(n_archetypes=3, random_state=0).fit(local)
    own_catalog = default_catalog().head(2).with_columns(channel=pl.lit("own channel"))
    cxspark.write_for_run(
        str(tmp_path), features=features, archetypes=cxspark.assign_archetypes(model, features),
        surveys=data.surveys, touchpoints=own_catalog,
    )  # fmt: skip
    tables = load_precomputed(tmp_path)
    assert_frame_equal(
        tables.features.sort("customer_id"), local.sort("customer_id"),
        check_dtypes=False, check_exact=False, rel_tol=0, abs_tol=1e-9,
    )  # fmt: skip
    assert_frame_equal(tables.archetypes.sort("customer_id"), model.assign(local).sort("customer_id"))
    assert_frame_equal(tables.dataset.surveys.sort(pl.all()), dataset.surveys.sort(pl.all()))
    catalog = tables.dataset.touchpoints.with_columns(cs.categorical().cast(pl.String))
    assert_frame_equal(catalog, merge_catalogs(default_catalog(), own_catalog))
    assert tables.dataset.observation_end == dataset.observation_end


def test_spark_validation_rejects_what_one_machine_rejects_and_reconciles(spark, tmp_path):
    from cxlab import spark as cxspark

    directory = write_parquet(tmp_path / "dirty", dirty_tables())
    data = cxspark.validate(*_read(spark, directory), customers_per_group=100)
    local = load_dataset(directory)
    counts = {r["table"]: r for r in data.report().iter_rows(named=True)}
    for name in TABLES:
        expected = local.report.tables[name]
        assert (
            counts[name]["rows_read"]
            == expected.rows_read
            == counts[name]["rows_loaded"] + counts[name]["rows_rejected"]
        )
        assert counts[name]["rows_rejected"] == expected.rows_rejected
        reasons = _local(data.rejected[name])["reason"].sort()
        assert reasons.to_list() == expected.rejected["reason"].sort().to_list()
        got = _local(getattr(data, name)).sort(pl.all())
        assert_frame_equal(got, getattr(local, name).sort(pl.all()), check_dtypes=False)
    assert counts["interactions"]["rows_rejected"] == 7


def test_spark_missing_column_fails_on_the_driver_with_the_contract_message(spark, clean):
    from cxlab import spark as cxspark

    interactions, customers, surveys = _read(spark, clean)
    with pytest.raises(
        DataContractError, match="required column 'timestamp' of the interactions table is missing"
    ):
        cxspark.validate(interactions.drop("timestamp"), customers, surveys)
