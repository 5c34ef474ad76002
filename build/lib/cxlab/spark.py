"""Validation, journey features and archetype assignment on Spark, with cxlab's own polars code.

Everything cxlab computes per customer depends only on that customer's rows (plus a few
global inputs: the end of observation, the catalog, the vocabulary of touchpoints). So the
rows are grouped by a hash of ``customer_id`` into buckets of about
``customers_per_group`` customers, and each bucket runs the single-machine functions
(:func:`cxlab.validation.validate`, :func:`cxlab.journeys.build_features`) on Arrow data
with ``groupBy(...).applyInArrow``: the numbers cannot drift from one machine's. Global
inputs are computed once on the driver and shipped to the executors with the function.

Needs ``pip install "cxlab[spark]"``; importing :mod:`cxlab` never imports pyspark.

Examples
--------
A Databricks-style notebook::

    from cxlab import spark as cxspark

    raw = {name: spark.read.table(f"lake.cx.{name}") for name in ("interactions", "customers", "surveys")}
    data = cxspark.validate(raw["interactions"], raw["customers"], raw["surveys"])
    data.report()                       # rows read / loaded / rejected per table
    features = cxspark.build_features(data.interactions, data.customers, data.surveys)
    model = cxspark.fit_archetypes(features, sample_size=200_000)
    archetypes = cxspark.assign_archetypes(model, features)
    cxspark.write_for_run("/dbfs/cx/for-run", features=features, archetypes=archetypes, surveys=data.surveys)

and then, on one machine, ``cxlab run --features /dbfs/cx/for-run --out reports/weekly`` runs
the impact, survey and summary notebooks on these per-customer tables (:mod:`cxlab.precomputed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import reduce
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from cxlab import validation
from cxlab.dataset import Dataset
from cxlab.exceptions import DataContractError
from cxlab.io import as_mapping, as_raw_table
from cxlab.journeys import build_features as _build_features
from cxlab.journeys import feature_vocabulary
from cxlab.schema import TABLES

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from cxlab.archetypes import JourneyArchetypes

BUCKET = "_cxlab_bucket"
_INPUTS = ("customers", "interactions", "surveys")


def _bucketed(frames: dict[str, DataFrame], keys: dict[str, str], n_buckets: int) -> DataFrame:
    """One DataFrame: a bucket (hash of the customer id, column ``keys[table]``) and one
    struct column per table, the row's own table filled and the others null, so that one
    group holds every table's rows of its customers."""
    from pyspark.sql import functions as F

    def bucket(key: str):
        return F.pmod(F.xxhash64(F.trim(F.col(f"`{key}`").cast("string"))), F.lit(n_buckets))

    structs = {name: F.struct(*[F.col(f"`{c}`") for c in df.columns]) for name, df in frames.items()}
    types = {name: df.select(structs[name]).schema[0].dataType for name, df in frames.items()}
    parts = [
        df.select(
            bucket(keys[name]).alias(BUCKET),
            *[(structs[n] if n == name else F.lit(None).cast(types[n])).alias(n) for n in frames],
        )
        for name, df in frames.items()
    ]
    return reduce(lambda a, b: a.unionByName(b), parts)


def _unpack(table: pa.Table, names: list[str]) -> dict[str, pl.DataFrame]:
    """The tables of one group, back as polars frames."""
    frames = {}
    for name in names:
        column = pl.from_arrow(table.column(name))
        frames[name] = column.filter(column.is_not_null()).struct.unnest()
    return frames


def _pack(frames: dict[str, pl.DataFrame], schema: pa.Schema) -> pa.Table:
    """Polars frames as one Arrow table of struct columns (``schema``), one table per row."""
    parts = []
    for name, frame in frames.items():
        own = schema.field(name).type
        columns = [
            pa.StructArray.from_arrays([_arrow(frame[f.name], f.type) for f in own], fields=list(own))
            if field.name == name
            else pa.nulls(frame.height, field.type)
            for field in schema
        ]
        parts.append(pa.Table.from_arrays(columns, schema=schema))
    return pa.concat_tables(parts)


def _arrow(series: pl.Series, kind: pa.DataType) -> pa.Array:
    return series.to_arrow(compat_level=pl.CompatLevel.oldest()).cast(kind)


def _spark_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Spark has no unsigned integers and no null type: widen them."""
    casts = {c: pl.Int64 for c, t in frame.schema.items() if t.is_unsigned_integer()}
    casts |= {c: pl.String for c, t in frame.schema.items() if t == pl.Null}
    return frame.cast(casts) if casts else frame


def _spark_schema(frame: pl.DataFrame) -> Any:
    """The Spark schema of ``frame`` once :func:`_spark_frame` has widened its types."""
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(_spark_frame(frame).to_arrow(compat_level=pl.CompatLevel.oldest()).schema)


def _struct_schema(frames: dict[str, pl.DataFrame]) -> Any:
    """The Spark schema of packed ``frames`` (one struct column per frame)."""
    from pyspark.sql.types import StructField, StructType

    return StructType([StructField(name, _spark_schema(f)) for name, f in frames.items()])


def _arrow_schema(spark_schema: Any) -> pa.Schema:
    from pyspark.sql import SparkSession
    from pyspark.sql.pandas.types import to_arrow_schema

    session = SparkSession.getActiveSession()
    large = session is not None and session.conf.get("spark.sql.execution.arrow.useLargeVarTypes", "false")
    return to_arrow_schema(spark_schema, prefers_large_types=str(large).lower() == "true")


def _n_buckets(customers: DataFrame, customers_per_group: int) -> int:
    return max(1, -(-customers.count() // customers_per_group))


def _empty(df: DataFrame) -> pl.DataFrame:
    """A polars frame with no rows and the Spark frame's columns and types."""
    return pl.from_arrow(_arrow_schema(df.schema).empty_table())


def _as_naive_utc(frame: pl.DataFrame) -> pl.DataFrame:
    """Spark timestamps carry the session time zone; the contract's are naive UTC."""
    aware = [c for c, t in frame.schema.items() if isinstance(t, pl.Datetime) and t.time_zone]
    return frame.with_columns(
        pl.col(c).dt.convert_time_zone("UTC").dt.replace_time_zone(None).cast(pl.Datetime("us"))
        for c in aware
    )


@dataclass
class SparkDataset:
    """What :func:`validate` returns: the loaded tables and the rejected rows, as Spark
    DataFrames, and how many rows of each table were read, loaded and rejected."""

    customers: DataFrame
    interactions: DataFrame
    surveys: DataFrame
    rejected: dict[str, DataFrame]  # original columns, source_row and reason
    observation_end: datetime
    counts: pl.DataFrame  # table, rows_read, rows_loaded, rows_rejected

    def report(self) -> pl.DataFrame:
        """Rows read, loaded and rejected per table (read = loaded + rejected)."""
        return self.counts


def validate(
    interactions: DataFrame,
    customers: DataFrame | None = None,
    surveys: DataFrame | None = None,
    *,
    touchpoints: pl.DataFrame | None = None,
    mapping: Any = None,
    observation_end: datetime | None = None,
    max_rejected_share: float | None = None,
    customers_per_group: int = 50_000,
) -> SparkDataset:
    """Apply the contract's rules (:func:`cxlab.validation.validate`) to Spark tables.

    Every rule runs, per group of customers, exactly as on one machine; ``source_row`` is
    a row id from Spark (``monotonically_increasing_id() + 1``), not a line number. Two
    things differ: customer attributes keep their Spark types (one machine reads a text
    column of numbers as numbers, which needs every value at once), and the load warnings
    are not collected. ``touchpoints`` is the dataset's own catalog, small enough for the
    driver (a polars frame). A missing customers table needs ``derive: true`` in the mapping.

    Raises
    ------
    DataContractError
        A required column is missing (checked on the driver, before any Spark job), or too
        many rows of a table were rejected.
    """
    from pyspark.sql import functions as F

    mapping = as_mapping(mapping)
    given = {"customers": customers, "interactions": interactions, "surveys": surveys}
    row_id = F.monotonically_increasing_id() + 1
    inputs = {n: df.withColumn(validation.ROW, row_id) for n, df in given.items() if df is not None}
    catalog = None if touchpoints is None else touchpoints.with_row_index(validation.ROW, offset=1)

    def raw(frames: dict[str, pl.DataFrame]) -> dict[str, Any]:
        tables = {n: _raw(_as_naive_utc(f), n, mapping) for n, f in frames.items()}
        if catalog is not None:
            tables["touchpoints"] = _raw(catalog, "touchpoints", mapping)
        return {n: tables.get(n) for n in TABLES}

    empty = raw({n: _empty(df) for n, df in inputs.items()})  # a missing column fails here, on the driver
    end = observation_end or _latest_timestamp(inputs, mapping)
    template = _validated_frames(validation.validate(empty, mapping=mapping, observation_end=end), empty)
    schema = _struct_schema(template)
    arrow_schema, names = _arrow_schema(schema), list(inputs)  # the closures must not hold Spark objects

    def validate_group(table: pa.Table) -> pa.Table:
        tables = raw(_unpack(table, names))
        out = _validated_frames(validation.validate(tables, mapping=mapping, observation_end=end), tables)
        return _pack({n: _spark_frame(f) for n, f in out.items()}, arrow_schema)

    keys = {n: mapping.table(n).columns.get("customer_id", "customer_id") for n in inputs}
    n_buckets = _n_buckets(inputs.get("customers", interactions), customers_per_group)
    packed = _bucketed(inputs, keys, n_buckets)
    result = packed.groupBy(BUCKET).applyInArrow(validate_group, schema).persist()
    tables = {n: result.filter(F.col(n).isNotNull()).select(f"{n}.*") for n in template}
    share = mapping.max_rejected_share if max_rejected_share is None else max_rejected_share
    return SparkDataset(
        customers=tables["customers"],
        interactions=tables["interactions"],
        surveys=tables.get("surveys"),
        rejected={n: tables[f"rejected_{n}"] for n in inputs},
        observation_end=end,
        counts=_reconcile(inputs, tables, share),
    )


def _raw(frame: pl.DataFrame, name: str, mapping: Any):
    return as_raw_table(frame, name, f"Spark table {name}", mapping, sha256=None)


def _validated_frames(dataset: Dataset, raw: dict[str, Any]) -> dict[str, pl.DataFrame]:
    """The loaded tables and each input's rejected rows; attributes keep their input types."""
    out = {"customers": dataset.customers, "interactions": dataset.interactions}
    if raw["customers"] is not None:
        given = raw["customers"].frame.schema
        contract = {c.name for c in TABLES["customers"].columns}
        attributes = [c for c in dataset.customers.columns if c in given and c not in contract]
        out["customers"] = dataset.customers.cast({c: given[c] for c in attributes})
    if raw["surveys"] is not None:
        out["surveys"] = dataset.surveys
    for name in ("customers", "interactions", "surveys"):
        if raw[name] is not None:
            out[f"rejected_{name}"] = dataset.report.tables[name].rejected
    return out


def _latest_timestamp(inputs: dict[str, DataFrame], mapping: Any) -> datetime:
    """The default end of observation, as one machine computes it: the latest timestamp of
    any row that parses and is not in the future (one pass over each table)."""
    now = datetime.now(UTC).replace(tzinfo=None)

    def latest(name: str):
        def per_batch(batches):
            for batch in batches:
                frame = _raw(_as_naive_utc(pl.from_arrow(batch)), name, mapping).frame
                parsed = validation.reject_future(validation.parse_table(frame, TABLES[name]), name, now)
                found = validation.latest_timestamp({name: parsed})
                yield pa.RecordBatch.from_pydict(
                    {"latest": [found]}, pa.schema([("latest", pa.timestamp("us"))])
                )

        return per_batch

    found = [
        row["latest"]
        for name, df in inputs.items()
        for row in df.mapInArrow(latest(name), "latest timestamp_ntz").collect()
        if row["latest"] is not None
    ]
    return max(found, default=now)


def _reconcile(inputs: dict[str, DataFrame], tables: dict[str, DataFrame], max_share: float) -> pl.DataFrame:
    """Rows read, loaded and rejected per input; too many rejected stops, as on one machine."""
    from pyspark.sql import functions as F

    rows = []
    for name, df in inputs.items():
        read, loaded, rejected = df.count(), tables[name].count(), tables[f"rejected_{name}"].count()
        if read != loaded + rejected:  # every row is loaded or rejected; anything else is a bug
            raise RuntimeError(f"{name}: {read} rows read but {loaded} loaded + {rejected} rejected")
        if read and rejected / read > max_share:
            top = tables[f"rejected_{name}"].groupBy("reason").count().orderBy(F.desc("count")).first()
            raise DataContractError(
                f"Spark table {name}: {rejected} of {read} rows ({rejected / read:.1%}) were rejected, "
                f"more than the allowed {max_share:.0%}. Most common reason: {top['reason']} "
                f"({top['count']} rows)."
            )
        rows.append({"table": name, "rows_read": read, "rows_loaded": loaded, "rows_rejected": rejected})
    return pl.DataFrame(rows)


def build_features(
    interactions: DataFrame,
    customers: DataFrame,
    surveys: DataFrame | None = None,
    *,
    exposure_window_days: int = 30,
    observation_end: datetime | None = None,
    customers_per_group: int = 50_000,
) -> DataFrame:
    """:func:`cxlab.journeys.build_features` on validated Spark tables (as :func:`validate`
    returns them): the same columns and values, one row per customer.

    The vocabulary of touchpoints (which columns exist) is gathered from every group first,
    so each group makes the same columns. Counts are ``long`` (Spark has no unsigned
    integers). ``observation_end`` defaults to the latest timestamp in the tables; pass
    :attr:`SparkDataset.observation_end` to match a one-machine run on the same raw data.
    """
    from pyspark.sql import functions as F

    inputs = {"customers": customers, "interactions": interactions}
    if surveys is not None:
        inputs["surveys"] = surveys
    if observation_end is None:
        times = [F.max(c).alias(c) for c in ("signup_at", "churned_at") if c in customers.columns]
        latest = [*customers.select(times).first(), interactions.select(F.max("timestamp")).first()[0]]
        if surveys is not None:
            latest.append(surveys.select(F.max("responded_at")).first()[0])
        observation_end = max(t for t in latest if t is not None)
    end, window, names = observation_end, exposure_window_days, list(inputs)  # no Spark objects in closures
    packed = _bucketed(
        inputs, dict.fromkeys(inputs, "customer_id"), _n_buckets(customers, customers_per_group)
    )

    def dataset(table: pa.Table) -> Dataset:
        frames = {n: _as_naive_utc(f) for n, f in _unpack(table, names).items()}
        return _dataset(frames, end)

    def vocabulary_group(table: pa.Table) -> pa.Table:
        found = feature_vocabulary(dataset(table), exposure_window_days=window, observation_end=end)
        pairs = [(kind, value) for kind, values in found.items() for value in values]
        return pa.table({"kind": [k for k, _ in pairs], "value": [v for _, v in pairs]})

    schema = "kind string, value string"
    found = packed.groupBy(BUCKET).applyInArrow(vocabulary_group, schema).distinct().collect()
    vocabulary = {
        k: sorted({r["value"] for r in found if r["kind"] == k})
        for k in ("touchpoint", "channel", "stage", "kind", "exposure")
    }

    def features(data: Dataset) -> pl.DataFrame:
        built = _build_features(data, exposure_window_days=window, observation_end=end, vocabulary=vocabulary)
        return _spark_frame(built)

    template = features(_dataset({n: _empty(df) for n, df in inputs.items()}, end))
    out_schema = _spark_schema(template)
    arrow_schema = _arrow_schema(out_schema)

    def features_group(table: pa.Table) -> pa.Table:
        return features(dataset(table)).to_arrow(compat_level=pl.CompatLevel.oldest()).cast(arrow_schema)

    return packed.groupBy(BUCKET).applyInArrow(features_group, out_schema)


def _dataset(frames: dict[str, pl.DataFrame], end: datetime) -> Dataset:
    from cxlab.catalog import default_catalog
    from cxlab.dataset import LoadReport

    return Dataset(
        customers=frames["customers"],
        interactions=frames["interactions"],
        surveys=frames.get("surveys", validation.empty_table("surveys")),
        touchpoints=default_catalog(),
        report=LoadReport({}, end),
    )


def fit_archetypes(
    features: DataFrame, *, sample_size: int = 200_000, random_state: int = 0, **params: Any
) -> JourneyArchetypes:
    """Fit :class:`~cxlab.archetypes.JourneyArchetypes` on a random sample of customers
    collected to the driver (``sample_size``, default 200,000: enough for stable centres
    of up to ten archetypes, and a few GB of driver memory at most)."""
    from cxlab.archetypes import JourneyArchetypes

    total = features.count()
    fraction = min(1.0, 1.2 * sample_size / max(total, 1))
    sample = features.sample(fraction=fraction, seed=random_state).limit(sample_size)
    return JourneyArchetypes(random_state=random_state, **params).fit(pl.from_arrow(sample.toArrow()))


def assign_archetypes(model: JourneyArchetypes, features: DataFrame) -> DataFrame:
    """``customer_id, archetype, archetype_name`` for every customer, computed on the
    executors with the fitted model (:meth:`~cxlab.archetypes.JourneyArchetypes.assign`)."""
    columns = {"customer_id": pl.String, "archetype": pl.Int32, "archetype_name": pl.String}  # of assign()
    schema = _spark_schema(pl.DataFrame(schema=columns))
    arrow_schema = _arrow_schema(schema)

    def assign(batches):
        for batch in batches:
            if batch.num_rows:
                assigned = model.assign(pl.from_arrow(batch))
                yield from (
                    assigned.to_arrow(compat_level=pl.CompatLevel.oldest()).cast(arrow_schema).to_batches()
                )

    return features.mapInArrow(assign, schema)


def write_for_run(
    path: str,
    *,
    features: DataFrame,
    archetypes: DataFrame,
    surveys: DataFrame | None = None,
    touchpoints: pl.DataFrame | None = None,
) -> None:
    """Write the per-customer tables ``cxlab run --features PATH`` starts from, each as a
    folder of Parquet part files named as :mod:`cxlab.precomputed` expects (replacing what
    is there): the features, the archetypes, the validated survey answers and the catalog
    given to :func:`validate` (without it, the run uses the built-in catalog)."""
    tables = {"customer_features": features, "archetypes": archetypes, "surveys": surveys}
    if touchpoints is not None:
        tables["touchpoints"] = features.sparkSession.createDataFrame(touchpoints.to_pandas())
    for name, frame in tables.items():
        if frame is not None:
            frame.write.mode("overwrite").parquet(f"{path.rstrip('/')}/{name}.parquet")
