"""Benchmark: journey archetypes on 1M customers, all in, from a fresh interpreter: import,
load and validate the Parquet files, build the features, fit ``JourneyArchetypes`` and assign
everyone. Once with six archetypes, once with ``n_archetypes="auto"`` (choice of k on a
10,000-customer sample by bootstrap stability); the fit alone is reported beside each.

    python benchmarks/bench_archetypes.py [--out /tmp/cxlab-bench]
"""

from __future__ import annotations

import time
from pathlib import Path

from _harness import arguments, ensure_dataset, print_step, record, run_step, timed


def _step(name: str, customers: int, out: Path) -> dict:
    with timed(name) as r:
        import cxlab

        features = cxlab.build_features(cxlab.load_dataset(out))
        start = time.perf_counter()
        model = cxlab.JourneyArchetypes(6 if name == "six" else "auto", random_state=0).fit(features)
        model.assign(features)
        r.update(
            fit_s=round(time.perf_counter() - start, 2), customers=features.height, k=model.n_archetypes_
        )
    return r


def main() -> None:
    args = arguments(__doc__, _step)
    if args is None:
        return
    ensure_dataset(args.out, args.customers)
    r = {step: run_step(__file__, step, "--out", str(args.out)) for step in ("six", "auto")}
    for step in r.values():
        print_step(step)
    six, auto = r["six"], r["auto"]
    figures = {
        "customers": six["customers"],
        "six_all_in_s": six["seconds"],
        "six_fit_s": six["fit_s"],
        "auto_all_in_s": auto["seconds"],
        "auto_fit_s": auto["fit_s"],
        "auto_k": auto["k"],
        "auto_fit_vs_six_fit": round(auto["fit_s"] / six["fit_s"], 2),
        "peak_mb": max(six["peak_mb"], auto["peak_mb"]),
    }
    record(args.out, "archetypes", figures)
    print(f"\nfeatures + six archetypes on {six['customers']:,} customers, all in: {six['seconds']:.1f} s")
    print(
        f"with n_archetypes='auto' (chose {auto['k']}): fit {figures['auto_fit_vs_six_fit']}x the fixed fit"
    )


if __name__ == "__main__":
    main()
