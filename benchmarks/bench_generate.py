"""Benchmark: generate 1M synthetic customers (~10M events), write them, load them back.

Each step runs in its own process so its peak memory is its own. Prints wall time, peak
resident memory and events per second, plus the ratio of loading and validating to the read
floor (reading every column of the same files and counting events per customer; the scan of
the id column alone that the other benchmarks compare with is shown too), and the load's peak
memory against the size of the frames it returns.

    python benchmarks/bench_generate.py [--customers 1000000] [--out /tmp/cxlab-bench]
"""

from __future__ import annotations

from pathlib import Path

from _harness import arguments, print_step, record, run_step, scan_floor, timed


def _step(name: str, customers: int, out: Path) -> dict:
    from cxlab.synthetic import make_journeys

    if name == "write":
        data = make_journeys(customers, random_state=0)
        with timed(name, events=data.dataset.interactions.height) as r:  # the writing only
            data.write(out, file_format="parquet")
        return r
    with timed(name) as r:
        if name == "generate":
            r["events"] = make_journeys(customers, random_state=0).dataset.interactions.height
        elif name == "scan":
            r["events"] = scan_floor(out)
        elif name == "read":
            r["events"] = _read_floor(out)
        else:  # load and validate
            from cxlab import load_dataset

            dataset = load_dataset(out)
            r["events"] = dataset.interactions.height
    frames = (dataset.interactions, dataset.customers, dataset.surveys) if name == "load" else ()
    r["frames_mb"] = round(sum(_buffer_bytes(f) for f in frames) / 2**20)
    return r


def _read_floor(out: Path) -> int:
    """Read every column of the three files, as the load must, and count events per customer."""
    import polars as pl

    for table in ("customers", "surveys"):
        pl.read_parquet(out / f"{table}.parquet")
    events = pl.read_parquet(out / "interactions.parquet")
    return events.group_by("customer_id").len()["len"].sum()


def _buffer_bytes(frame) -> int:
    """The bytes of ``frame``'s buffers. polars' ``estimated_size`` counts a text column's
    characters but not its 16-byte views: 650 MB for 10M events that hold 1,066 MB."""
    import polars as pl

    return frame.to_arrow(compat_level=pl.CompatLevel.newest()).get_total_buffer_size()


def main() -> None:
    args = arguments(__doc__, _step)
    if args is None:
        return
    r = {}
    for step in ("generate", "write", "scan", "read", "load"):
        r[step] = run_step(__file__, step, "--customers", str(args.customers), "--out", str(args.out))
        print_step(r[step])
    load, floor = r["load"], r["read"]
    figures = {
        "customers": args.customers,
        "events": load["events"],
        "generate_s": r["generate"]["seconds"],
        "floor_s": floor["seconds"],
        "scan_s": r["scan"]["seconds"],
        "load_s": load["seconds"],
        "load_vs_floor": round(load["seconds"] / floor["seconds"], 1),
        "load_vs_scan": round(load["seconds"] / r["scan"]["seconds"], 1),
        "load_peak_mb": load["peak_mb"],
        "frames_mb": load["frames_mb"],
        "load_peak_vs_frames": round(load["peak_mb"] / max(load["frames_mb"], 1), 2),
    }
    record(args.out, "generate", figures)
    print(f"\n{args.customers:,} customers, {load['events']:,} events")
    print(
        f"load + validate: {load['seconds']:.1f} s = {figures['load_vs_floor']}x the read floor, "
        f"{figures['load_vs_scan']}x the scan of the ids"
    )
    print(
        f"its peak memory: {load['peak_mb']:,} MB = {figures['load_peak_vs_frames']}x the frames it returns"
    )


if __name__ == "__main__":
    main()
