"""A real PostgreSQL server for the database tests, and a dataset with bad rows to put in it.

The server is a throwaway cluster in a temporary folder, started for the test session and
stopped after it, from the Debian ``postgresql`` package (``.ci/run`` installs it). Set
``CXLAB_TEST_POSTGRES_URI`` to use a server of your own instead. Without either the
PostgreSQL tests skip and say why; ``.ci/run`` sets ``CXLAB_REQUIRE_POSTGRES=1`` so that in
CI they fail instead.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import polars as pl
import pytest

from cxlab.synthetic import make_journeys

PASSWORD = "Pg-Secret-7e3b91"
TABLE_NAMES = ("customers", "interactions", "surveys")


def _initdb() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    path = found[-1] if found else shutil.which("initdb")
    return Path(path) if path else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres_user(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root; CI runs as root, so run it as the postgres user."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _unavailable(reason: str):
    if os.environ.get("CXLAB_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL is required here (CXLAB_REQUIRE_POSTGRES=1) but {reason}")
    pytest.skip(f"no PostgreSQL server: {reason} (.ci/run installs one)")


@pytest.fixture(scope="session")
def postgres_uri() -> str:
    """URI (with password) of an empty database ``cxlab`` on a running server."""
    if os.environ.get("CXLAB_TEST_POSTGRES_URI"):
        yield os.environ["CXLAB_TEST_POSTGRES_URI"]
        return
    initdb = _initdb()
    if initdb is None:
        _unavailable("initdb was not found (Debian package postgresql)")
    root = Path(tempfile.mkdtemp(prefix="cxlab-postgres-"))  # pytest's tmp is private to root
    (root / "pw").write_text(PASSWORD)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(root / "pw", "postgres")
    data, port, bindir = root / "data", _free_port(), initdb.parent
    setup = [
        [str(initdb), "-D", str(data), "-U", "cxlab", f"--pwfile={root / 'pw'}", "--auth=scram-sha-256"],
        [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "start", "-o",
         f"-p {port} -k {root} -c listen_addresses=127.0.0.1"],
    ]  # fmt: skip
    for command in setup:
        done = subprocess.run(_as_postgres_user(command), capture_output=True, text=True)
        if done.returncode:
            _unavailable(f"{Path(command[0]).name} failed: {done.stderr.strip() or done.stdout.strip()}")
    env = {**os.environ, "PGPASSWORD": PASSWORD}
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "cxlab", "-d", "postgres",
         "-qc", "CREATE DATABASE cxlab"],
        check=True, env=env, capture_output=True,
    )  # fmt: skip
    yield f"postgresql://cxlab:{PASSWORD}@127.0.0.1:{port}/cxlab"
    subprocess.run(
        _as_postgres_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]), check=False
    )


def dirty_tables(n_customers: int = 300, seed: int = 3) -> dict[str, pl.DataFrame]:
    """Generated tables (typed, as a database holds them) with bad rows of several kinds planted."""
    data = make_journeys(n_customers, random_state=seed).dataset
    customers = data.customers.select("customer_id", "signup_at", "churned_at", "segment")
    interactions = data.interactions.select("customer_id", "timestamp", "touchpoint", "value")
    surveys = data.surveys.select(
        "customer_id", "responded_at", "response_id", "metric", "score", "touchpoint"
    )
    return {
        "customers": pl.concat([customers, customers.head(2)]),  # two duplicate ids
        "interactions": interactions.with_columns(  # three without customer, four unknown customers
            pl.when(pl.int_range(pl.len()) < 3)
            .then(None)
            .otherwise(pl.col("customer_id"))
            .alias("customer_id")
        ).vstack(interactions.head(4).with_columns(pl.lit("nobody").alias("customer_id"))),
        "surveys": surveys.with_columns(  # two scores outside the NPS scale
            pl.when(pl.int_range(pl.len()) < 2).then(99.0).otherwise(pl.col("score")).alias("score")
        ),
    }


def ingest(connection, tables: dict[str, pl.DataFrame], schema: str | None = None) -> None:
    """Create (replace) the tables in a database through its ADBC connection, and commit."""
    with connection.cursor() as cursor:
        if schema:
            cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        for name, frame in tables.items():
            arrow = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
            cursor.adbc_ingest(name, arrow, mode="replace", db_schema_name=schema)
    connection.commit()


def write_parquet(directory: Path, tables: dict[str, pl.DataFrame]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.write_parquet(directory / f"{name}.parquet")
    return directory
