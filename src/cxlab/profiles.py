"""Archetype profiles: what sets each archetype apart, with lift, and a name made from it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from cxlab.config import MIN_CELL_SIZE
from cxlab.results import Result

MIN_MEAN_SHARE = 0.02
"""A feature must reach this mean share in an archetype to describe or name it (lift of a
touchpoint almost nobody uses is noise)."""

_KIND_WORDS = {"digital": "Digital", "physical": "In-person", "human": "Assisted"}
_STAGE_WORDS = {
    "awareness": "discoverers",
    "consideration": "researchers",
    "purchase": "buyers",
    "post_purchase": "after-sales regulars",
}


def profile_archetypes(
    table: pl.DataFrame, labels: np.ndarray, *, top: int = 3, min_cell_size: int = MIN_CELL_SIZE
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Lift of every share column per archetype, and one profile row per archetype.

    ``lift`` is the archetype's mean over the population mean (1 = as everyone, 2 = twice as
    much). Profiles: ``archetype``, ``archetype_name``, ``n_customers``, ``share``,
    ``retention_rate`` (empty without ``is_churned``), ``over_represented`` and
    ``under_represented`` (up to ``top`` touchpoints with lift above 1 / below 1, furthest
    first). Features used by fewer than ``min_cell_size`` customers get no lift and never name
    an archetype (a stray label must not rename one). Names are unique.

    Parameters
    ----------
    table : polars.DataFrame
        One row per customer, with ``share_*`` columns (else every numeric column is profiled).
    labels : numpy.ndarray
        The archetype of each row.
    top : int, default 3
        Touchpoints named as over- and under-represented.
    min_cell_size : int
        Fewest customers using a feature for it to be profiled.

    Returns
    -------
    (lifts, profiles) : tuple of polars.DataFrame

    Examples
    --------
    >>> import numpy as np
    >>> import polars as pl
    >>> table = pl.DataFrame({"share_tp_app": [1.0, 0.8, 0.0], "share_tp_store": [0.0, 0.2, 1.0]})
    >>> lifts, profiles = profile_archetypes(table, np.array([0, 0, 1]), min_cell_size=1)
    >>> profiles["n_customers"].to_list()
    [2, 1]
    """
    labelled = table.with_columns(pl.Series("archetype", labels, dtype=pl.Int32))
    features = [c for c in table.columns if c.startswith("share_")] or [
        c for c, t in table.schema.items() if t.is_numeric()
    ]
    used_by = labelled.select((pl.col(features) > 0).sum())
    lifts = _lifts(labelled, [f for f in features if used_by[f][0] >= min_cell_size])
    retention = 1 - pl.col("is_churned").mean() if "is_churned" in table.columns else pl.lit(None, pl.Float64)
    profiles = (
        labelled.group_by("archetype")
        .agg(pl.len().alias("n_customers"), retention.alias("retention_rate"))
        .sort("archetype")
        .with_columns((pl.col("n_customers") / len(labels)).alias("share"))
    )
    described = [_describe(lifts.filter(archetype=a), top, a) for a in profiles["archetype"]]
    names = _unique([name for name, _, _ in described])
    return lifts, profiles.select(
        "archetype",
        pl.Series("archetype_name", names),
        "n_customers",
        "share",
        "retention_rate",
        pl.Series("over_represented", [over for _, over, _ in described]),
        pl.Series("under_represented", [under for _, _, under in described]),
    )


@dataclass(repr=False, eq=False)
class ArchetypeProfiles(Result):
    """One row per archetype (``archetype_profiles.csv``), and the lift of every feature."""

    lifts: pl.DataFrame | None = None

    def _describe(self) -> str:
        return f"{self.summary.height} archetypes among {self.summary['n_customers'].sum():,} customers."


def profile_assignment(features: pl.DataFrame, assigned: pl.DataFrame) -> ArchetypeProfiles:
    """:func:`profile_archetypes` of archetypes assigned elsewhere (``customer_id``,
    ``archetype``, ``archetype_name``, one row per customer of ``features``, as
    :func:`cxlab.spark.assign_archetypes` returns), keeping the names they were given.

    Parameters
    ----------
    features : polars.DataFrame
        One row per customer with ``customer_id`` and ``share_*`` columns.
    assigned : polars.DataFrame
        ``customer_id``, ``archetype``, ``archetype_name``.

    Returns
    -------
    ArchetypeProfiles

    Examples
    --------
    >>> import polars as pl
    >>> from cxlab.profiles import profile_assignment
    >>> features = pl.DataFrame({"customer_id": ["a", "b"], "share_tp_app": [1.0, 0.0], "is_churned": [0, 1]})
    >>> names = {"archetype": [0, 1], "archetype_name": ["App", "Other"]}
    >>> assigned = pl.DataFrame({"customer_id": ["a", "b"], **names})
    >>> profile_assignment(features, assigned).summary["archetype_name"].to_list()
    ['App', 'Other']
    """
    labels = features.select("customer_id").join(assigned, on="customer_id", maintain_order="left")
    lifts, profiles = profile_archetypes(features, labels["archetype"].to_numpy())
    names = labels.unique("archetype").select("archetype", "archetype_name")
    named = profiles.drop("archetype_name").join(names, on="archetype", maintain_order="left")
    return ArchetypeProfiles(
        named.select(profiles.columns), {"customers": features.height}, None, "Archetypes",
        chart="plot_archetype_sizes", lifts=lifts,
    )  # fmt: skip


def _lifts(labelled: pl.DataFrame, features: list[str]) -> pl.DataFrame:
    if not features:
        schema = {"archetype": pl.Int32, "feature": pl.String, "mean": pl.Float64}
        return pl.DataFrame(schema=schema | {"population_mean": pl.Float64, "lift": pl.Float64})
    population = labelled.select(pl.col(features).mean()).unpivot(
        variable_name="feature", value_name="population_mean"
    )
    means = labelled.group_by("archetype").agg(pl.col(features).mean())
    return (
        means.unpivot(index="archetype", variable_name="feature", value_name="mean")
        .join(population, on="feature")
        .with_columns(
            pl.when(pl.col("population_mean") > 0)
            .then(pl.col("mean") / pl.col("population_mean"))
            .alias("lift")
        )
        .sort("archetype", "feature")
    )


def _label(feature: str) -> str:
    """``share_tp_point_of_sale`` -> ``point of sale``."""
    for prefix in ("share_tp_", "share_tr_", "share_channel_", "share_stage_", "share_kind_"):
        feature = feature.removeprefix(prefix)
    return feature.replace("__", " → ").replace("_", " ")


def _describe(lifts: pl.DataFrame, top: int, archetype: int) -> tuple[str, str, str]:
    """Name, over-represented and under-represented touchpoints of one archetype."""
    touchpoints = lifts.filter(pl.col("feature").str.starts_with("share_tp_"))
    candidates = touchpoints if touchpoints.height else lifts
    used = candidates.filter(pl.col("mean") >= MIN_MEAN_SHARE, pl.col("lift").is_not_null())
    over = used.filter(pl.col("lift") > 1).sort("lift", "feature", descending=[True, False]).head(top)
    rare = pl.col("population_mean") >= MIN_MEAN_SHARE
    under = candidates.filter(rare, pl.col("lift") < 1).sort("lift", "feature").head(top)

    def listing(rows: pl.DataFrame) -> str:
        return ", ".join(f"{_label(f)} ×{lift:.1f}" for f, lift in rows.select("feature", "lift").iter_rows())

    leading = [_label(f) for f in over["feature"].head(2)]
    name = " · ".join(
        [_persona(lifts) or f"Archetype {archetype}", *([" & ".join(leading)] if leading else [])]
    )
    return name, listing(over), listing(under)


def _persona(lifts: pl.DataFrame) -> str | None:
    """``Web researchers``: the channel (else kind) and the stage most over-represented."""

    def strongest(prefix: str) -> str | None:
        rows = lifts.filter(pl.col("feature").str.starts_with(prefix), pl.col("lift").is_not_null())
        return (
            rows.sort("lift", "feature", descending=[True, False])["feature"][0].removeprefix(prefix)
            if rows.height
            else None
        )

    channel, kind, stage = strongest("share_channel_"), strongest("share_kind_"), strongest("share_stage_")
    how = channel.replace("_", " ").capitalize() if channel else _KIND_WORDS.get(kind or "")
    if how and stage:
        return f"{how} {_STAGE_WORDS.get(stage, 'in the ' + stage.replace('_', ' ') + ' stage')}"
    return None


def _unique(names: list[str]) -> list[str]:
    """Names as given; a repeated one gets the archetype number, so every name is unique."""
    return [n if names.count(n) == 1 else f"{n} ({i})" for i, n in enumerate(names)]
