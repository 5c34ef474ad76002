"""Benchmark: load 1M customers (~11.6M events) from DuckDB and PostgreSQL vs. from Parquet.

Each step runs in its own process so its peak memory is its own. ``read`` steps only fetch
the interactions table through the driver's Arrow stream; the memory it adds is compared
with reading the same table from Parquet (a read that held the rows twice would be ~2x).
PostgreSQL steps run when ``CXLAB_BENCH_POSTGRES_URI`` names a database to fill (its
``public`` tables customers, interactions and surveys are replaced).

    CXLAB_BENCH_POSTGRES_URI=postgresql://... python benchmarks/bench_database.py
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
from _harness import arguments, current_mb, ensure_dataset, peak_mb, print_step, record, run_step, timed

TABLES = ("customers", "interactions", "surveys")
_ARROW = pl.CompatLevel.oldest()  # plain Arrow strings, which every driver ingests


def _uri(kind: str, out: Path) -> str:
    return os.environ["CXLAB_BENCH_POSTGRES_URI"] if kind == "postgres" else f"duckdb:///{out}/bench.duckdb"


def _step(name: str, customers: int, out: Path) -> dict:
    from cxlab import load_dataset
    from cxlab.database import Database

    action, _, kind = name.partition("-")
    with timed(name) as r:
        if action == "ingest":
            db = Database(_uri(kind, out), create=True)
            with db.connect(autocommit=False) as connection, connection.cursor() as cursor:
                for table in TABLES:
                    arrow = pl.read_parquet(out / f"{table}.parquet").to_arrow(compat_level=_ARROW)
                    cursor.adbc_ingest(table, arrow, mode="replace")
                connection.commit()
            r["events"] = pl.scan_parquet(out / "interactions.parquet").select(pl.len()).collect().item()
        elif action == "read" and kind == "parquet":
            before = current_mb()
            frame = pl.read_parquet(out / "interactions.parquet")
            r.update(events=frame.height, read_mb=peak_mb() - before)
        elif action == "read":
            db = Database(_uri(kind, out))
            with db.connect() as connection:
                before = current_mb()  # the driver is loaded and connected
                frame = db.read(connection, "SELECT * FROM interactions", "interactions")
            r.update(events=frame.height, read_mb=peak_mb() - before)
        else:  # load: read and validate every table
            source = out if kind == "parquet" else _uri(kind, out)
            r["events"] = load_dataset(source).interactions.height
    return r


def main() -> None:
    args = arguments(__doc__, _step)
    if args is None:
        return
    ensure_dataset(args.out, args.customers)
    kinds = ["duckdb"] + (["postgres"] if os.environ.get("CXLAB_BENCH_POSTGRES_URI") else [])
    steps = ["read-parquet", "load-parquet"] + [f"{a}-{k}" for k in kinds for a in ("ingest", "read", "load")]
    results = {}
    for step in steps:
        results[step] = run_step(__file__, step, "--out", str(args.out))
        print_step(results[step])
    record(args.out, "database", {f"{k}_s": v["seconds"] for k, v in results.items()})
    print(f"\n{results['load-parquet']['events']:,} events")
    for kind in kinds:
        read, load = results[f"read-{kind}"], results[f"load-{kind}"]
        print(
            f"{kind}: load + validate {load['seconds']:.1f} s = "
            f"{load['seconds'] / results['load-parquet']['seconds']:.2f}x Parquet; "
            f"reading interactions grew memory by {read['read_mb']:,} MB, "
            f"{read['read_mb'] / results['read-parquet']['read_mb']:.2f}x reading it from Parquet"
        )
    if len(kinds) == 1:
        print("(set CXLAB_BENCH_POSTGRES_URI to include PostgreSQL)")


if __name__ == "__main__":
    main()
