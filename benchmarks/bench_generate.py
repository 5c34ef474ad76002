"""Benchmark: generate 1M synthetic customers (~10M events), write them, load them back.

Each step runs in its own process so its peak memory is its own. Prints wall time, peak
resident memory and events per second, plus the ratio of validation to a plain Parquet
scan (the floor: reading the same files and counting events per customer).

    python benchmarks/bench_generate.py [--customers 1000000] [--out /tmp/cxlab-bench]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def _step(name: str, customers: int, out: Path) -> dict:
    import polars as pl

    start = time.perf_counter()
    if name == "generate":
        from cxlab.synthetic import make_journeys

        data = make_journeys(customers, random_state=0)
        events = data.dataset.interactions.height
    elif name == "write":
        from cxlab.synthetic import make_journeys

        data = make_journeys(customers, random_state=0)
        start = time.perf_counter()  # time the writing only
        data.write(out, file_format="parquet")
        events = data.dataset.interactions.height
    elif name == "floor":
        events = (
            pl.scan_parquet(out / "interactions.parquet")
            .group_by("customer_id")
            .len()
            .select(pl.col("len").sum())
            .collect()
            .item()
        )
    else:  # load
        from cxlab import load_dataset

        events = load_dataset(out).interactions.height
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"step": name, "seconds": round(seconds, 2), "peak_mb": round(peak_mb), "events": events}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path("/tmp/cxlab-bench"))
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(_step(args.step, args.customers, args.out)))
        return
    results = {}
    for step in ("generate", "write", "floor", "load"):
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--step",
                step,
                "--customers",
                str(args.customers),
                "--out",
                str(args.out),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        results[step] = r
        print(
            f"{step:<9} {r['seconds']:>7.2f} s  peak {r['peak_mb']:>6,} MB  "
            f"{r['events'] / max(r['seconds'], 1e-9) / 1e6:>6.2f} M events/s  ({r['events']:,} events)"
        )
    print(f"\n{args.customers:,} customers, {results['generate']['events']:,} events")
    print(f"generate: {results['generate']['seconds']:.1f} s (target < 60 s)")
    print(
        f"load + validate vs. floor (scan + count per customer): "
        f"{results['load']['seconds'] / results['floor']['seconds']:.1f}x"
    )


if __name__ == "__main__":
    main()
