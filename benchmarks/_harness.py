"""What every benchmark shares: run each step in a fresh process (so its peak memory is its
own), time it, print one line per step and record the figures in ``OUT/figures.json``,
which ``summary.py`` (``make bench``) turns into one table with the targets and ratios."""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

FIGURES = "figures.json"


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


@contextmanager
def timed(step: str, **figures):
    """Time the block; yields the figures dict, filled with ``step``, ``seconds``, ``peak_mb``
    (of the process) and ``extra_mb`` (peak above the memory in use when the block began)."""
    baseline = current_mb()
    start = time.perf_counter()
    result = {"step": step, **figures}
    yield result
    result.update(seconds=round(time.perf_counter() - start, 3), peak_mb=peak_mb())
    result["extra_mb"] = result["peak_mb"] - baseline


def run_step(script: str, step: str, *args: str, env: dict | None = None) -> dict:
    """Run ``script --step STEP ARGS`` in a new interpreter; return the JSON it prints last,
    with ``tree_peak_mb``: the peak of the summed memory of it and every process it starts."""
    command = [sys.executable, script, "--step", step, *args]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}
    )
    peak = _sample_tree(proc)
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        sys.exit(f"benchmark step {step!r} failed:\n{stderr}")
    return {**json.loads(stdout.strip().splitlines()[-1]), "tree_peak_mb": peak()}


def _sample_tree(proc: subprocess.Popen, every: float = 0.2):
    """Sample the resident memory of ``proc`` and its descendants until it ends; returns a
    function giving the largest sum seen, in MB."""
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_kb(proc.pid) // 1024)
            time.sleep(every)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()

    def result() -> int:
        thread.join()
        return peak[0]

    return result


def _tree_kb(root: int) -> int:
    """Resident kB of ``root`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") // 1024
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def record(out: Path, bench: str, figures: dict) -> None:
    """Merge ``figures`` into ``out/figures.json`` under ``bench`` (machine-readable; one file
    for every benchmark, read by ``summary.py``)."""
    path = out / FIGURES
    path.parent.mkdir(parents=True, exist_ok=True)
    table = json.loads(path.read_text()) if path.exists() else {}
    table[bench] = {**figures, "measured_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    path.write_text(json.dumps(table, indent=2) + "\n")


def ensure_dataset(out: Path, customers: int) -> None:
    """Write the synthetic dataset as Parquet into ``out`` unless it is there already."""
    if not (out / "interactions.parquet").exists():
        generate = str(Path(__file__).with_name("bench_generate.py"))
        run_step(generate, "write", "--customers", str(customers), "--out", str(out))


def run_on_validated(script: str, step: str, out: Path) -> dict:
    """Run a step that reads ``out/validated`` (the saved 1M-customer dataset), making it first."""
    if not (out / "validated").exists():
        ensure_dataset(out, 1_000_000)
        run_step(str(Path(__file__).with_name("bench_journeys.py")), "prepare", "--out", str(out))
    return run_step(script, step, "--out", str(out))


def scan_floor(directory: Path) -> int:
    """The floor every step is compared with: scan the events and count them per customer."""
    import polars as pl

    per_customer = pl.scan_parquet(directory / "interactions.parquet").group_by("customer_id").len()
    return per_customer.select(pl.col("len").sum()).collect().item()


def print_step(r: dict) -> None:
    """One line per step: time, peak memory and, when it has events, event throughput."""
    rate = f"  {r['events'] / max(r['seconds'], 1e-9) / 1e6:>6.2f} M events/s" if r.get("events") else ""
    extra = f"  (+{r['extra_mb']:,} MB over its input)" if r.get("extra_mb") else ""
    print(f"{r['step']:<22} {r['seconds']:>7.2f} s  peak {r['peak_mb']:>6,} MB{rate}{extra}")
