"""Start a run from per-customer tables computed elsewhere, such as on Spark (:mod:`cxlab.spark`).

The folder holds these tables, each as one Parquet file or as a folder of Parquet part files
(as Spark writes them; :func:`cxlab.spark.write_for_run` writes all of them):

========================= ======== =====================================================
``customer_features``     required the journey features (:func:`cxlab.build_features`)
``archetypes``            required ``customer_id``, ``archetype``, ``archetype_name``
``surveys``               optional the survey answers, in the contract's column names
``touchpoints``           optional the touchpoint catalog, else the built-in one
========================= ======== =====================================================

:func:`load_precomputed` checks them and returns a :class:`~cxlab.dataset.Dataset` (the
customers taken from the features, the surveys and the catalog validated by the contract's
rules, and no touchpoint events) with the two per-customer tables. ``cxlab run --features``
starts from it: the impact, survey and summary notebooks run on these tables; the notebooks
that need each touchpoint event are skipped, saying why.

Examples
--------
>>> from cxlab.precomputed import load_precomputed
>>> tables = load_precomputed("/dbfs/cx/for-run")                       # doctest: +SKIP
>>> tables.features.height, tables.dataset.surveys.height               # doctest: +SKIP
(1000000, 84211)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from cxlab import validation
from cxlab.config import MAX_REJECTED_SHARE
from cxlab.dataset import Dataset
from cxlab.exceptions import DataContractError
from cxlab.io import as_raw_table, check_rejected_share
from cxlab.mapping import Mapping
from cxlab.schema import TABLES

REQUIRED_FEATURE_COLUMNS = (
    "customer_id",
    "signup_at",
    "is_churned",
    "churned_at",
    "observed_days",
    "window_complete",
    "exposure_window_days",
    "observation_end",
)
"""Columns of ``customer_features`` the run relies on (every table from build_features has them)."""

ARCHETYPE_COLUMNS = ("customer_id", "archetype", "archetype_name")


@dataclass
class Precomputed:
    """What :func:`load_precomputed` returns."""

    dataset: Dataset  # customers from the features, surveys, catalog; no interactions
    features: pl.DataFrame
    archetypes: pl.DataFrame

    @property
    def exposure_window_days(self) -> int:
        return int(self.features["exposure_window_days"][0])


def load_precomputed(directory: str | Path, *, max_rejected_share: float | None = None) -> Precomputed:
    """Read and check a folder of per-customer tables (see the module's docstring).

    Raises
    ------
    DataContractError
        A required table or column is missing, customer ids repeat, the features mix
        exposure windows or ends of observation, the archetypes do not cover every customer
        exactly once, or too many survey rows were rejected. The message names the table's
        path, the column and the count.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataContractError(f"Per-customer tables folder {directory} does not exist or is not a folder.")
    features_path, features = _read(directory, "customer_features", required=True)
    _check_features(features, features_path)
    path, archetypes = _read(directory, "archetypes", required=True)
    archetypes = _check_archetypes(archetypes, features, path)
    customers = features.select("customer_id", "signup_at", "churned_at")
    no_events = pl.DataFrame(schema={c.name: pl.String for c in TABLES["interactions"].columns})
    raw = {
        "customers": _raw(customers, "customers", str(features_path)),
        "interactions": _raw(no_events, "interactions", f"{directory} (per-customer tables: no events)"),
    }
    for name in ("surveys", "touchpoints"):
        path, frame = _read(directory, name, required=False)
        raw[name] = None if frame is None else _raw(frame, name, str(path))
    dataset = validation.validate(raw, mapping=Mapping(), observation_end=features["observation_end"][0])
    share = MAX_REJECTED_SHARE if max_rejected_share is None else max_rejected_share
    check_rejected_share(dataset.report, share)
    return Precomputed(dataset, features, archetypes)


def _raw(frame: pl.DataFrame, name: str, source: str):
    return as_raw_table(frame.with_row_index(validation.ROW, offset=1), name, source, Mapping(), sha256=None)


def _read(directory: Path, name: str, *, required: bool) -> tuple[Path, pl.DataFrame | None]:
    """``<name>.parquet`` or ``<name>/``: one Parquet file, or a folder of Parquet part files."""
    for path in (directory / f"{name}.parquet", directory / name):
        parts = sorted(path.glob("*.parquet")) if path.is_dir() else [path] if path.is_file() else []
        if parts:
            try:
                return path, pl.read_parquet(parts)
            except Exception as exc:  # polars/arrow raise many types for malformed files
                raise DataContractError(f"{path} cannot be read as Parquet: {exc}") from None
    if required:
        raise DataContractError(
            f"{directory}: the {name} table is missing; expected {name}.parquet (a Parquet file, or a "
            "folder of Parquet part files as Spark writes them)."
        )
    return directory / f"{name}.parquet", None


def _check_features(features: pl.DataFrame, path: Path) -> None:
    missing = [c for c in REQUIRED_FEATURE_COLUMNS if c not in features.columns]
    if missing:
        raise DataContractError(
            f"{path}: column {', '.join(repr(c) for c in missing)} is missing; the table must come from "
            "cxlab's build_features (on Spark: cxlab.spark.build_features) of this cxlab version."
        )
    if features.height == 0:
        raise DataContractError(f"{path}: the table has no customers.")
    bad_ids = features["customer_id"].null_count() + features["customer_id"].is_duplicated().sum()
    if bad_ids:
        raise DataContractError(f"{path}: {bad_ids} rows have an empty or repeated customer_id.")
    for column in ("exposure_window_days", "observation_end"):
        values = features[column].unique()
        if values.len() != 1:
            raise DataContractError(
                f"{path}: column '{column}' holds {values.len()} different values; the table mixes "
                "feature tables built with different settings."
            )


def _check_archetypes(archetypes: pl.DataFrame, features: pl.DataFrame, path: Path) -> pl.DataFrame:
    missing = [c for c in ARCHETYPE_COLUMNS if c not in archetypes.columns]
    if missing:
        raise DataContractError(
            f"{path}: column {', '.join(repr(c) for c in missing)} is missing; expected "
            f"{', '.join(ARCHETYPE_COLUMNS)} (as cxlab.spark.assign_archetypes returns)."
        )
    archetypes = archetypes.select(ARCHETYPE_COLUMNS).cast({"archetype": pl.Int32})
    ids = features.select("customer_id")
    repeated = int(archetypes["customer_id"].is_duplicated().sum())
    unassigned = ids.join(archetypes, on="customer_id", how="anti").height
    unknown = archetypes.join(ids, on="customer_id", how="anti").height
    if repeated or unassigned or unknown:
        raise DataContractError(
            f"{path}: every customer of customer_features needs exactly one archetype; "
            f"{unassigned} customers have none, {repeated} rows repeat a customer and {unknown} rows "
            "name a customer the features do not have."
        )
    names = (
        archetypes.group_by("archetype")
        .agg(pl.col("archetype_name").n_unique())
        .filter(pl.col("archetype_name") > 1)
    )
    if names.height:
        raise DataContractError(
            f"{path}: {names.height} archetypes have more than one archetype_name "
            f"(archetype {', '.join(map(str, sorted(names['archetype'])))}); each needs exactly one name."
        )
    return ids.join(archetypes, on="customer_id", maintain_order="left")
