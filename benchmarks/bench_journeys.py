"""Benchmark: journey features and journey-map tables on 1M customers (~10M events).

Uses the Parquet dataset of ``bench_generate.py`` (made here if missing), validated once and
saved, so that each step below times its own work. Each step runs in its own process;
``peak`` is the process's peak memory, ``+`` the part above the loaded dataset.

    python benchmarks/bench_journeys.py [--customers 1000000] [--out /tmp/cxlab-bench]
"""

from __future__ import annotations

import time
from pathlib import Path

from _harness import arguments, current_mb, peak_mb, print_step, run_step, scan_floor

MAP_TABLES = ("journey_paths", "stage_funnel", "transitions", "friction_points", "stage_flows")


def _step(name: str, customers: int, out: Path) -> dict:
    import cxlab
    from cxlab import journey_map

    validated = out / "validated"
    if name == "prepare":
        if not (out / "interactions.parquet").exists():
            from cxlab.synthetic import make_journeys

            make_journeys(customers, random_state=0).write(out, file_format="parquet")
        cxlab.load_dataset(out).save(validated)
        return {"step": name, "seconds": 0.0, "peak_mb": peak_mb(), "events": 0}
    if name == "floor":
        start = time.perf_counter()
        events = scan_floor(validated)
        return {"step": name, "seconds": time.perf_counter() - start, "peak_mb": peak_mb(), "events": events}
    dataset = cxlab.load_dataset(validated)
    baseline = current_mb()
    start = time.perf_counter()
    if name == "features":
        cxlab.build_features(dataset)
    else:
        getattr(journey_map, name)(dataset)
    seconds = time.perf_counter() - start
    events = dataset.interactions.height
    return {
        "step": name,
        "seconds": seconds,
        "peak_mb": peak_mb(),
        "extra_mb": peak_mb() - baseline,
        "events": events,
    }


def main() -> None:
    args = arguments(__doc__, _step)
    if args is None:
        return
    run_step(__file__, "prepare", "--customers", str(args.customers), "--out", str(args.out))
    results = {}
    for step in ("floor", "features", *MAP_TABLES):
        results[step] = run_step(__file__, step, "--out", str(args.out))
        print_step(results[step])
    floor, features = results["floor"], results["features"]
    map_seconds = sum(results[t]["seconds"] for t in MAP_TABLES)
    peak = max(r["peak_mb"] for r in results.values())
    print(f"\n{floor['events']:,} events")
    ratio = features["seconds"] / floor["seconds"]
    print(f"build_features: {features['seconds']:.1f} s = {ratio:.1f}x the floor (targets: 4x, 30 s)")
    print(f"journey-map tables, all five: {map_seconds:.1f} s (target under 30 s)")
    print(f"peak memory of any step: {peak:,} MB (target under 6,000 MB)")


if __name__ == "__main__":
    main()
