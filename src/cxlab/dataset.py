"""A validated dataset and the report of how it was loaded.

:func:`cxlab.load_dataset` returns a :class:`Dataset`; its ``report`` says, per table,
where the rows came from and how many were loaded or rejected, and why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from cxlab.rundir import neutralize_formulas
from cxlab.schema import LABELS, STAGES, TABLES

SAVED_MARKER = "dataset.json"
"""File that marks a folder written by :meth:`Dataset.save`."""


@dataclass
class TableReport:
    """How one table was read: where from, and how many rows were loaded or rejected."""

    table: str
    source: str | None
    sha256: str | None
    rows_read: int
    rejected: pl.DataFrame
    derived: str | None = None
    query: str | None = None  # the SQL that read it, for a database source
    id_columns: tuple[str, ...] = ()  # the source's columns that hold ids, as ``rejected`` names them
    text_columns: tuple[str, ...] = ()  # the source's columns of free text (comments), likewise

    @property
    def rows_rejected(self) -> int:
        return self.rejected.height

    @property
    def rows_loaded(self) -> int:
        return self.rows_read - self.rows_rejected

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "source": self.source,
            "sha256": self.sha256,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "derived": self.derived,
            "query": self.query,
        }


@dataclass
class LoadReport:
    """What :func:`load_dataset` did: per-table counts, rejected rows, warnings, derivations."""

    tables: dict[str, TableReport]
    observation_end: datetime
    warnings: list[str] = field(default_factory=list)
    stages: tuple[str, ...] = STAGES  # the journey stages in order (the mapping's, else the default)
    lexicon: dict[str, float] = field(default_factory=dict)  # the mapping's sentiment words

    def summary(self) -> pl.DataFrame:
        """One row per table: source, rows read, loaded and rejected."""
        rows = [t.to_dict() for t in self.tables.values()]
        return pl.DataFrame(rows).drop("sha256")

    def rejected_reasons(self) -> pl.DataFrame:
        """Rejected rows counted by table and reason (a row may have several reasons)."""
        frames = [
            t.rejected.select(pl.lit(name).alias("table"), pl.col("reason").str.split("; ")).explode("reason")
            for name, t in self.tables.items()
            if t.rows_rejected
        ]
        if not frames:
            return pl.DataFrame(schema={"table": pl.String, "reason": pl.String, "n_rows": pl.UInt32})
        return (
            pl.concat(frames)
            .group_by("table", "reason")
            .len("n_rows")
            .sort(["table", "n_rows"], descending=[False, True])
        )

    def write_rejected(self, directory: str | Path) -> list[Path]:
        """Write ``<directory>/<table>.csv`` for every table with rejected rows."""
        written = []
        for name, t in self.tables.items():
            if t.rows_rejected:
                Path(directory).mkdir(parents=True, exist_ok=True)
                path = Path(directory) / f"{name}.csv"
                neutralize_formulas(t.rejected).write_csv(path)
                written.append(path)
        return written

    def to_dict(self) -> dict[str, Any]:
        return {
            "observation_end": self.observation_end.isoformat(),
            "tables": {n: t.to_dict() for n, t in self.tables.items()},
            "warnings": list(self.warnings),
            "stages": list(self.stages),
            "lexicon": dict(self.lexicon),
        }


@dataclass
class Dataset:
    """A validated dataset: polars frames for the contract's tables and the load report.

    ``touchpoints`` is the catalog in force (the built-in one overlaid with the dataset's
    own); ``interactions`` carry ``channel``, ``stage`` and ``kind`` filled from it. The
    :data:`~cxlab.schema.LABELS` columns are ``Categorical`` in every table, also in a table
    put in by hand, so the tables join and stack with one another.
    """

    customers: pl.DataFrame
    interactions: pl.DataFrame
    surveys: pl.DataFrame
    touchpoints: pl.DataFrame
    report: LoadReport
    # what analyses derive from the frames and share (cxlab.journeys.journey_events), with the
    # frames it was derived from: a frame replaced since makes it stale
    derived: dict[str, tuple] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in TABLES:  # a no-op for columns that are Categorical already
            value = value.with_columns(pl.col(c).cast(pl.Categorical) for c in LABELS if c in value)
        super().__setattr__(name, value)

    @property
    def observation_end(self) -> datetime:
        return self.report.observation_end

    @property
    def stages(self) -> tuple[str, ...]:
        """The journey stages in order: the mapping's ``stages``, else the contract's four."""
        return self.report.stages

    def save(self, directory: str | Path) -> Path:
        """Write the validated tables as Parquet; :func:`load_dataset` reads them back as they are."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for name in TABLES:
            getattr(self, name).write_parquet(directory / f"{name}.parquet")
        self.report.write_rejected(directory / "rejected")
        (directory / SAVED_MARKER).write_text(json.dumps(self.report.to_dict(), indent=2))
        return directory


@dataclass
class RawTable:
    """A table as read from its file or database, with the contract's column names applied."""

    frame: pl.DataFrame  # contract names; ROW holds the 1-based source row
    original: pl.DataFrame  # the source's own columns and values, plus ROW
    source: str
    sha256: str | None  # of the file; None for a database
    query: str | None = None  # the SQL that read it, for a database
    id_columns: tuple[str, ...] = ()  # the source's own names of its id columns
    text_columns: tuple[str, ...] = ()  # the source's own name of its comment column
