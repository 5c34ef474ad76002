"""Benchmark: the landmark Cox model and the retention difference on 1M customers.

Uses the validated dataset of ``bench_journeys.py`` (made if missing), with independent
exposures added to reach 30 (the generator plants 17). Features and archetypes are built
first and not timed; the Cox model (every exposure of the window, archetype and attributes,
with its proportional-hazards check) and the g-computation retention difference with its
delta-method intervals are, against lifelines' own ``CoxPHFitter`` fit of the same design
(the reference: its estimates must agree to 1e-6).

    python benchmarks/bench_impact.py [--out /tmp/cxlab-bench]
"""

from __future__ import annotations

import time
from pathlib import Path

from _harness import arguments, current_mb, peak_mb, record, run_on_validated


def _with_extra_exposures(landmark, total: int):
    """The generated data have fewer exposures than a real catalog; add independent ones
    (no effect, prevalence 5-50%) until there are ``total``, so the model has a realistic size."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(0)
    n, missing = landmark.data.height, total - len(landmark.exposures)
    extra = {f"exposed_extra_{i}": rng.random(n) < rng.uniform(0.05, 0.5) for i in range(missing)}
    landmark.data = landmark.data.with_columns(pl.Series(k, v) for k, v in extra.items())
    return landmark


def _step(name: str, customers: int, out: Path) -> dict:
    import cxlab
    from cxlab import retention

    features = cxlab.build_features(cxlab.load_dataset(out / "validated"))
    archetypes = cxlab.JourneyArchetypes(random_state=0).fit_assign(features)
    landmark = _with_extra_exposures(retention.landmark_data(features, archetypes=archetypes), 30)
    baseline = current_mb()
    start = time.perf_counter()
    cox = retention.touchpoint_hazard_ratios(landmark)
    cox_seconds = time.perf_counter() - start
    retention.retention_difference(cox)
    ours = time.perf_counter() - start
    from lifelines import CoxPHFitter

    start = time.perf_counter()
    reference = CoxPHFitter().fit(cox.design, "duration", "churned")
    lifelines_seconds = time.perf_counter() - start
    return {
        "customers": landmark.data.height,
        "covariates": len(cox.model.params_),
        "exposures": len(landmark.exposures),
        "cox_seconds": cox_seconds,
        "difference_seconds": ours - cox_seconds,
        "lifelines_fit_seconds": lifelines_seconds,
        "largest_difference_from_lifelines": float((cox.model.params_ - reference.params_).abs().max()),
        "peak_mb": peak_mb(),
        "extra_mb": peak_mb() - baseline,
    }


def main() -> None:
    args = arguments(__doc__, _step)
    if args is None:
        return
    r = run_on_validated(__file__, "impact", args.out)
    total = r["cox_seconds"] + r["difference_seconds"]
    ratio = total / r["lifelines_fit_seconds"]
    record(args.out, "impact", {**r, "total_seconds": total, "total_vs_lifelines_fit": round(ratio, 2)})
    print(f"{r['customers']:,} customers at the landmark, {r['exposures']} exposures, ", end="")
    print(f"{r['covariates']} covariates")
    print(f"Cox model with proportional-hazards check: {r['cox_seconds']:.1f} s")
    print(f"retention difference with delta-method intervals: {r['difference_seconds']:.1f} s")
    print(f"together: {total:.1f} s = {ratio:.1f}x lifelines' own fit of the same design", end="")
    gap = r["largest_difference_from_lifelines"]
    print(f" ({r['lifelines_fit_seconds']:.1f} s; the estimates differ by at most {gap:.1e})")
    print(f"peak memory {r['peak_mb']:,} MB, +{r['extra_mb']:,} MB over the landmark data")


if __name__ == "__main__":
    main()
