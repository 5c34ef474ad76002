"""Benchmark: journeys into churn and cohort tables on 1M customers (~10M events).

Uses the validated dataset of ``bench_journeys.py`` (made if missing). Each table is timed
in its own process; the cohort table's features are built first and not timed.

    python benchmarks/bench_churn_cohorts.py [--out /tmp/cxlab-bench]
"""

from __future__ import annotations

from pathlib import Path

from _harness import arguments, print_step, record, run_on_validated, scan_floor, timed

STEPS = ("churned_vs_retained", "paths_into_churn", "anchored_flow", "cohort_retention", "lifecycle")


def _step(name: str, customers: int, out: Path) -> dict:
    import cxlab
    from cxlab import churn_journeys, cohorts

    validated = out / "validated"
    if name == "floor":
        with timed(name) as r:
            r["events"] = scan_floor(validated)
        return r
    dataset = cxlab.load_dataset(validated)
    features = cxlab.build_features(dataset) if name == "cohort_retention" else None
    with timed(name, events=dataset.interactions.height) as r:
        if name == "cohort_retention":
            cohorts.cohort_retention(features)
        elif name == "lifecycle":
            cohorts.lifecycle(dataset)
        elif name == "anchored_flow":
            churn_journeys.anchored_flow(dataset, "support_team")
        else:
            getattr(churn_journeys, name)(dataset)
    return r


def main() -> None:
    args = arguments(__doc__, _step)
    if args is None:
        return
    results = {step: run_on_validated(__file__, step, args.out) for step in ("floor", *STEPS)}
    for r in results.values():
        print_step(r)
    floor = results["floor"]["seconds"]
    record(args.out, "churn_cohorts", {f"{k}_s": v["seconds"] for k, v in results.items()})
    print(f"\n{results['floor']['events']:,} events; the floor (scan and count per customer) {floor:.2f} s")
    for step in STEPS:
        r = results[step]
        print(
            f"{step:<20} {r['seconds']:5.1f} s = {r['seconds'] / floor:5.1f}x the floor (target under 10 s)"
        )


if __name__ == "__main__":
    main()
