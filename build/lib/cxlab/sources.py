"""Where a run's data come from, and where its results may also go.

A :class:`Source` is raw tables (a folder or database, with an optional column mapping) or
per-customer tables computed elsewhere (``cxlab run --features``); ``results_destination``
and ``write_results`` handle ``--results-to`` (a database).

Examples
--------
>>> from cxlab.sources import Source
>>> Source("postgresql://alice:secret@db/crm").shown
'postgresql://alice:***@db/crm'
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cxlab.database import Database, is_database, redact
from cxlab.exceptions import DataContractError
from cxlab.io import load_dataset, parse_observation_end
from cxlab.rundir import RunDir

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Source:
    """Where a run's data come from: raw tables (a folder or database, with an optional
    column mapping), or per-customer tables computed elsewhere (``from_features``)."""

    data: str | Path
    mapping: str | Path | None = None
    from_features: bool = False

    def __post_init__(self) -> None:
        if self.from_features and self.mapping:
            raise DataContractError(
                "--mapping applies to raw exports; per-customer tables (--features) are already in the "
                "contract's names (cxlab.spark.validate applied the mapping)."
            )

    @property
    def shown(self) -> str:
        """The source as logs and the manifest show it: a database URI without its password."""
        return redact(self.data) if is_database(self.data) else str(self.data)

    @property
    def started_from(self) -> str:
        return "per-customer tables" if self.from_features else "raw tables"

    def load(self, params: dict[str, Any]):
        """The validated dataset, and the per-customer tables when the run starts from them.

        Per-customer tables carry the exposure window and end of observation they were built
        with; a parameter that says otherwise is an error, not a silent override."""
        if not self.from_features:
            dataset = load_dataset(
                self.data,
                mapping=self.mapping,
                observation_end=params.get("observation_end"),
                max_rejected_share=params.get("max_rejected_share"),
            )
            return dataset, None
        from cxlab.precomputed import load_precomputed

        tables = load_precomputed(self.data, max_rejected_share=params.get("max_rejected_share"))
        built = {
            "exposure_window_days": tables.exposure_window_days,
            "observation_end": tables.dataset.observation_end,
        }
        given = {**params, "observation_end": parse_observation_end(params.get("observation_end"))}
        for name, value in built.items():
            if given.get(name) not in (None, value):
                raise DataContractError(
                    f"The features in {self.data} were built with {name} = {value}, but the run was "
                    f"given {params[name]}. Drop the parameter, or build the features again with it."
                )
        return tables.dataset, tables


def start_from(tables, run: RunDir) -> None:
    """Put per-customer tables where the notebooks find a run's: features, archetypes and
    their profiles over every customer (the archetypes notebook's tables)."""
    from cxlab.profiles import profile_assignment

    run.write_table("customer_features.parquet", tables.features)
    run.write_table("archetypes.csv", tables.archetypes)
    run.write_table("archetype_profiles.csv", profile_assignment(tables.features, tables.archetypes))


def results_destination(uri: str | None) -> Database | None:
    """The database for ``--results-to``, checked before any analysis so a typo fails fast."""
    if uri is None:
        return None
    if not is_database(uri):
        raise DataContractError(f"--results-to must be a database URI (postgresql://...). Got {uri!r}.")
    destination = Database(uri, create=True)
    with destination.connect():
        pass
    return destination


def write_results(
    db: Database, schema: str, run: RunDir, run_id: str, run_at: str
) -> tuple[dict[str, Any], str | None]:
    """Write every result table of ``run`` to ``db`` in one transaction (on error none is
    changed). Returns what was written (the manifest's ``results_to``) and the error, if any."""
    tables = {Path(name).stem: run.read_table(name) for name in run.table_names()}
    logger.info("Writing %d result tables to %s (schema %s)", len(tables), db.name, schema)
    record = {"uri": db.name, "schema": schema, "run_id": run_id, "tables": sorted(tables)}
    try:
        db.write_tables(tables, schema=schema, run_id=run_id, run_at=datetime.fromisoformat(run_at))
    except DataContractError as exc:
        return {**record, "written": False}, str(exc)
    return {**record, "written": True}, None
