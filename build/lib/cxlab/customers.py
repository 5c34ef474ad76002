"""Customers derived from interactions, and churn by inactivity.

Exports without a customer table (a clickstream, an order history) get one customer per
``customer_id``; exports without a churn date get churn from inactivity. Both are set in
the mapping file (``customers: {derive: true}``, ``churn: {inactivity_days: 180}``) and
applied during validation (:func:`cxlab.validation.validate`).

Examples
--------
>>> import polars as pl
>>> from datetime import datetime
>>> from cxlab.customers import derive_customers
>>> from cxlab.mapping import Mapping
>>> times = [datetime(2025, 1, 2), datetime(2025, 1, 1)]
>>> events = pl.DataFrame(
...     {"customer_id": ["a", "a"], "timestamp": times, "touchpoint": ["x", "y"], "reason": [None, None]}
... )
>>> derive_customers(events, Mapping())[0]["signup_at"].to_list()
[datetime.datetime(2025, 1, 1, 0, 0)]
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import polars as pl

from cxlab.schema import REASON

if TYPE_CHECKING:
    from cxlab.mapping import Mapping


def derive_customers(interactions: pl.DataFrame, mapping: Mapping) -> tuple[pl.DataFrame, str]:
    """Customers derived from interactions (the mapping's ``customers: {derive: true}``): one
    per ``customer_id`` with a valid event, ``signup_at`` their first event (or first
    ``signup_touchpoint`` event); and a sentence saying how."""
    valid = interactions.filter(pl.col(REASON).is_null())
    signup = mapping.table("customers").signup_touchpoint
    if signup is None:
        first = pl.col("timestamp").min()
        how = "signup_at = each customer's first event"
    else:
        first = pl.col("timestamp").filter(pl.col("touchpoint") == signup).min()
        how = f"signup_at = each customer's first '{signup}' event"
    customers = (
        valid.group_by("customer_id")
        .agg(first.alias("signup_at"))
        .filter(pl.col("signup_at").is_not_null())
        .sort("customer_id")
        .with_columns(pl.lit(None, pl.String).alias(REASON))
    )
    return customers, f"derived from interactions: one customer per customer_id, {how}"


def apply_churn_rule(
    customers: pl.DataFrame, interactions: pl.DataFrame, end: datetime, mapping: Mapping, warnings: list[str]
) -> pl.DataFrame:
    """``customers`` with ``churned_at``: as given, or by inactivity (the mapping's
    ``churn.inactivity_days``: no valid event for that many days before ``end`` means churned
    at the last one). What was decided is appended to ``warnings``."""
    days = mapping.inactivity_days
    if "churned_at" in customers.columns:
        if days is not None:
            warnings.append(
                "customers: the table has churned_at, so churn.inactivity_days "
                f"({days}) in the mapping is not used."
            )
        return customers
    if days is None:
        warnings.append(
            "customers: no churned_at column and no churn.inactivity_days in the "
            "mapping, so no customer counts as churned; retention results will be empty."
        )
        return customers.with_columns(pl.lit(None, pl.Datetime("us")).alias("churned_at"))
    last = (
        interactions.filter(pl.col(REASON).is_null())
        .group_by("customer_id")
        .agg(pl.col("timestamp").max().alias("_last"))
    )
    last_seen = pl.max_horizontal("signup_at", "_last")
    return (
        customers.join(last, on="customer_id", how="left", maintain_order="left")
        .with_columns(pl.when(last_seen < end - timedelta(days=days)).then(last_seen).alias("churned_at"))
        .drop("_last")
    )
