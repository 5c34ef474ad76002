"""Benchmark: fit JourneyArchetypes (n_archetypes="auto") on 1M customers.

Uses the validated dataset of ``bench_journeys.py`` (made if missing). The features are
built first and not timed; the fit (choice of k on a 10,000-customer sample with bootstrap
stability, final k-means on 200,000, assignment of everyone) is.

    python benchmarks/bench_archetypes.py [--out /tmp/cxlab-bench]
"""

from __future__ import annotations

import time
from pathlib import Path

from _harness import arguments, current_mb, peak_mb, run_on_validated


def _step(name: str, customers: int, out: Path) -> dict:
    import cxlab

    features = cxlab.build_features(cxlab.load_dataset(out / "validated"))
    baseline = current_mb()
    start = time.perf_counter()
    model = cxlab.JourneyArchetypes(random_state=0).fit(features)
    seconds = time.perf_counter() - start
    return {
        "step": name,
        "seconds": seconds,
        "peak_mb": peak_mb(),
        "extra_mb": peak_mb() - baseline,
        "customers": features.height,
        "k": model.n_archetypes_,
        "stability": model.stability_,
    }


def main() -> None:
    args = arguments(__doc__, _step)
    if args is None:
        return
    r = run_on_validated(__file__, "fit", args.out)
    print(f"JourneyArchetypes.fit on {r['customers']:,} customers: {r['seconds']:.1f} s (target under 60 s)")
    print(f"  chose k={r['k']} (bootstrap stability {r['stability']:.2f})")
    print(f"  peak memory {r['peak_mb']:,} MB, +{r['extra_mb']:,} MB over the feature table")


if __name__ == "__main__":
    main()
