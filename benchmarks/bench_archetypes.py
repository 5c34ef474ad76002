"""Benchmark: journey archetypes on 1M customers, all in, from a fresh interpreter: import,
load and validate the Parquet files, build the features, fit ``JourneyArchetypes`` and assign
everyone. With six archetypes and with ``n_archetypes="auto"`` (choice of k on a
10,000-customer sample by bootstrap stability), in three interleaved pairs: the machine's
speed drifts by 30% within minutes here, so the ratio of the fits is the median of the pairs'
ratios, each pair measured back to back; the fit alone is reported beside each.

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
        model = cxlab.JourneyArchetypes(6 if name == "six" else "auto", random_state=0)
        model.fit_assign(features)
        r.update(
            fit_s=round(time.perf_counter() - start, 2), customers=features.height, k=model.n_archetypes_
        )
    return r


def main() -> None:
    args = arguments(__doc__, _step)
    if args is None:
        return
    ensure_dataset(args.out, args.customers)
    pairs = [
        {step: run_step(__file__, step, "--out", str(args.out)) for step in ("six", "auto")} for _ in range(3)
    ]
    for pair in pairs:
        for step in pair.values():
            print_step(step)
    ratios = sorted(p["auto"]["fit_s"] / p["six"]["fit_s"] for p in pairs)
    six, auto = (sorted((p[s] for p in pairs), key=lambda r: r["seconds"])[1] for s in ("six", "auto"))
    figures = {
        "customers": six["customers"],
        "six_all_in_s": six["seconds"],
        "six_fit_s": six["fit_s"],
        "auto_all_in_s": auto["seconds"],
        "auto_fit_s": auto["fit_s"],
        "auto_k": auto["k"],
        "auto_fit_vs_six_fit": round(ratios[1], 2),
        "auto_fit_vs_six_fit_range": [round(ratios[0], 2), round(ratios[-1], 2)],
        "peak_mb": max(p[s]["peak_mb"] for p in pairs for s in p),
    }
    record(args.out, "archetypes", figures)
    print(
        f"\nfeatures + six archetypes on {six['customers']:,} customers, all in (median of 3): "
        f"{six['seconds']:.1f} s"
    )
    print(
        f"with n_archetypes='auto' (chose {auto['k']}): fit {figures['auto_fit_vs_six_fit']}x the fixed fit "
        f"(median of 3 interleaved pairs; {ratios[0]:.2f}-{ratios[-1]:.2f})"
    )


if __name__ == "__main__":
    main()
