"""The built-in touchpoint catalog: the common touchpoints before, during and after purchase.

Examples
--------
>>> from cxlab.catalog import default_catalog
>>> default_catalog().filter(touchpoint="live_chat").row(0, named=True)["stage"]
'post_purchase'
"""

from __future__ import annotations

from importlib import resources

import polars as pl

CATALOG_COLUMNS = ["touchpoint", "stage", "channel", "kind"]


def default_catalog() -> pl.DataFrame:
    """Return the built-in catalog: ``touchpoint``, ``stage``, ``channel``, ``kind``, ``description``."""
    with resources.files("cxlab").joinpath("data/touchpoints.csv").open("rb") as f:
        return pl.read_csv(f, infer_schema=False)


def merge_catalogs(default: pl.DataFrame, own: pl.DataFrame | None) -> pl.DataFrame:
    """Overlay a dataset's own catalog on the default one; the dataset's entries win."""
    if own is None or own.height == 0:
        return default
    kept = default.filter(~pl.col("touchpoint").is_in(own["touchpoint"].implode()))
    return pl.concat([own, kept], how="diagonal_relaxed")
