"""Data-quality summaries of a loaded dataset: volumes, mixes, coverage, what was rejected.

Examples
--------
>>> import cxlab
>>> from cxlab import quality
>>> ds = cxlab.load_dataset("data/sample")                      # doctest: +SKIP
>>> quality.touchpoint_mix(ds).head()                           # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from cxlab.io import Dataset
from cxlab.schema import UNKNOWN


@dataclass
class QualitySummary:
    """The headline facts an analyst checks before trusting a dataset."""

    tables: pl.DataFrame
    rejected_reasons: pl.DataFrame
    first_event: object
    last_event: object
    observation_end: object
    n_customers: int
    customers_without_events: int
    uncatalogued_touchpoints: pl.DataFrame
    warnings: list[str]

    def lines(self) -> list[str]:
        """The summary as plain text lines, as ``cxlab validate`` prints it."""
        out = ["Rows per table (read = loaded + rejected):"]
        for t in self.tables.iter_rows(named=True):
            source = t["source"] or t["derived"] or "absent"
            out.append(
                f"  {t['table']:<13} read {t['rows_read']:>10,}  loaded {t['rows_loaded']:>10,}"
                f"  rejected {t['rows_rejected']:>8,}  ({source})"
            )
        if self.rejected_reasons.height:
            out.append("Rejected rows by reason:")
            out += [
                f"  {r['table']}: {r['reason']}: {r['n_rows']:,}"
                for r in self.rejected_reasons.iter_rows(named=True)
            ]
        out.append(
            f"Events from {self.first_event} to {self.last_event}; end of observation {self.observation_end}"
        )
        out.append(
            f"Customers: {self.n_customers:,}, of whom {self.customers_without_events:,} have no interaction"
        )
        if self.uncatalogued_touchpoints.height:
            names = ", ".join(f"{t} ({n:,})" for t, n in self.uncatalogued_touchpoints.head(10).iter_rows())
            out.append(f"Touchpoints missing from the catalog: {names}")
        out += [f"Warning: {w}" for w in self.warnings]
        return out


def summarize_quality(dataset: Dataset) -> QualitySummary:
    """Summarise what was loaded and rejected, the time range and the catalog coverage.

    Parameters
    ----------
    dataset : Dataset
        A validated dataset (:func:`cxlab.load_dataset`).

    Examples
    --------
    >>> from cxlab import quality
    >>> from cxlab.synthetic import make_journeys
    >>> dataset = make_journeys(200, random_state=0).load()
    >>> quality.summarize_quality(dataset).n_customers
    200
    """
    events = dataset.interactions
    known = dataset.touchpoints["touchpoint"].implode()
    uncatalogued = (
        events.filter(~pl.col("touchpoint").is_in(known))
        .group_by("touchpoint")
        .len("n_events")
        .sort("n_events", descending=True)
    )
    return QualitySummary(
        tables=dataset.report.summary(),
        rejected_reasons=dataset.report.rejected_reasons(),
        first_event=events["timestamp"].min(),
        last_event=events["timestamp"].max(),
        observation_end=dataset.observation_end,
        n_customers=dataset.customers.height,
        # an anti-join: 0.3 s at 11.6M events, against 1.3 s for the unique ids and a look-up
        customers_without_events=dataset.customers.lazy()
        .join(events.lazy().select("customer_id"), on="customer_id", how="anti")
        .select(pl.len())
        .collect()
        .item(),
        uncatalogued_touchpoints=uncatalogued,
        warnings=list(dataset.report.warnings),
    )


def events_by_month(dataset: Dataset) -> pl.DataFrame:
    """Events per calendar month and journey stage: ``month``, ``stage``, ``n_events``.

    Parameters
    ----------
    dataset : Dataset
        A validated dataset (:func:`cxlab.load_dataset`).

    Examples
    --------
    >>> from cxlab import quality
    >>> from cxlab.synthetic import make_journeys
    >>> dataset = make_journeys(200, random_state=0).load()
    >>> quality.events_by_month(dataset)["n_events"].sum() == dataset.interactions.height
    True
    """
    # Lazy: polars' eager group-by on a computed key took 1.2 s and 2.2 GB at 11.6M events; 0.3 s, 15 MB
    return (
        dataset.interactions.lazy()
        .group_by(pl.col("timestamp").dt.truncate("1mo").alias("month"), "stage")
        .len("n_events")
        .sort("month", "stage")
        .collect()
    )


def touchpoint_mix(dataset: Dataset) -> pl.DataFrame:
    """Events and customers per touchpoint, in stage order, with each touchpoint's share of events.

    Parameters
    ----------
    dataset : Dataset
        A validated dataset (:func:`cxlab.load_dataset`).

    Examples
    --------
    >>> from cxlab import quality
    >>> from cxlab.synthetic import make_journeys
    >>> dataset = make_journeys(200, random_state=0).load()
    >>> round(quality.touchpoint_mix(dataset)["share_of_events"].sum(), 6)
    1.0
    """
    stage_order = {s: i for i, s in enumerate((*dataset.stages, UNKNOWN))}
    return (
        dataset.interactions.lazy()
        .group_by("touchpoint", "stage", "channel", "kind")
        .agg(pl.len().alias("n_events"), pl.col("customer_id").n_unique().alias("n_customers"))
        .with_columns(
            (pl.col("n_events") / pl.col("n_events").sum()).alias("share_of_events"),
            pl.col("stage").replace_strict(stage_order, default=len(stage_order)).alias("_order"),
        )
        .sort(["_order", "n_events"], descending=[False, True])
        .drop("_order")
        .collect()
    )


def channel_mix(dataset: Dataset) -> pl.DataFrame:
    """Events per channel and kind: ``channel``, ``kind``, ``n_events``, ``share_of_events``.

    Parameters
    ----------
    dataset : Dataset
        A validated dataset (:func:`cxlab.load_dataset`).

    Examples
    --------
    >>> from cxlab import quality
    >>> from cxlab.synthetic import make_journeys
    >>> dataset = make_journeys(200, random_state=0).load()
    >>> quality.channel_mix(dataset).columns
    ['channel', 'kind', 'n_events', 'share_of_events']
    """
    return (
        dataset.interactions.group_by("channel", "kind")
        .len("n_events")
        .with_columns((pl.col("n_events") / pl.col("n_events").sum()).alias("share_of_events"))
        .sort("n_events", descending=True)
    )


def survey_counts(dataset: Dataset) -> pl.DataFrame:
    """Survey answers per metric and rated touchpoint (``relationship`` when none).

    Parameters
    ----------
    dataset : Dataset
        A validated dataset (:func:`cxlab.load_dataset`).

    Examples
    --------
    >>> from cxlab import quality
    >>> from cxlab.synthetic import make_journeys
    >>> dataset = make_journeys(200, random_state=0).load()
    >>> quality.survey_counts(dataset)["n_answers"].sum() == dataset.surveys.height
    True
    """
    return (
        dataset.surveys.with_columns(pl.col("touchpoint").fill_null("relationship"))
        .group_by("metric", "touchpoint")
        .agg(
            pl.len().alias("n_answers"),
            pl.col("response_id").n_unique().alias("n_responses"),
            pl.col("customer_id").n_unique().alias("n_customers"),
            pl.col("score").mean().alias("mean_score"),
        )
        .sort(["metric", "n_answers"], descending=[False, True])
    )
