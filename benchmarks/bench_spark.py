"""Benchmark: validation + journey features on Spark (local[1], local[2]) vs. one machine.

The same 1M-customer dataset (~11.6M events, Parquet, written by bench_generate.py when
missing); each step runs in its own process. The Spark steps time ``cxlab.spark.validate``
and ``cxlab.spark.build_features`` (features written to Parquet, so every group really
runs), without the session start-up, which is reported apart. Needs ``cxlab[spark]`` and Java.

    python benchmarks/bench_spark.py [--customers 1000000] [--out /tmp/cxlab-bench]
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

from _harness import arguments, ensure_dataset, peak_mb, print_step, record, run_step, timed

TABLES = ("interactions", "customers", "surveys")


def _step(name: str, customers: int, out: Path) -> dict:
    if name == "one-machine":
        from cxlab import build_features, load_dataset

        with timed(name) as r:
            dataset = load_dataset(out)
            build_features(dataset)
            r["events"] = dataset.interactions.height
        return r
    return _spark_step(name, out)


def _spark_step(name: str, out: Path) -> dict:
    from pyspark.sql import SparkSession

    from cxlab import spark as cxspark

    os.environ["PYSPARK_PYTHON"] = sys.executable
    start = time.perf_counter()
    spark = (
        SparkSession.builder.master(name.removeprefix("spark-"))
        .config("spark.driver.memory", "8g")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    startup = time.perf_counter() - start
    start = time.perf_counter()
    raw = [spark.read.parquet(str(out / f"{t}.parquet")) for t in TABLES]
    data = cxspark.validate(*raw)
    features = cxspark.build_features(
        data.interactions, data.customers, data.surveys, observation_end=data.observation_end
    )
    target = out / "spark-features"
    shutil.rmtree(target, ignore_errors=True)
    features.write.parquet(str(target))
    seconds = time.perf_counter() - start
    events = int(data.report().filter(table="interactions")["rows_loaded"][0])
    spark.stop()
    return {"step": name, "seconds": round(seconds, 2), "peak_mb": peak_mb(), "events": events,
            "startup": round(startup, 1)}  # fmt: skip


def main() -> None:
    args = arguments(__doc__, _step)
    if args is None:
        return
    ensure_dataset(args.out, args.customers)
    results = {}
    for step in ("one-machine", "spark-local[1]", "spark-local[2]"):
        results[step] = run_step(__file__, step, "--out", str(args.out))
        print_step(results[step])
    one, s1, s2 = (results[s]["seconds"] for s in ("one-machine", "spark-local[1]", "spark-local[2]"))
    record(args.out, "spark", {f"{k}_s": v["seconds"] for k, v in results.items()})
    print(f"\nSpark session start-up: {results['spark-local[2]']['startup']} s (not counted above)")
    print(f"Spark local[2] / one machine: {s2 / one:.1f}x the time (overhead ratio)")
    print(f"Spark local[1] -> local[2]: {s1 / s2:.2f}x faster with the second core")
    print("peak memory of the Spark steps is the driver process only (executors' Python workers not counted)")


if __name__ == "__main__":
    main()
