"""Run each benchmark step in a fresh process, so its peak memory is its own."""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path


def arguments(doc: str, step) -> argparse.Namespace | None:
    """Parse the command line; in a step's own process run ``step(name, customers, out)``,
    print its result as JSON and return None."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path("/tmp/cxlab-bench"))
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.step:
        return args
    print(json.dumps(step(args.step, args.customers, args.out)))
    return None


def peak_mb() -> int:
    """Peak resident memory of this process so far, in MB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def current_mb() -> int:
    """Resident memory of this process now, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024)
    return 0


def run_step(script: str, step: str, *args: str) -> dict:
    """Run ``script --step STEP ARGS`` in a new interpreter; return the JSON it prints last."""
    command = [sys.executable, script, "--step", step, *args]
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"benchmark step {step!r} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def ensure_dataset(out: Path, customers: int) -> None:
    """Write the synthetic dataset as Parquet into ``out`` unless it is there already."""
    if not (out / "interactions.parquet").exists():
        generate = str(Path(__file__).with_name("bench_generate.py"))
        run_step(generate, "write", "--customers", str(customers), "--out", str(out))


def run_on_validated(script: str, step: str, out: Path) -> dict:
    """Run a step that reads ``out/validated`` (the saved 1M-customer dataset), making it first."""
    if not (out / "validated").exists():
        run_step(str(Path(__file__).with_name("bench_journeys.py")), "prepare", "--out", str(out))
    return run_step(script, step, "--out", str(out))


def scan_floor(directory: Path) -> int:
    """The floor every step is compared with: scan the events and count them per customer."""
    import polars as pl

    per_customer = pl.scan_parquet(directory / "interactions.parquet").group_by("customer_id").len()
    return per_customer.select(pl.col("len").sum()).collect().item()


def print_step(r: dict) -> None:
    """One line per step: time, peak memory and event throughput."""
    rate = r["events"] / max(r["seconds"], 1e-9) / 1e6
    extra = f"  (+{r['extra_mb']:,} MB over its input)" if "extra_mb" in r else ""
    print(
        f"{r['step']:<16} {r['seconds']:>6.2f} s  peak {r['peak_mb']:>6,} MB  {rate:>6.2f} M events/s{extra}"
    )
