"""A predictive view of retention, kept apart from the effect estimates of :mod:`cxlab.retention`.

A gradient-boosted classifier predicts whether a customer active at the landmark is still
retained ``horizon_days`` later, from their exposures in the window, archetype and
attributes. Its cross-validated ROC AUC says how predictable retention is; permutation
importance says which inputs the *prediction* leans on. Neither is the effect of a
touchpoint: a touchpoint can predict churn because of who uses it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import polars as pl
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split

from cxlab.retention import Landmark


@dataclass
class RetentionPrediction:
    """Out-of-fold predictions, their AUC per fold, and permutation importance."""

    retained: np.ndarray
    predicted: np.ndarray
    auc_by_fold: list[float]
    importance: pl.DataFrame
    n_customers: int
    n_censored: int

    @property
    def auc(self) -> float:
        return float(np.mean(self.auc_by_fold))

    def describe(self, horizon_days: int) -> str:
        return (
            f"ROC AUC {self.auc:.2f} ({len(self.auc_by_fold)}-fold cross-validation, {self.n_customers:,} "
            f"customers; {self.n_censored:,} followed less than {horizon_days} days are left out)."
        )


def predict_retention(
    landmark: Landmark,
    *,
    horizon_days: int = 180,
    n_folds: int = 5,
    max_customers: int = 100_000,
    random_state: int = 0,
) -> RetentionPrediction | None:
    """Fit and cross-validate the classifier; None when too few customers are followed to the
    horizon, or their outcome does not vary (then there is nothing to predict). Customers
    censored before the horizon are left out and counted; at most ``max_customers`` (a
    random sample) are used."""
    data = landmark.data
    known = (pl.col("churned") & (pl.col("duration") <= horizon_days)) | (pl.col("duration") >= horizon_days)
    usable = data.filter(known)
    if usable.height > max_customers:
        usable = usable.sample(max_customers, seed=random_state)
    y = (usable["duration"] >= horizon_days).to_numpy()
    if usable.height < 2 * n_folds or min(y.sum(), (~y).sum()) < n_folds:
        return None
    X = _inputs(usable)
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=random_state)
    folds = StratifiedKFold(n_folds, shuffle=True, random_state=random_state)
    predicted = cross_val_predict(model, X, y, cv=folds, method="predict_proba")[:, 1]
    auc = [roc_auc_score(y[test], predicted[test]) for _, test in folds.split(X, y)]
    return RetentionPrediction(
        y,
        predicted,
        auc,
        _importance(model, X, y, random_state),
        usable.height,
        data.height - data.filter(known).height,
    )


def _inputs(data: pl.DataFrame) -> pd.DataFrame:
    """Exposures as 0/1; attributes and archetype as pandas categoricals (native in the model)."""
    frame = data.drop("customer_id", "duration", "churned").to_pandas()
    for column in frame.columns:
        if frame[column].dtype == bool:
            frame[column] = frame[column].astype(np.int8)
        elif not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].astype("category")
    return frame


def _importance(model, X: pd.DataFrame, y: np.ndarray, random_state: int) -> pl.DataFrame:
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
            "feature": list(X.columns),
            "importance": result.importances_mean,
            "importance_sd": result.importances_std,
        }
    ).sort("importance", descending=True)
