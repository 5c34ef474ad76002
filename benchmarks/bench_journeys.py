"""Benchmark: journey features and journey-map tables on 1M customers (~10M events).

Uses the Parquet dataset of ``bench_generate.py`` (made here if missing), validated once and
saved, so that each table step below times its own work; ``+`` is the peak above the loaded
dataset. Two steps are timed all in, from a fresh interpreter to the answer, as a user
waits for them: the transition matrix from the raw files through cxlab (import, load and
validate, transitions), and the same counts by an idiomatic polars pipeline with no checks.

    python benchmarks/bench_journeys.py [--customers 1000000] [--out /tmp/cxlab-bench]
"""

from __future__ import annotations

from pathlib import Path

from _harness import arguments, ensure_dataset, print_step, record, run_step, scan_floor, timed

MAP_TABLES = ("journey_paths", "stage_funnel", "transitions", "friction_points", "stage_flows")


def _polars_transitions(directory: Path):
    """The transition counts as a polars user would write them (no validation)."""
    import polars as pl

    events = pl.scan_parquet(directory / "interactions.parquet").sort("customer_id", "timestamp")
    following = pl.col("touchpoint").shift(-1).over("customer_id")
    pairs = events.select(pl.col("touchpoint").alias("from"), following.alias("to")).drop_nulls()
    return pairs.group_by("from", "to").len().collect()


def _step(name: str, customers: int, out: Path) -> dict:
    with timed(name) as r:  # "all in" steps: the imports count
        if name == "transitions_all_in":
            import cxlab
            from cxlab import journey_map

            journey_map.transitions(cxlab.load_dataset(out))
        elif name == "polars_transitions":
            _polars_transitions(out)
        elif name == "floor":
            r["events"] = scan_floor(out / "validated")
    if name in ("transitions_all_in", "polars_transitions", "floor"):
        return r
    import cxlab
    from cxlab import journey_map

    if name == "prepare":
        cxlab.load_dataset(out).save(out / "validated")
        return {"step": name}
    dataset = cxlab.load_dataset(out / "validated")
    with timed(name, events=dataset.interactions.height) as r:
        cxlab.build_features(dataset) if name == "features" else getattr(journey_map, name)(dataset)
    return r


def main() -> None:
    args = arguments(__doc__, _step)
    if args is None:
        return
    ensure_dataset(args.out, args.customers)
    run_step(__file__, "prepare", "--out", str(args.out))
    r = {}
    for step in ("floor", "features", *MAP_TABLES, "transitions_all_in", "polars_transitions"):
        r[step] = run_step(__file__, step, "--out", str(args.out))
        print_step(r[step])
    figures = {
        "events": r["floor"]["events"],
        "floor_s": r["floor"]["seconds"],
        "features_s": r["features"]["seconds"],
        "features_vs_floor": round(r["features"]["seconds"] / r["floor"]["seconds"], 1),
        "map_tables_s": round(sum(r[t]["seconds"] for t in MAP_TABLES), 2),
        "transitions_all_in_s": r["transitions_all_in"]["seconds"],
        "polars_transitions_s": r["polars_transitions"]["seconds"],
        "transitions_vs_polars": round(
            r["transitions_all_in"]["seconds"] / r["polars_transitions"]["seconds"], 2
        ),
        "peak_mb": max(x["peak_mb"] for x in r.values()),
    }
    record(args.out, "journeys", figures)
    print(f"\n{figures['events']:,} events")
    print(f"build_features: {figures['features_s']:.1f} s = {figures['features_vs_floor']}x the floor")
    print(f"journey-map tables, all five: {figures['map_tables_s']:.1f} s")
    print(
        f"transition matrix from the files, all in: {figures['transitions_all_in_s']:.1f} s "
        f"= {figures['transitions_vs_polars']}x an unchecked polars pipeline"
    )


if __name__ == "__main__":
    main()
