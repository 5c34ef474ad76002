"""A predictive view of retention, kept apart from the effect estimates of :mod:`cxlab.retention`.

A gradient-boosted classifier predicts whether a customer active at the landmark is still
retained ``horizon_days`` later, from their exposures in the window, archetype and
attributes. Its cross-validated ROC AUC says how predictable retention is; permutation
importance says which inputs the *prediction* leans on. Neither is the effect of a
touchpoint: a touchpoint can predict churn because of who uses it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import polars as pl
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split
from threadpoolctl import threadpool_limits

from cxlab.config import HORIZON_DAYS, RANDOM_STATE
from cxlab.results import Result
from cxlab.retention import Landmark


@dataclass(repr=False, eq=False)
class RetentionPrediction(Result):
    """Permutation importance (``summary``), out-of-fold predictions and their AUC per fold."""

    retained: np.ndarray | None = None
    predicted: np.ndarray | None = None
    auc_by_fold: list[float] = field(default_factory=list)
    horizon_days: int = HORIZON_DAYS

    @property
    def importance(self) -> pl.DataFrame:
        return self.summary

    @property
    def auc(self) -> float:
        return float(np.mean(self.auc_by_fold))

    def _describe(self) -> str:
        return (
            f"ROC AUC {self.auc:.2f} ({len(self.auc_by_fold)}-fold cross-validation, "
            f"{self.counts['customers']:,} customers; {self.counts['censored']:,} followed less than "
            f"{self.horizon_days} days are left out)."
        )

    def _plot(self, ax=None, *, kind: str = "calibration"):
        from cxlab import plotting

        if kind == "importance":
            return plotting.plot_importance(self.summary, ax=ax)
        return plotting.plot_calibration(self.retained, self.predicted, ax=ax)


def predict_retention(
    landmark: Landmark,
    *,
    horizon_days: int = HORIZON_DAYS,
    n_folds: int = 5,
    max_customers: int = 100_000,
    random_state: int = RANDOM_STATE,
) -> RetentionPrediction:
    """Fit and cross-validate the classifier of retention at ``horizon_days``.

    Parameters
    ----------
    landmark : Landmark
        From :func:`cxlab.retention.landmark_data`.
    horizon_days : int
        Days after the landmark at which retention is predicted.
    n_folds : int
        Folds of the cross-validation.
    max_customers : int
        At most this many customers (a random sample) are used.
    random_state : int
        Seed of the sample, the folds and the model.

    Returns
    -------
    RetentionPrediction
        Not estimable when too few customers are followed to the horizon, or their outcome
        does not vary (then there is nothing to predict). Customers censored before the
        horizon are left out and counted.

    Examples
    --------
    >>> import polars as pl
    >>> from cxlab.prediction import predict_retention
    >>> from cxlab.retention import Landmark
    >>> tiny = Landmark(pl.DataFrame({"customer_id": ["a"], "duration": [3.0], "churned": [True]}), 30)
    >>> predict_retention(tiny).estimable
    False
    """
    data = landmark.data
    known = (pl.col("churned") & (pl.col("duration") <= horizon_days)) | (pl.col("duration") >= horizon_days)
    usable = data.filter(known)
    if usable.height > max_customers:
        usable = usable.sample(max_customers, seed=random_state)
    y = (usable["duration"] >= horizon_days).to_numpy()
    counts = {"customers": usable.height, "censored": data.height - data.filter(known).height}
    title = "Predicting retention (a prediction, not an effect)"
    if usable.height < 2 * n_folds or min(y.sum(), (~y).sum()) < n_folds:
        reason = (
            f"{usable.height:,} customers followed to the horizon ({int(y.sum()):,} retained); it needs at "
            f"least {n_folds} retained and {n_folds} churned customers whose outcome at {horizon_days} "
            "days is "
            "known; otherwise there is nothing to predict"
        )
        return RetentionPrediction.not_estimable(reason, _IMPORTANCE, counts=counts, title=title)
    X, names, categorical = _inputs(usable)
    model = HistGradientBoostingClassifier(categorical_features=categorical, random_state=random_state)
    folds = StratifiedKFold(n_folds, shuffle=True, random_state=random_state)
    # On small data OpenMP threads cost more than they save: one thread is 5x faster at 600
    # customers on 2 cores (many short fits and predictions); large data keeps every core.
    with threadpool_limits(1 if usable.height < SMALL_DATA else None):
        predicted = cross_val_predict(model, X, y, cv=folds, method="predict_proba")[:, 1]
        importance = _importance(model, X, names, y, random_state)
    auc = [roc_auc_score(y[test], predicted[test]) for _, test in folds.split(X, y)]
    return RetentionPrediction(
        importance, counts, None, title, retained=y, predicted=predicted, auc_by_fold=auc,
        horizon_days=horizon_days,
    )  # fmt: skip


SMALL_DATA = 50_000
"""Below this many customers the model runs on one thread."""

_IMPORTANCE = pl.DataFrame(
    schema={"feature": pl.String, "importance": pl.Float64, "importance_sd": pl.Float64}
)


MIN_USERS = 10
"""Exposures of fewer customers (or fewer than 1% of them) are left out of the prediction: a
long tail of rare touchpoints adds noise, and each costs a round of permutation importance."""


def _inputs(data: pl.DataFrame) -> tuple[np.ndarray, list[str], np.ndarray]:
    """The model's inputs, their names and which are categorical: exposures as 0/1, attributes
    and archetype as category codes (NaN when missing; native categories in the model). Codes
    rather than a frame of pandas categoricals, which the model would re-encode at every
    prediction: most of the permutation importance's time."""
    floor = max(MIN_USERS, 0.01 * data.height)
    rare = [c for c in data.columns if c.startswith("exposed_") and data[c].sum() < floor]
    frame = data.drop("customer_id", "duration", "churned", *rare).to_pandas()
    categorical = np.array([not pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns], dtype=bool)
    for column in frame.columns[categorical]:
        codes = frame[column].astype("category").cat.codes
        frame[column] = codes.where(codes >= 0)  # -1 (missing) becomes NaN
    return frame.to_numpy(np.float64), list(frame.columns), categorical


def _importance(model, X: np.ndarray, names: list[str], y: np.ndarray, random_state: int) -> pl.DataFrame:
    """Permutation importance (drop in ROC AUC) on a held-out quarter."""
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=random_state
    )
    fitted = model.fit(X_train, y_train)
    result = permutation_importance(
        fitted, X_test, y_test, scoring="roc_auc", n_repeats=5, random_state=random_state
    )
    return pl.DataFrame(
        {
            "feature": names,
            "importance": result.importances_mean,
            "importance_sd": result.importances_std,
        }
    ).sort("importance", descending=True)
