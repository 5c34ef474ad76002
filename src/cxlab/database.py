"""Databases as a source of the contract's tables, and as a destination for result tables.

A database is named by a URI: ``postgresql://user@host:5432/db``, ``duckdb:///path/to.db``,
``sqlite:///path/to.db`` (three slashes, then the path; four for an absolute path). Every
driver is an ADBC driver (Apache Arrow Database Connectivity), so rows arrive as Arrow
batches and are never held twice; any other warehouse with an ADBC driver installed as
``adbc_driver_<scheme>`` (``adbc-driver-snowflake``, ``adbc-driver-bigquery``, ...) is
reached the same way.

A password never leaves this module: :func:`redact` is what logs, manifests and error
messages show. Credentials may also come from the driver's own environment (for PostgreSQL
``PGPASSWORD`` or ``~/.pgpass``), so the URI need not hold one.

Examples
--------
>>> redact("postgresql://analyst:s3cret@db.internal:5432/crm")
'postgresql://analyst:***@db.internal:5432/crm'
>>> is_database("duckdb:///data/cx.duckdb"), is_database("data/sample")
(True, False)
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import polars as pl
import pyarrow as pa

from cxlab.exceptions import DataContractError

logger = logging.getLogger(__name__)

_DRIVERS = {"postgresql": "postgresql", "postgres": "postgresql", "sqlite": "sqlite", "duckdb": "duckdb"}
_FILE_SCHEMES = {"sqlite", "duckdb"}
_CHUNK_ROWS = 1_000_000
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def is_database(source: str | Path) -> bool:
    """Whether ``source`` is a database URI rather than a folder."""
    return isinstance(source, str) and bool(_SCHEME.match(source))


SECRET_PARAMETERS = ("password", "passfile", "sslpassword", "sslkey", "token", "secret")
"""Query parameters of a URI whose values are never shown (libpq accepts ``?password=``)."""


def redact(uri: str) -> str:
    """The URI with its password replaced by ``***`` (what logs and manifests show), whether
    it is given as ``user:password@`` or as a query parameter such as ``?password=``.

    Examples
    --------
    >>> redact("postgresql://alice:s3cret@db/cx")
    'postgresql://alice:***@db/cx'
    >>> redact("postgresql://alice@db/cx?sslmode=require&password=s3cret")
    'postgresql://alice@db/cx?sslmode=require&password=***'
    """
    parts = urlsplit(uri)
    secret_query = any(p.split("=", 1)[0].lower() in SECRET_PARAMETERS for p in parts.query.split("&"))
    if parts.password is None and not secret_query:
        return uri
    if parts.password is not None:
        host = parts.netloc.rpartition("@")[2]
        parts = parts._replace(netloc=f"{parts.username or ''}:***@{host}")
    query = "&".join(
        f"{key}=***" if key.lower() in SECRET_PARAMETERS else pair
        for pair in parts.query.split("&")
        if pair
        for key in [pair.split("=", 1)[0]]
    )
    return urlunsplit(parts._replace(query=query))


class Database:
    """A database reached through its ADBC driver; every failure is a DataContractError
    naming the redacted URI, never the password."""

    def __init__(self, uri: str, *, create: bool = False):
        self.uri = uri
        self.name = redact(uri)
        self.scheme = uri.split("://", 1)[0].lower()
        self._create = create

    def __repr__(self) -> str:
        return f"Database({self.name!r})"

    @contextlib.contextmanager
    def connect(self, *, autocommit: bool = True) -> Iterator[Any]:
        """An open ADBC DB-API connection, closed on exit."""
        driver = _DRIVERS.get(self.scheme, self.scheme.replace("+", "_"))
        try:
            dbapi = importlib.import_module(f"adbc_driver_{driver}.dbapi")
        except ImportError:
            raise DataContractError(
                f"{self.name}: no ADBC driver for '{self.scheme}'. Install adbc-driver-{driver} "
                "(PostgreSQL, SQLite and DuckDB come with `pip install cxlab[db]`)."
            ) from None
        with self.errors("cannot connect"):
            connection = dbapi.connect(self._target(), autocommit=autocommit)
        try:
            yield connection
        finally:
            with contextlib.suppress(Exception):
                connection.close()

    def _target(self) -> str:
        if self.scheme not in _FILE_SCHEMES:
            return self.uri
        path = self.uri.split("://", 1)[1].removeprefix("/")
        if not path:
            raise DataContractError(f"{self.name}: no file path; write {self.scheme}:///path/to/file.db.")
        if not self._create and not Path(path).is_file():
            raise DataContractError(f"{self.name}: database file {path} does not exist.")
        return path

    @contextlib.contextmanager
    def errors(self, doing: str) -> Iterator[None]:
        """Turn a driver error into one line naming the database and what was being done."""
        from adbc_driver_manager import Error

        try:
            yield
        except (Error, OSError) as exc:
            raise DataContractError(f"{self.name}: {doing}: {self._clean(exc)}") from None

    def _clean(self, exc: Exception) -> str:
        text = str(exc)
        found = re.search(r"(?:ERROR|FATAL):\s+(.*)", text)
        line = (
            found.group(1) if found else text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        )
        line = re.sub(r"^[A-Z_]+: ", "", line)
        line = re.sub(r"^\[\w+\] ", "", line).strip().rstrip(".")
        password = urlsplit(self.uri).password
        return line.replace(password, "***") if password else line

    def has_table(self, connection: Any, table: str, *, schema: str | None = None) -> bool:
        """Whether ``table`` exists (in ``schema``, or in any schema the connection sees)."""
        with self.errors(f"cannot list tables while looking for {table}"):
            objects = connection.adbc_get_objects(
                depth="tables", db_schema_filter=schema, table_name_filter=table
            ).read_all()
        return any(
            t["table_name"] == table
            for catalog in objects.to_pylist()
            for schema in catalog["catalog_db_schemas"] or []
            for t in schema["db_schema_tables"] or []
        )

    def read(self, connection: Any, query: str, what: str) -> pl.DataFrame:
        """The result of ``query`` as a polars DataFrame, through the driver's Arrow stream."""
        try:
            return self._fetch(connection, query, what)
        except _TypeMismatch:
            # SQLite stores any type in any column; a dirty column cannot be typed from its
            # first rows, so read it as text and let validation reject the bad values.
            logger.info("%s: mixed value types in %s; reading its columns as text", self.name, what)
            with connection.cursor() as cursor, self.errors(f"cannot read {what}"):
                cursor.execute(f"SELECT * FROM ({query}) AS q LIMIT 0")
                names = [d[0] for d in cursor.description]
            as_text = ", ".join(f"CAST({_quote(n)} AS TEXT) AS {_quote(n)}" for n in names)
            return self._fetch(connection, f"SELECT {as_text} FROM ({query}) AS q", what)

    def _fetch(self, connection: Any, query: str, what: str) -> pl.DataFrame:
        frames = []
        with connection.cursor() as cursor, self.errors(f"cannot read {what}"):
            try:
                cursor.execute(query)
                reader = cursor.fetch_record_batch()
                for group in _batch_groups(reader, _CHUNK_ROWS):
                    frames.append(pl.from_arrow(pa.Table.from_batches(group, reader.schema)))
                    del group  # the Arrow copy of these rows is freed before the next group
            except OSError as exc:
                if "Type mismatch" in str(exc):
                    raise _TypeMismatch from None
                raise
        if not frames:
            return pl.from_arrow(reader.schema.empty_table())
        return pl.concat(frames, rechunk=False)

    def write_tables(self, tables: dict[str, pl.DataFrame], *, schema: str, run_id: str, run_at: Any) -> None:
        """Replace this run's rows of ``<schema>.<name>`` for every table, in one transaction.

        Each table gets ``run_id`` and ``run_at`` as its first columns, so the tables keep
        the history of every run and a dashboard can pick the latest. Writing the same run
        again replaces its rows; an error rolls back every table.
        """
        with self.connect(autocommit=False) as connection, self.errors(f"cannot write results to {schema}"):
            try:
                with connection.cursor() as cursor:
                    if self.scheme != "sqlite":  # SQLite has no schemas: tables are prefixed instead
                        cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(schema)}")
                    for name, frame in tables.items():
                        self._replace_run(connection, cursor, schema, name, _stamped(frame, run_id, run_at))
                connection.commit()
            except BaseException:
                connection.rollback()
                raise

    def _replace_run(self, connection: Any, cursor: Any, schema: str, name: str, frame: pl.DataFrame) -> None:
        db_schema, table = (None, f"{schema}_{name}") if self.scheme == "sqlite" else (schema, name)
        qualified = ".".join(_quote(p) for p in (db_schema, table) if p)
        if self.has_table(connection, table, schema=db_schema):
            run_id = frame["run_id"][0].replace("'", "''")
            cursor.execute(f"DELETE FROM {qualified} WHERE run_id = '{run_id}'")
        arrow = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
        cursor.adbc_ingest(table, arrow, mode="create_append", db_schema_name=db_schema)


def _stamped(frame: pl.DataFrame, run_id: str, run_at: Any) -> pl.DataFrame:
    untyped = [c for c, t in frame.schema.items() if t == pl.Null]
    return frame.with_columns(pl.col(untyped).cast(pl.String)).select(
        pl.lit(run_id, pl.String).alias("run_id"), pl.lit(run_at).alias("run_at"), pl.all()
    )


class _TypeMismatch(Exception):
    pass


def _batch_groups(reader: Any, rows: int) -> Iterator[list]:
    """The reader's record batches in groups of about ``rows`` rows, so at most one group is
    held as Arrow while it becomes polars: a table never needs twice its size in memory."""
    group, n = [], 0
    for batch in reader:
        group.append(batch)
        n += batch.num_rows
        if n >= rows:
            yield group
            group, n = [], 0
    if group:
        yield group


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
