"""Which criterion chooses the number of archetypes well? Evidence for JourneyArchetypes.

On data generated with :data:`cxlab.synthetic.OVERLAPPING_DESIGN` (five archetypes, two of
them alike), for several seeds, on whole-history and landmark features, this script scores
k = 2..8 by four criteria on the representation the archetypes are fitted on:

* silhouette (highest, among solutions whose bootstrap adjusted Rand index is >= 0.8: the
  rule of the first version),
* stability (the largest k whose least stable archetype has a bootstrap Jaccard >= 0.75: the
  rule of :class:`cxlab.JourneyArchetypes`),
* a Gaussian mixture's BIC (diagonal covariances, lowest),
* the gap statistic (Tibshirani et al. 2001: the smallest k with gap(k) >= gap(k+1) - s(k+1)),

and prints each criterion's choice with the adjusted Rand index of its k-means solution.

    python scripts/compare_k_criteria.py [--seeds 0 1 2 3] [--customers 6000] [--design sample]
"""

from __future__ import annotations

import argparse

import numpy as np
import polars as pl
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture

from cxlab import JourneyArchetypes, build_features
from cxlab.archetypes import _score_k
from cxlab.journeys import landmark_features
from cxlab.synthetic import DESIGN, OVERLAPPING_DESIGN, make_journeys

KS = range(2, 9)


def representation(features: pl.DataFrame) -> np.ndarray:
    model = JourneyArchetypes(n_archetypes=2, random_state=0).fit(features)
    return model.preprocessor_.transform(model._validate(features, reset=False))


def gap(Z: np.ndarray, rng: np.random.RandomState, n_reference: int = 10) -> dict[int, tuple[float, float]]:
    """Gap(k) and its standard error s(k), with a uniform reference in the principal-axes box."""
    centred = Z - Z.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    rotated = centred @ vt.T
    low, high = rotated.min(axis=0), rotated.max(axis=0)
    out = {}
    for k in [*KS, KS[-1] + 1]:
        observed = np.log(KMeans(k, n_init=4, random_state=0).fit(Z).inertia_)
        reference = [
            np.log(KMeans(k, n_init=1, random_state=0).fit(rng.uniform(low, high, rotated.shape)).inertia_)
            for _ in range(n_reference)
        ]
        out[k] = (np.mean(reference) - observed, np.std(reference) * np.sqrt(1 + 1 / n_reference))
    return out


def choices(Z: np.ndarray, seed: int) -> dict[str, int]:
    rng = np.random.RandomState(seed)
    rows = [_score_k(Z, k, 10, rng) for k in KS]
    agree = [r for r in rows if r["agreement"] >= 0.8]
    bic = {k: GaussianMixture(k, covariance_type="diag", n_init=2, random_state=0).fit(Z).bic(Z) for k in KS}
    g = gap(Z, rng)
    gap_k = next((k for k in KS if g[k][0] >= g[k + 1][0] - g[k + 1][1]), KS[-1])
    return {
        "silhouette": max(agree or rows, key=lambda r: r["silhouette"])["k"],
        "stability": max((r["k"] for r in rows if r["stability"] >= 0.75), default=KS[0]),
        "gmm_bic": min(bic, key=bic.get),
        "gap": gap_k,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--customers", type=int, default=6_000)
    parser.add_argument("--design", choices=["overlapping", "sample"], default="overlapping")
    args = parser.parse_args()
    design = OVERLAPPING_DESIGN if args.design == "overlapping" else DESIGN
    rows = []
    for seed in args.seeds:
        data = make_journeys(args.customers, random_state=seed, design=design)
        dataset = data.load()
        truth = data.truth.archetypes["archetype"].to_numpy()
        for view, features in (("whole", build_features(dataset)), ("landmark", landmark_features(dataset))):
            Z = representation(features)
            for criterion, k in choices(Z, seed).items():
                labels = KMeans(k, n_init=4, random_state=0).fit_predict(Z)
                ari = adjusted_rand_score(truth, labels)
                rows.append({"seed": seed, "features": view, "criterion": criterion, "k": k, "ari": ari})
    table = pl.DataFrame(rows)
    print(
        table.group_by("features", "criterion")
        .agg(
            pl.col("k").alias("k by seed"),
            (pl.col("k") == len(design.archetypes)).mean().alias("share right"),
            pl.col("ari").mean().round(3).alias("mean ARI"),
        )
        .sort("features", "criterion")
    )


if __name__ == "__main__":
    main()
