"""Databases as sources: the same tables and the same rejected rows as the same data in
Parquet, for DuckDB and SQLite files (embedded) and a real PostgreSQL server."""

from __future__ import annotations

import importlib
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from tests.db.conftest import PASSWORD, dirty_tables, ingest, write_parquet

from cxlab import load_dataset
from cxlab.database import Database, redact
from cxlab.exceptions import DataContractError
from cxlab.schema import TABLES

CXLAB = [sys.executable, "-m", "cxlab.cli"]


@pytest.fixture(scope="module")
def tables() -> dict[str, pl.DataFrame]:
    return dirty_tables()


@pytest.fixture(scope="module")
def from_parquet(tables, tmp_path_factory):
    return load_dataset(write_parquet(tmp_path_factory.mktemp("parquet"), tables))


def _file_database(kind: str, directory: Path, tables: dict[str, pl.DataFrame]) -> str:
    path = directory / f"cx.{kind}"
    driver = importlib.import_module(f"adbc_driver_{kind}.dbapi")
    with driver.connect(str(path)) as connection:
        ingest(connection, tables)
    return f"{kind}:///{path}"


@pytest.fixture(scope="module")
def postgres_loaded(postgres_uri, tables) -> str:
    import adbc_driver_postgresql.dbapi

    with adbc_driver_postgresql.dbapi.connect(postgres_uri) as connection:
        ingest(connection, tables)
    return postgres_uri


def assert_same_dataset(a, b) -> None:
    for name in TABLES:
        assert_frame_equal(getattr(a, name), getattr(b, name))
        left, right = a.report.tables[name], b.report.tables[name]
        assert (left.rows_read, left.rows_rejected) == (right.rows_read, right.rows_rejected), name
        # the rejected rows keep the source's own values: SQLite holds timestamps as text
        assert_frame_equal(
            left.rejected.select("source_row", "reason"), right.rejected.select("source_row", "reason")
        )


@pytest.mark.parametrize("kind", ["duckdb", "sqlite"])
def test_embedded_database_gives_the_same_dataset_and_rejected_rows_as_parquet(
    kind, tables, from_parquet, tmp_path
):
    dataset = load_dataset(_file_database(kind, tmp_path, tables))
    assert_same_dataset(dataset, from_parquet)
    assert from_parquet.report.tables["interactions"].rows_rejected == 7  # the planted bad rows
    assert dataset.report.tables["customers"].query == "SELECT * FROM customers"


@pytest.mark.postgres
def test_postgres_gives_the_same_dataset_and_rejected_rows_as_parquet(postgres_loaded, from_parquet):
    dataset = load_dataset(postgres_loaded)
    assert_same_dataset(dataset, from_parquet)
    source = dataset.report.tables["interactions"].source
    assert PASSWORD not in source and source.startswith("postgresql://cxlab:***@")


@pytest.mark.postgres
def test_postgres_password_may_come_from_the_environment(postgres_loaded, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    without = postgres_loaded.replace(f":{PASSWORD}@", "@")
    assert load_dataset(without).customers.height == 300


def test_mapping_names_tables_and_queries_and_renames_columns(tables, tmp_path):
    renamed = {
        "crm_customers": tables["customers"].rename({"customer_id": "client"}),
        "events": tables["interactions"].rename({"customer_id": "client", "touchpoint": "channel_name"}),
    }
    uri = _file_database("duckdb", tmp_path, renamed)
    mapping = {
        "tables": {
            "customers": {"table": "crm_customers", "columns": {"customer_id": "client"}},
            "interactions": {
                "query": "SELECT * FROM events WHERE client IS NOT NULL",
                "columns": {"customer_id": "client", "touchpoint": "channel_name"},
            },
        }
    }
    dataset = load_dataset(uri, mapping=mapping)
    report = dataset.report.tables["interactions"]
    assert report.rows_read == tables["interactions"].height - 3  # the query filtered the nulls
    assert report.query.startswith("SELECT * FROM events")
    assert dataset.report.tables["surveys"].rows_read == 0  # no such table: optional, absent


def test_sqlite_column_with_mixed_types_is_read_as_text_and_bad_values_rejected(tmp_path):
    import sqlite3

    path = tmp_path / "mixed.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE customers (customer_id, signup_at)")
        connection.execute("CREATE TABLE interactions (customer_id, timestamp, touchpoint, value)")
        connection.executemany(
            "INSERT INTO customers VALUES (?, ?)", [(i, "2025-01-01") for i in range(3000)]
        )
        rows = [(i, "2025-02-01", "website", 1.5) for i in range(3000)] + [
            (1, "2025-02-01", "website", "n/a")
        ]
        connection.executemany("INSERT INTO interactions VALUES (?, ?, ?, ?)", rows)
    dataset = load_dataset(f"sqlite:///{path}")
    rejected = dataset.report.tables["interactions"].rejected
    assert rejected["reason"].to_list() == ["unparseable number in value"]
    assert dataset.interactions.height == 3000


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({}, "the customers table is missing; expected a table or view named customers"),
        ({"tables": {"customers": {"table": "crm"}}}, "cannot read the customers table: Catalog Error"),
        ({"tables": {"customers": {"query": "SELEC 1"}}}, "cannot read the customers table: Parser Error"),
        ({"tables": {"customers": {"file": "c.csv"}}}, "tables.customers.file names a file, but the data"),
        ({"tables": {"customers": {"derive": True}, "interactions": {"columns": {"customer_id": "who"}}}},
         "says interactions.customer_id comes from column 'who'"),
    ],
)  # fmt: skip
def test_database_mistakes_name_the_database_and_the_table(mapping, message, tables, tmp_path):
    uri = _file_database("duckdb", tmp_path, {"interactions": tables["interactions"]})
    with pytest.raises(DataContractError, match="duckdb:///") as caught:
        load_dataset(uri, mapping=mapping)
    assert message in str(caught.value)


def test_missing_database_file_and_missing_driver_are_clear(tmp_path):
    with pytest.raises(DataContractError, match=r"database file .*nope.duckdb does not exist"):
        load_dataset(f"duckdb:///{tmp_path}/nope.duckdb")
    with pytest.raises(
        DataContractError, match="no ADBC driver for 'snowflake'. Install adbc-driver-snowflake"
    ):
        load_dataset("snowflake://me:pw@account/db")


def test_a_folder_source_refuses_a_database_table_in_the_mapping(tmp_path, tables):
    folder = write_parquet(tmp_path / "export", tables)
    with pytest.raises(DataContractError, match="names a database table, but the data is the folder"):
        load_dataset(folder, mapping={"tables": {"customers": {"table": "crm"}}})


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("postgresql://ann:p@ss:w0rd@db:5432/crm", "postgresql://ann:***@db:5432/crm"),
        ("postgresql://ann@db/crm?sslmode=require", "postgresql://ann@db/crm?sslmode=require"),
        ("duckdb:///data/cx.duckdb", "duckdb:///data/cx.duckdb"),
        ("postgresql://alice@host/db?password=s3cret", "postgresql://alice@host/db?password=***"),
        (
            "postgresql://host/db?user=a&PASSWORD=s3cret&sslmode=require",
            "postgresql://host/db?user=a&PASSWORD=***&sslmode=require",
        ),
    ],
)
def test_redact_hides_only_the_password(uri, shown):
    assert redact(uri) == shown


@pytest.mark.parametrize("kind", ["duckdb", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_write_tables_keeps_history_replaces_a_rerun_and_rolls_back_on_error(kind, tmp_path, request):
    if kind == "postgresql":
        uri = request.getfixturevalue("postgres_uri")
    else:
        uri = f"{kind}:///{tmp_path}/results.{kind}"
    db, when = Database(uri, create=True), datetime(2026, 1, 5, tzinfo=UTC)
    kpis = pl.DataFrame({"metric": ["nps", "csat"], "value": [12.5, 4.1]})
    db.write_tables({"kpis": kpis}, schema="hist", run_id="run-a", run_at=when)
    db.write_tables({"kpis": kpis}, schema="hist", run_id="run-b", run_at=when)
    db.write_tables({"kpis": kpis.head(1)}, schema="hist", run_id="run-a", run_at=when)
    broken = {"paths": pl.DataFrame({"x": [1]}), "kpis": pl.DataFrame({"other": [1]})}  # kpis: other columns
    with pytest.raises(DataContractError, match="cannot write results to hist"):
        db.write_tables(broken, schema="hist", run_id="run-c", run_at=when)
    table = "hist_kpis" if kind == "sqlite" else "hist.kpis"
    with db.connect() as connection:
        counts = db.read(connection, f"SELECT run_id, COUNT(*) AS n FROM {table} GROUP BY run_id", "kpis")
        assert not db.has_table(connection, "hist_paths" if kind == "sqlite" else "paths", schema=None)
    assert dict(counts.sort("run_id").iter_rows()) == {"run-a": 1, "run-b": 2}


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda uri: uri.replace(PASSWORD, "wrong-password"), "password authentication failed for user"),
        (lambda uri: uri.rsplit(":", 1)[0] + ":1/cxlab", "Connection refused"),
        (lambda uri: uri.rsplit("/", 1)[0] + "/nodb", 'database "nodb" does not exist'),
    ],
)  # fmt: skip
def test_cli_postgres_failures_exit_2_with_one_line_and_no_secret(postgres_uri, change, message, tmp_path):
    uri = change(postgres_uri)
    done = subprocess.run(
        [*CXLAB, "run", "--data", uri, "--out", str(tmp_path / "run")], capture_output=True, text=True
    )
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert "cannot connect" in done.stderr and "postgresql://cxlab:***@" in done.stderr
    assert PASSWORD not in done.stderr + done.stdout and "wrong-password" not in done.stderr


@pytest.mark.postgres
def test_cli_missing_postgres_table_exits_2_naming_it(postgres_uri, tmp_path):
    mapping = tmp_path / "source.yml"
    mapping.write_text("tables:\n  interactions:\n    table: sales.events\n")
    done = subprocess.run(
        [*CXLAB, "validate", postgres_uri, "--mapping", str(mapping)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert 'cannot read the interactions table: relation "sales.events" does not exist' in done.stderr
    assert "Traceback" not in done.stderr and PASSWORD not in done.stderr


@pytest.mark.postgres
@pytest.mark.slow
def test_run_from_postgres_writes_results_back_and_never_shows_the_password(postgres_loaded, tmp_path):
    out = tmp_path / "runs" / "nightly-1"
    done = subprocess.run(
        [*CXLAB, "run", "--data", postgres_loaded, "--out", str(out), "--results-to", postgres_loaded,
         "--results-schema", "cx_results"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    leaked = [p for p in out.rglob("*") if p.is_file() and PASSWORD.encode() in p.read_bytes()]
    assert not leaked and PASSWORD not in done.stdout + done.stderr
    db = Database(postgres_loaded)
    with db.connect() as connection:
        written = db.read(
            connection, "SELECT run_id, COUNT(*) AS n FROM cx_results.archetypes GROUP BY 1", "x"
        )
        kpis = db.read(connection, "SELECT * FROM cx_results.survey_scores", "x")
    assert written.rows() == [("nightly-1", 300)]
    assert kpis.columns[:2] == ["run_id", "run_at"] and kpis.height > 0
