"""Journey archetypes: groups of customers with similar journeys, found, named and explained.

:class:`JourneyArchetypes` is a scikit-learn clusterer that takes the per-customer feature
table of :func:`cxlab.build_features`.

Method
------
* **Features**: the share of each customer's events at each touchpoint (``share_tp_*``)
  and, when present, of each touchpoint-to-touchpoint transition (``share_tr_*`` from
  :func:`cxlab.journeys.transition_features`, so that order matters). A table without such
  columns (a plain matrix) uses every column.
* **Preprocessing**: the square root of the shares (the Hellinger transform: it stabilises
  the variance of proportions, so a touchpoint used by few customers does not dominate,
  and Euclidean distance becomes the Hellinger distance between journey mixes); optional
  standard scaling and PCA.
* **Number of archetypes** (``n_archetypes="auto"``): k-means for every k in ``k_range`` on a
  sample, refitted on ``n_bootstrap`` bootstrap resamples. Each archetype's *stability* is its
  mean Jaccard similarity with the most similar archetype of the refits (Hennig 2007,
  "Cluster-wise assessment of cluster stability"), and a solution is as stable as its least
  stable archetype. The chosen k is the largest whose stability reaches ``min_stability``
  (0.75: Hennig's line for a cluster that is real structure); if none does, the most stable
  one (with a warning). A k above the truth splits some real group, and the split moves from
  resample to resample, so its weakest archetype falls well below 0.75.

  Why this criterion: ``scripts/compare_k_criteria.py`` compares it with the silhouette (the
  first version's rule), a diagonal Gaussian mixture's BIC and the gap statistic on
  :data:`cxlab.synthetic.OVERLAPPING_DESIGN` (five archetypes, two of which share most
  touchpoints). The silhouette merged the two alike archetypes on every seed (k = 2 to 4); BIC
  and the gap statistic kept splitting (k = 6 to 8); the weakest archetype's stability chose
  5 on every seed on whole-history features, 5 on two of four seeds on landmark features
  (4, merging the alike pair, on the others), and 4 on the built-in design.
  The silhouette and the agreement of whole solutions (mean adjusted Rand index) are kept in
  ``selection_scores_`` for reading.
* **Fit at scale**: the final k-means is fitted on at most ``fit_sample`` customers and every
  customer is assigned to the nearest archetype centre. Archetypes are numbered by size
  (0 = largest) and named from what sets them apart (see :func:`profile_archetypes`).

Examples
--------
>>> import cxlab
>>> ds = cxlab.load_dataset("data/sample")                          # doctest: +SKIP
>>> features = cxlab.build_features(ds)                              # doctest: +SKIP
>>> model = cxlab.JourneyArchetypes(random_state=0).fit(features)    # doctest: +SKIP
>>> model.profiles_.select("archetype_name", "share", "retention_rate")  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np
import polars as pl
from joblib import Parallel, cpu_count, delayed
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.cluster import KMeans, kmeans_plusplus
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score, pairwise_distances, silhouette_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data
from threadpoolctl import threadpool_limits

from cxlab import progress
from cxlab.profiles import profile_archetypes

FEATURE_PREFIXES = ("share_tp_", "share_tr_")
MIN_CUSTOMERS = 20
"""Fewer customers than this form a single archetype: there is no structure to find."""


class ArchetypeWarning(UserWarning):
    """The archetypes were found, but with a caveat the analyst should read."""


class JourneyArchetypes(ClusterMixin, TransformerMixin, BaseEstimator):
    """Find journey archetypes in the per-customer feature table.

    Parameters
    ----------
    n_archetypes : "auto" or int, default "auto"
        Number of archetypes, or "auto" to choose it over ``k_range`` (see the module docs).
    k_range : tuple of int, default (2, 10)
        Smallest and largest number of archetypes tried by "auto".
    feature_prefixes : tuple of str, default ("share_tp_", "share_tr_")
        Columns of the feature table to cluster on.
    variance_stabilize : bool, default True
        Take the square root of the features (they must be shares, i.e. non-negative).
    scale : bool, default False
        Standardise each feature after the square root.
    n_components : int, float or None, default None
        PCA after preprocessing (as in :class:`sklearn.decomposition.PCA`); None keeps all.
    min_stability : float, default 0.75
        Bootstrap Jaccard similarity every archetype of a solution needs for "auto" to choose it.
    n_bootstrap : int, default 10
        Bootstrap refits per k for the stability score. With a given number of archetypes,
        0 skips the score (``stability_`` is NaN): for archetypes that only adjust a model.
    sample_size : int, default 10_000
        Customers sampled to choose k and score stability (an archetype of 1% of customers
        has about 100 of them in the sample, enough to refit it on resamples).
    fit_sample : int, default 200_000
        Customers the final k-means is fitted on; all are then assigned.
    random_state : int, RandomState or None, default None
        Seed for sampling, bootstrap and k-means.

    Attributes
    ----------
    n_archetypes_ : int
    labels_ : ndarray of shape (n_samples,)
        Archetype of each customer in the table given to ``fit`` (0 = largest).
    cluster_centers_ : ndarray of shape (n_archetypes_, n_preprocessed_features)
    preprocessor_ : Pipeline
        The fitted preprocessing (square root, scaling, PCA).
    selection_scores_ : polars.DataFrame
        ``k``, ``silhouette``, ``stability`` (of the least stable archetype), ``stability_sd``
        (its spread over the resamples), ``agreement`` (mean adjusted Rand index of whole
        solutions), ``inertia``, ``chosen``.
    stability_ : float
        Bootstrap stability of the chosen solution's least stable archetype.
    profiles_ : polars.DataFrame
        One row per archetype: ``archetype``, ``archetype_name``, ``n_customers``, ``share``,
        ``retention_rate``, ``over_represented``, ``under_represented``.
    lifts_ : polars.DataFrame
        ``archetype``, ``feature``, ``mean``, ``population_mean``, ``lift`` for every share
        column of the table (the profile heatmap's data).
    names_ : list of str
        Archetype names, indexed by archetype.
    feature_names_in_ : ndarray of str
        The feature columns clustered on (when fitted on a table).
    n_features_in_ : int
    """

    def __init__(
        self,
        n_archetypes="auto",
        *,
        k_range=(2, 10),
        feature_prefixes=FEATURE_PREFIXES,
        variance_stabilize=True,
        scale=False,
        n_components=None,
        min_stability=0.75,
        n_bootstrap=10,
        sample_size=10_000,
        fit_sample=200_000,
        random_state=None,
    ):
        self.n_archetypes = n_archetypes
        self.k_range = k_range
        self.feature_prefixes = feature_prefixes
        self.variance_stabilize = variance_stabilize
        self.scale = scale
        self.n_components = n_components
        self.min_stability = min_stability
        self.n_bootstrap = n_bootstrap
        self.sample_size = sample_size
        self.fit_sample = fit_sample
        self.random_state = random_state

    def fit(self, X, y=None):
        """Choose the number of archetypes (if "auto"), fit them and profile them."""
        n_archetypes = self._check_params()
        data = self._validate(X, reset=True)
        rng = check_random_state(self.random_state)
        self.preprocessor_ = self._preprocessor().fit(_sample(data, self.fit_sample, rng))
        Z = self.preprocessor_.transform(data)
        k = self._choose_k(Z, rng, n_archetypes)
        progress.report(f"archetypes: fitting {k} on {min(len(Z), self.fit_sample):,} customers")
        self.cluster_centers_ = _fit_centres(_sample(Z, self.fit_sample, rng), k, rng)
        self._order_by_size(self._distances(data))
        self.n_archetypes_ = len(self.cluster_centers_)
        self.lifts_, self.profiles_ = profile_archetypes(_table(X, data), self.labels_)
        self.names_ = self.profiles_["archetype_name"].to_list()
        return self

    def predict(self, X):
        """The archetype (nearest centre) of each customer."""
        return self.transform(X).argmin(axis=1)

    def transform(self, X):
        """Distance of each customer to each archetype centre, in the preprocessed space."""
        check_is_fitted(self, "cluster_centers_")
        return self._distances(self._validate(X, reset=False))

    def assign(self, features: pl.DataFrame) -> pl.DataFrame:
        """``customer_id``, ``archetype``, ``archetype_name`` for a feature table (contract §3)."""
        return self._assigned(features, self.predict(features))

    def fit_assign(self, features: pl.DataFrame) -> pl.DataFrame:
        """:meth:`fit`, then :meth:`assign` of the same table, from the archetypes the fit
        found (assigning again would measure each customer's distances a second time: 0.5 s
        at a million customers)."""
        return self._assigned(features, self.fit(features).labels_)

    def _assigned(self, features: pl.DataFrame, labels: np.ndarray) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "customer_id": features["customer_id"],
                "archetype": pl.Series(labels, dtype=pl.Int32),
                "archetype_name": pl.Series(self.names_, dtype=pl.String).gather(labels),
            }
        )

    # -- fitting steps -------------------------------------------------------------------

    def describe(self) -> str:
        """The fitted archetypes in plain words."""
        check_is_fitted(self, "cluster_centers_")
        return (
            f"{self.n_archetypes_} archetypes among {len(self.labels_):,} customers "
            f"(the least stable is found again on resamples with a Jaccard similarity of "
            f"{self.stability_:.2f}; 1 = identical on every resample)"
        )

    def _check_params(self) -> int | str:
        """Check the parameters; the number of archetypes ("auto" or an int)."""
        n = self.n_archetypes
        if isinstance(n, str) and n.isdigit():  # from a notebook's str parameter
            n = int(n)
        if not (n == "auto" or (isinstance(n, Integral) and not isinstance(n, bool) and n >= 1)):
            raise ValueError(f"n_archetypes must be 'auto' or an int >= 1. Got {n!r} instead.")
        low, high = self.k_range
        if not (isinstance(low, Integral) and isinstance(high, Integral) and 2 <= low <= high):
            raise ValueError(f"k_range must be (low, high) with 2 <= low <= high. Got {self.k_range!r}.")
        if not (isinstance(self.n_bootstrap, Integral) and self.n_bootstrap >= (2 if n == "auto" else 0)):
            raise ValueError(
                "n_bootstrap must be an int >= 2 with n_archetypes='auto' (the choice rests on it), "
                f">= 0 otherwise. Got {self.n_bootstrap!r} instead."
            )
        return n

    def _validate(self, X, *, reset: bool) -> np.ndarray:
        data = validate_data(self, _feature_columns(X, self, reset=reset), reset=reset, dtype=np.float32)
        if self.variance_stabilize and data.size and data.min() < 0:
            raise ValueError(
                "JourneyArchetypes expects shares (non-negative) when variance_stabilize=True; "
                f"{int((data < 0).sum())} values are negative. Pass variance_stabilize=False "
                "for other features."
            )
        return data

    def _distances(self, data: np.ndarray, rows: int = 100_000) -> np.ndarray:
        """Distance of each row of ``data`` (validated) to each centre, preprocessed and measured
        in float64 a block of ``rows`` at a time. In float32 a customer's distances could differ
        in the last place with the other rows computed alongside (scikit-learn's subset and order
        invariance checks failed with numpy 2.4); the blocks keep the float64 copy small (80 MB
        at a million customers, against 0.56 GB for all at once)."""
        centres = self.cluster_centers_.astype(np.float64)
        blocks = [
            pairwise_distances(self.preprocessor_.transform(data[i : i + rows].astype(np.float64)), centres)
            for i in range(0, len(data), rows)
        ]
        return np.vstack(blocks) if blocks else np.empty((0, len(centres)))

    def _preprocessor(self):
        steps = [FunctionTransformer(np.sqrt)] if self.variance_stabilize else []
        steps += [StandardScaler()] if self.scale else []
        steps += [PCA(self.n_components)] if self.n_components is not None else []
        return make_pipeline(*steps) if steps else make_pipeline(FunctionTransformer())

    def _choose_k(self, Z: np.ndarray, rng: np.random.RandomState, n_archetypes: int | str) -> int:
        sample = _sample(Z, self.sample_size, rng)
        n_distinct = len(np.unique(sample, axis=0))
        if len(Z) < MIN_CUSTOMERS or n_distinct < 2:
            warnings.warn(
                f"{len(Z)} customers with {n_distinct} distinct journey mixes: too little variety to "
                f"find archetypes (at least {MIN_CUSTOMERS} customers and 2 different mixes are "
                "needed), so all customers form one archetype.",
                ArchetypeWarning,
                stacklevel=3,
            )
            nan = float("nan")
            single = dict.fromkeys(("silhouette", "stability", "stability_sd", "agreement", "inertia"), nan)
            single["k"] = 1
            self.selection_scores_, self.stability_ = _scores_frame([single], 1), nan
            return 1
        limit = min(n_distinct, len(sample) - 1)
        if n_archetypes == "auto":
            ks = [k for k in range(self.k_range[0], self.k_range[1] + 1) if k <= limit] or [limit]
        else:
            ks = [min(n_archetypes, limit)]
            if ks[0] < n_archetypes:
                warnings.warn(
                    f"{n_archetypes} archetypes were asked for, but the data hold only {n_distinct} "
                    f"distinct journey mixes among {len(sample)} customers; fitting {ks[0]}.",
                    ArchetypeWarning,
                    stacklevel=3,
                )
        if self.n_bootstrap:
            progress.report(
                f"archetypes: stability of k = {', '.join(map(str, ks))}, "
                f"{self.n_bootstrap} refits of {len(sample):,} customers each"
            )
        seeds = rng.randint(2**31 - 1, size=len(ks))
        # One k per core, each fitting on one thread: k-means on 10,000 customers gains little
        # from a second thread (3.2 s of wall time for 6.0 s of CPU at 1M) and its idle one spins.
        # A single k stays on this thread: memory a thread frees is kept for that thread (glibc
        # arenas), 0.1 GB more held through the impact notebook for its three landmark fits.
        # Warnings are filtered here, once: catch_warnings is not thread-safe.
        with warnings.catch_warnings(), threadpool_limits(1, user_api="blas"):
            # A resample may hold fewer distinct journeys than k; its (poorer) fit is what stability measures.
            warnings.simplefilter("ignore", ConvergenceWarning)
            rows = Parallel(n_jobs=min(len(ks), cpu_count()), prefer="threads")(
                delayed(_score_k)(sample, k, self.n_bootstrap, np.random.RandomState(seed))
                for k, seed in zip(ks, seeds, strict=True)
            )
        chosen = self._pick(rows)
        self.selection_scores_ = _scores_frame(rows, chosen)
        self.stability_ = next(r["stability"] for r in rows if r["k"] == chosen)
        return chosen

    def _pick(self, rows: list[dict]) -> int:
        if len(rows) == 1:
            return rows[0]["k"]
        stable = [r["k"] for r in rows if r["stability"] >= self.min_stability]
        if stable:
            return max(stable)
        best = max(rows, key=lambda r: r["stability"])
        warnings.warn(
            f"No number of archetypes in {self.k_range} reaches a bootstrap stability of "
            f"{self.min_stability}; the most stable, k={best['k']} ({best['stability']:.2f}), is used. "
            "The archetypes may not be real structure: read them with caution.",
            ArchetypeWarning,
            stacklevel=4,
        )
        return best["k"]

    def _order_by_size(self, distances: np.ndarray) -> None:
        """Renumber archetypes by size, largest first (ties by centre order, so reruns agree);
        ``labels_`` are then the nearest renumbered centres, exactly as :meth:`predict` finds
        them (a customer as near to two centres goes to the first, as there)."""
        sizes = np.bincount(distances.argmin(axis=1), minlength=len(self.cluster_centers_))
        order = np.argsort(-sizes, kind="stable")
        self.cluster_centers_ = self.cluster_centers_[order]
        self.labels_ = distances[:, order].argmin(axis=1)


def archetype_features(dataset, features: pl.DataFrame, *, order_aware: bool = False) -> pl.DataFrame:
    """The table the archetypes are fitted on: ``features``, with the most telling
    touchpoint-to-touchpoint transitions of :func:`cxlab.journeys.transition_features` added
    when ``order_aware``."""
    if not order_aware:
        return features
    from cxlab.journeys import transition_features

    return features.join(transition_features(dataset), on="customer_id", maintain_order="left")


def archetype_map(model: JourneyArchetypes, features, *, size: int = 5_000, random_state: int = 0):
    """A 2-D view of customers for :func:`cxlab.plotting.plot_archetype_map`: the first two
    principal components of the preprocessed features of a sample, and its archetypes."""
    check_is_fitted(model, "cluster_centers_")
    rng = check_random_state(random_state)
    table = (
        features
        if len(features) <= size
        else features[np.sort(rng.choice(len(features), size, replace=False))]
    )
    Z = model.preprocessor_.transform(model._validate(table, reset=False))
    Z = np.column_stack([Z, np.zeros((len(Z), max(0, 2 - Z.shape[1])))])  # one feature: a flat map
    return PCA(2, random_state=random_state).fit_transform(Z), model.predict(table)


def _feature_columns(X, model: JourneyArchetypes, *, reset: bool):
    """The columns to cluster on: those named by ``feature_prefixes`` (or all of them)."""
    if not hasattr(X, "columns"):
        return X
    columns = [str(c) for c in X.columns]
    if reset:
        names = [c for c in columns if c.startswith(tuple(model.feature_prefixes))] or columns
    else:
        names = _known_columns(columns, model)
    present = [c for c in names if c in columns]
    subset = X.select(present).to_pandas() if isinstance(X, pl.DataFrame) else X[present]
    return subset if present == names else subset.reindex(columns=names, fill_value=0.0)  # a copy


def _known_columns(columns: list[str], model: JourneyArchetypes) -> list[str]:
    """At predict time: the fitted share columns (one missing from new data is a share of 0);
    for other features, the columns as given (checked against the fit by scikit-learn)."""
    names = [str(n) for n in getattr(model, "feature_names_in_", [])]
    shares = names and all(n.startswith(tuple(model.feature_prefixes)) for n in names)
    return names if shares else columns


def _table(X, data: np.ndarray) -> pl.DataFrame:
    """The feature table for profiling; a plain matrix becomes a table of its features."""
    if isinstance(X, pl.DataFrame):
        return X
    if hasattr(X, "columns"):
        return pl.from_pandas(X)
    names = [f"x{i}" for i in range(data.shape[1])]
    return pl.DataFrame(data, schema=names)


def _sample(Z: np.ndarray, size: int, rng: np.random.RandomState) -> np.ndarray:
    return Z if len(Z) <= size else Z[rng.choice(len(Z), size, replace=False)]


def _kmeans(k: int, rng: np.random.RandomState, n_init: int = 4, init="k-means++") -> KMeans:
    return KMeans(k, n_init=n_init, init=init, random_state=rng.randint(2**31 - 1))


def _seeds64(X: np.ndarray, k: int, random_state: np.random.RandomState) -> np.ndarray:
    """scikit-learn's k-means++ seeds, computed in float64. On a float32 sample of 10,000 it
    measures distances through an upcasting path that took half the time of choosing k (2.2x
    slower); on the 200,000 of the final fit, the float64 copy costs more than it saves."""
    return kmeans_plusplus(X.astype(np.float64), k, random_state=random_state)[0]


def _fit_centres(Z: np.ndarray, k: int, rng: np.random.RandomState) -> np.ndarray:
    if k == 1:
        return Z.mean(axis=0, keepdims=True)
    return _kmeans(k, rng).fit(Z).cluster_centers_


def _score_k(sample: np.ndarray, k: int, n_bootstrap: int, rng: np.random.RandomState) -> dict:
    """Silhouette and bootstrap stability of the k-means solution with k archetypes, on one core."""
    with threadpool_limits(1, user_api="openmp"):  # this thread's own OpenMP setting
        reference = _kmeans(k, rng, init=_seeds64).fit(sample)
        # Three starts per refit: with one, a refit stuck in a poor local optimum reads as instability.
        refits = [
            _kmeans(k, rng, n_init=3, init=_seeds64)
            .fit(sample[rng.randint(len(sample), size=len(sample))])
            .predict(sample)
            for _ in range(n_bootstrap)
        ]
    jaccard = np.array([best_jaccard(reference.labels_, labels, k) for labels in refits]).reshape(-1, k)
    weakest = int(np.argmin(jaccard.mean(axis=0))) if refits else 0
    labels = len(set(reference.labels_))
    # For reading only (it does not choose k): 2,000 customers give it to about +-0.01.
    silhouette = (
        silhouette_score(sample, reference.labels_, sample_size=min(len(sample), 2_000), random_state=rng)
        if 2 <= labels < len(sample)
        else float("nan")
    )
    return {
        "k": k,
        "silhouette": float(silhouette),
        "stability": float(jaccard[:, weakest].mean()) if refits else float("nan"),
        "stability_sd": float(jaccard[:, weakest].std()) if refits else float("nan"),
        "agreement": float(np.mean([adjusted_rand_score(reference.labels_, r) for r in refits]))
        if refits
        else float("nan"),
        "inertia": float(reference.inertia_),
    }


def best_jaccard(reference: np.ndarray, other: np.ndarray, k: int) -> np.ndarray:
    """For each reference cluster, its Jaccard similarity with the most similar cluster of ``other``."""
    a, b = np.eye(k, dtype=np.int64)[reference], np.eye(k, dtype=np.int64)[other]
    both = a.T @ b
    return (both / (a.sum(axis=0)[:, None] + b.sum(axis=0)[None, :] - both)).max(axis=1)


def _scores_frame(rows: list[dict], chosen: int) -> pl.DataFrame:
    schema = {"k": pl.Int64, "silhouette": pl.Float64, "stability": pl.Float64}
    schema |= {"stability_sd": pl.Float64, "agreement": pl.Float64, "inertia": pl.Float64}
    frame = pl.DataFrame(rows, schema=schema)
    return frame.with_columns((pl.col("k") == chosen).alias("chosen"))
