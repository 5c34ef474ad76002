"""Benchmark: generate 1M synthetic customers (~10M events), write them, load them back.

Each step runs in its own process so its peak memory is its own. Prints wall time, peak
resident memory and events per second, plus the ratio of validation to a plain Parquet
scan (the floor: reading the same files and counting events per customer).

    python benchmarks/bench_generate.py [--customers 1000000] [--out /tmp/cxlab-bench]
"""

from __future__ import annotations

import time
from pathlib import Path

from _harness import arguments, peak_mb, print_step, run_step, scan_floor


def _step(name: str, customers: int, out: Path) -> dict:
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
        events = scan_floor(out)
    else:  # load
        from cxlab import load_dataset

        events = load_dataset(out).interactions.height
    seconds = time.perf_counter() - start
    return {"step": name, "seconds": round(seconds, 2), "peak_mb": peak_mb(), "events": events}


def main() -> None:
    args = arguments(__doc__, _step)
    if args is None:
        return
    results = {}
    for step in ("generate", "write", "floor", "load"):
        results[step] = run_step(__file__, step, "--customers", str(args.customers), "--out", str(args.out))
        print_step(results[step])
    print(f"\n{args.customers:,} customers, {results['generate']['events']:,} events")
    print(f"generate: {results['generate']['seconds']:.1f} s (target < 60 s)")
    print(
        f"load + validate vs. floor (scan + count per customer): "
        f"{results['load']['seconds'] / results['floor']['seconds']:.1f}x"
    )


if __name__ == "__main__":
    main()
