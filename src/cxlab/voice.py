"""What customers say, joined to what they did: churn by NPS category, responders against
non-responders, ratings after exposure, and the words of detractors and promoters."""

from __future__ import annotations

import re
from collections import Counter

import polars as pl
from lifelines import CoxPHFitter

from cxlab.dataset import Dataset
from cxlab.journeys import days
from cxlab.survey import nps_category

STOPWORDS = frozenset(
    "a an and are as at be but by for from had has have i in is it its me my no not of on or so "
    "that the their them they this to too very was we were with you your again all just".split()
)


def nps_followup(dataset: Dataset, features: pl.DataFrame) -> pl.DataFrame:
    """Each customer's first NPS answer, with time from it to churn or the end of observation
    (time before answering cannot end in churn, so it is not counted) and ``nps_category``."""
    first = (
        dataset.surveys.filter(pl.col("metric") == "nps")
        .sort("responded_at")
        .group_by("customer_id")
        .agg(pl.col("responded_at").first(), pl.col("score").first())
    )
    end = dataset.observation_end
    data = first.join(features.select("customer_id", "is_churned", "churned_at"), on="customer_id").select(
        "customer_id",
        days(pl.coalesce("churned_at", pl.lit(end)) - pl.col("responded_at")).ceil().alias("duration"),
        pl.col("is_churned").alias("churned"),
        nps_category(pl.col("score")).alias("nps_category"),
    )
    return data.filter(pl.col("duration") > 0)


def detractor_hazard_ratio(followup: pl.DataFrame) -> pl.DataFrame:
    """Hazard ratio of churn for detractors and passives against promoters (Cox, lifelines);
    empty when nobody churned or a category is missing."""
    data = followup
    present = [c for c in ("detractor", "passive") if c in data["nps_category"]]
    if data["churned"].sum() == 0 or not present or "promoter" not in data["nps_category"]:
        return pl.DataFrame()
    design = data.select(
        "duration",
        pl.col("churned").cast(pl.Float64),
        *((pl.col("nps_category") == c).cast(pl.Float64).alias(c) for c in present),
    ).to_pandas()
    summary = CoxPHFitter().fit(design, "duration", "churned").summary
    return pl.DataFrame(
        {
            "category": present,
            "vs": "promoter",
            "hazard_ratio": summary.loc[present, "exp(coef)"].to_numpy(),
            "ci_low": summary.loc[present, "exp(coef) lower 95%"].to_numpy(),
            "ci_high": summary.loc[present, "exp(coef) upper 95%"].to_numpy(),
            "p_value": summary.loc[present, "p"].to_numpy(),
        }
    )


def responder_comparison(
    dataset: Dataset, features: pl.DataFrame, archetypes: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Responders against non-responders: customers, retention and (with archetypes) the mix,
    so that non-response bias is visible."""
    responders = dataset.surveys["customer_id"].unique().implode()
    frame = features.with_columns(
        pl.when(pl.col("customer_id").is_in(responders))
        .then(pl.lit("responders"))
        .otherwise(pl.lit("non-responders"))
        .alias("group")
    )
    if archetypes is not None:
        frame = frame.join(archetypes.select("customer_id", "archetype_name"), on="customer_id", how="left")
    summary = frame.group_by("group").agg(
        pl.len().alias("n_customers"), (1 - pl.col("is_churned").mean()).alias("retention_rate")
    )
    if archetypes is None:
        return summary.sort("group")
    mix = (
        frame.group_by("group", "archetype_name")
        .len()
        .with_columns((pl.col("len") / pl.col("len").sum().over("group")).alias("share"))
        .pivot(on="archetype_name", index="group", values="share")
    )
    return summary.join(mix, on="group").sort("group")


def ratings_after_exposure(dataset: Dataset, features: pl.DataFrame, *, min_n: int = 30) -> pl.DataFrame:
    """Mean first NPS of customers exposed and not exposed to each touchpoint in the window."""
    first_nps = (
        dataset.surveys.filter(pl.col("metric") == "nps").sort("responded_at")
        .group_by("customer_id").agg(pl.col("score").first().alias("nps_score"))
    )  # fmt: skip
    rated = features.join(first_nps, on="customer_id")
    rows = []
    for column in [c for c in features.columns if c.startswith("exposed_")]:
        exposed, unexposed = (rated.filter(pl.col(column) == flag)["nps_score"] for flag in (True, False))
        if min(len(exposed), len(unexposed)) >= min_n:
            rows.append(
                {"touchpoint": column.removeprefix("exposed_"), "n_exposed": len(exposed),
                 "n_unexposed": len(unexposed),
                 "mean_nps_exposed": exposed.mean(), "mean_nps_unexposed": unexposed.mean(),
                 "difference": exposed.mean() - unexposed.mean()}
            )  # fmt: skip
    return pl.DataFrame(rows).sort("difference") if rows else pl.DataFrame()


def comment_terms(dataset: Dataset, *, top: int = 15) -> pl.DataFrame:
    """The most frequent words and two-word phrases in NPS comments of detractors and of
    promoters: ``group``, ``term``, ``n`` (comments containing it), ``share`` of the group's comments."""
    comments = dataset.surveys.filter(pl.col("metric") == "nps", pl.col("comment").is_not_null()).select(
        nps_category(pl.col("score")).alias("group"), "comment"
    )
    rows = []
    for group in ("detractor", "promoter"):
        texts = comments.filter(pl.col("group") == group)["comment"].to_list()
        counts = Counter(term for text in texts for term in set(_terms(text)))
        rows += [
            {"group": group, "term": term, "n": n, "share": n / len(texts)}
            for term, n in counts.most_common(top)
        ]
    return pl.DataFrame(
        rows, schema={"group": pl.String, "term": pl.String, "n": pl.Int64, "share": pl.Float64}
    )


def _terms(text: str) -> list[str]:
    words = [w for w in re.findall(r"[a-z][a-z']+", text.lower()) if w not in STOPWORDS]
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
