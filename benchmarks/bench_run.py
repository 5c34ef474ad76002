"""Benchmark: the full ``cxlab run`` (every notebook, HTML included) on the built-in sample
(~20,000 customers) and on 1M customers, with the time of each notebook; then the run that
starts from the 1M run's per-customer tables (``cxlab run --features``, as after Spark).
The peak memory is the largest sum over the runner and every kernel it starts, sampled.

    python benchmarks/bench_run.py [--customers 1000000] [--out /tmp/cxlab-bench]

The 1M dataset is the Parquet one of ``bench_generate.py`` (made here if missing).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from _harness import arguments, record, run_step

ROOT = Path(__file__).resolve().parents[1]
RUNS = Path("/tmp/cxlab-bench-runs")


def _per_customer_tables(run: Path, target: Path) -> Path:
    """What ``cxlab.spark.write_for_run`` would write, taken from a finished run."""
    import polars as pl

    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    shutil.copy(run / "tables" / "customer_features.parquet", target)
    pl.read_csv(run / "tables" / "archetypes.csv").write_parquet(target / "archetypes.parquet")
    for name in ("surveys", "touchpoints"):
        shutil.copy(run / "dataset" / f"{name}.parquet", target)
    return target


def _step(name: str, customers: int, out: Path) -> dict:
    from cxlab.report import run_analysis
    from cxlab.synthetic import make_journeys

    data = ROOT / "data" / "sample" if name == "sample" else out
    if name == "per-customer":
        data = _per_customer_tables(RUNS / "million", RUNS.with_name("cxlab-bench-per-customer"))
    elif not (data / "interactions.csv").exists() and not (data / "interactions.parquet").exists():
        make_journeys(20_000 if name == "sample" else customers, random_state=0).write(
            data, file_format="csv" if name == "sample" else "parquet"
        )
    target = RUNS / name
    shutil.rmtree(target, ignore_errors=True)
    start = time.perf_counter()
    result = run_analysis(data, target, from_features=name == "per-customer")
    seconds = time.perf_counter() - start
    manifest = json.loads((target / "manifest.json").read_text())
    notebooks = {n["name"]: n["seconds"] for n in manifest["notebooks"]}
    return {
        "step": name,
        "status": result.status,
        "seconds": seconds,
        "notebooks": notebooks,
    }


def main() -> None:
    args = arguments(__doc__, _step)
    if args is None:
        return
    r = {}
    for name in ("sample", "million", "per-customer"):
        r[name] = run_step(__file__, name, "--customers", str(args.customers), "--out", str(args.out))
        print(f"{name}: {r[name]['status']} in {r[name]['seconds']:.0f} s, ", end="")
        print(f"peak {r[name]['tree_peak_mb']:,} MB (runner and kernels)")
        for notebook, seconds in r[name]["notebooks"].items():
            print(f"  {notebook:<32} " + ("skipped" if seconds is None else f"{seconds:>7.1f} s"))
    figures = {f"{name}_{k}": v[k] for name, v in r.items() for k in ("status", "seconds", "tree_peak_mb")}
    figures |= {"notebooks": {name: v["notebooks"] for name, v in r.items()}}
    record(args.out, "run", figures)
    ratio = r["per-customer"]["seconds"] / r["million"]["seconds"]
    print(f"run from the per-customer tables / run from the raw tables (1M customers): {ratio:.2f}")


if __name__ == "__main__":
    main()
