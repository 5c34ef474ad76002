"""One table of the benchmark figures (``OUT/figures.json``, written by the bench scripts)
against their targets, with the ratio of each figure to its target (at most 1 meets it).

    python benchmarks/summary.py [--out /tmp/cxlab-bench]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from _harness import FIGURES

# (bench, figure, what it is, target, unit): the targets of issue #21, on a 2-core machine.
TARGETS = [
    ("generate", "load_s", "load + validate 10M events from Parquet", 4, "s"),
    ("generate", "load_vs_floor", "  the same / read floor (read the files + count per customer)", 6, "x"),
    ("generate", "load_peak_vs_frames", "  its peak memory / the frames it returns", 2, "x"),
    ("archetypes", "six_all_in_s", "features + 6 archetypes, all in", 13, "s"),
    ("archetypes", "auto_fit_vs_six_fit", "  fit with n_archetypes='auto' / fit with 6", 1.5, "x"),
    ("archetypes", "peak_mb", "  peak memory", 2500, "MB"),
    ("journeys", "transitions_all_in_s", "transition matrix from the files, all in", 6, "s"),
    ("impact", "total_vs_lifelines_fit", "Cox + PH check + retention difference / lifelines fit", 2, "x"),
    ("impact", "largest_difference_from_lifelines", "  largest difference of the estimates", 1e-6, ""),
    ("run", "million_seconds", "cxlab run, 1M customers", 120, "s"),
    ("run", "million_tree_peak_mb", "  peak memory of runner and kernels", 4000, "MB"),
    ("run", "sample_seconds", "cxlab run, the 20,000-customer sample", 40, "s"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("/tmp/cxlab-bench"))
    path = parser.parse_args().out / FIGURES
    figures = json.loads(path.read_text()) if path.exists() else {}
    print(f"{'figure':<58} {'measured':>10} {'target':>9} {'ratio':>6}")
    for bench, key, label, target, unit in TARGETS:
        value = figures.get(bench, {}).get(key)
        if value is None:
            print(f"{label:<58} {'not run':>10} {_show(target, unit):>9}")
            continue
        ratio = value / target
        mark = "" if ratio <= 1 else "  above"
        print(f"{label:<58} {_show(value, unit):>10} {_show(target, unit):>9} {ratio:>6.2f}{mark}")
    print(f"\nfigures: {path}")


def _show(value: float, unit: str) -> str:
    if unit == "":
        return f"{value:.0e}"
    return f"{value:,.0f} {unit}" if unit == "MB" else f"{value:.1f} {unit}"


if __name__ == "__main__":
    main()
