"""Benchmark: journeys into churn and cohort tables on 1M customers (~10M events).

Uses the validated dataset of ``bench_journeys.py`` (made if missing). Each table is timed
in its own process; the cohort table's features are built first and not timed.

    python benchmarks/bench_churn_cohorts.py [--out /tmp/cxlab-bench]
"""

from __future__ import annotations

import time
from pathlib import Path

from _harness import arguments, current_mb, peak_mb, print_step, run_on_validated, scan_floor

STEPS = ("churned_vs_retained", "paths_into_churn", "anchored_flow", "cohort_retention", "lifecycle")


def _step(name: str, customers: int, out: Path) -> dict:
    import cxlab
    from cxlab import churn_journeys, cohorts

    validated = out / "validated"
    if name == "floor":
        start = time.perf_counter()
        events = scan_floor(validated)
        return {"step": name, "seconds": time.perf_counter() - start, "peak_mb": peak_mb(), "events": events}
    dataset = cxlab.load_dataset(validated)
    features = cxlab.build_features(dataset) if name == "cohort_retention" else None
    baseline = current_mb()
    start = time.perf_counter()
    if name == "cohort_retention":
        cohorts.cohort_retention(features)
    elif name == "lifecycle":
        cohorts.lifecycle(dataset)
    elif name == "anchored_flow":
        churn_journeys.anchored_flow(dataset, "support_team")
    else:
        getattr(churn_journeys, name)(dataset)
    seconds = time.perf_counter() - start
    return {
        "step": name,
        "seconds": seconds,
        "peak_mb": peak_mb(),
        "extra_mb": peak_mb() - baseline,
        "events": dataset.interactions.height,
    }


def main() -> None:
    args = arguments(__doc__, _step)
    if args is None:
        return
    results = {step: run_on_validated(__file__, step, args.out) for step in ("floor", *STEPS)}
    for r in results.values():
        print_step(r)
    floor = results["floor"]["seconds"]
    print(f"\n{results['floor']['events']:,} events; the floor (scan and count per customer) {floor:.2f} s")
    for step in STEPS:
        r = results[step]
        print(
            f"{step:<20} {r['seconds']:5.1f} s = {r['seconds'] / floor:5.1f}x the floor (target under 10 s)"
        )


if __name__ == "__main__":
    main()
