"""Pseudonymized ids: customer and response ids replaced by salted hashes before any
notebook sees the data, so nothing a run writes holds a real id.

Examples
--------
>>> import polars as pl
>>> from cxlab.privacy import hash_ids
>>> hashed = hash_ids(pl.DataFrame({"customer_id": ["a", "b"]}), salt="s")
>>> hashed["customer_id"].str.len_chars().to_list()
[16, 16]
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

import polars as pl

from cxlab.dataset import Dataset

ID_COLUMNS = ("customer_id", "response_id")
"""The columns that hold ids."""


def pseudonymize(dataset: Dataset, *, salt: str) -> Dataset:
    """The dataset with ``customer_id`` and ``response_id`` replaced by salted SHA-256 hashes
    (16 hex digits), everywhere: tables and rejected rows, whose id columns keep the export's own
    names (a mapping's ``Account ID``). The same salt (environment variable ``CXLAB_ID_SALT``)
    gives the same hashes across runs; without it each run draws its own."""
    for table in dataset.report.tables.values():
        table.rejected = hash_ids(table.rejected, salt=salt, columns=(*ID_COLUMNS, *table.id_columns))
    return Dataset(
        customers=hash_ids(dataset.customers, salt=salt),
        interactions=hash_ids(dataset.interactions, salt=salt),
        surveys=hash_ids(dataset.surveys, salt=salt),
        touchpoints=dataset.touchpoints,
        report=dataset.report,
    )


def pseudonymize_tables(tables, *, salt: str):
    """Per-customer tables (:class:`cxlab.precomputed.Precomputed`) with hashed ids."""
    if tables is None:
        return None
    return replace(
        tables,
        features=hash_ids(tables.features, salt=salt),
        archetypes=hash_ids(tables.archetypes, salt=salt),
    )


def hash_ids(frame: pl.DataFrame, *, salt: str, columns: tuple[str, ...] = ID_COLUMNS) -> pl.DataFrame:
    """``frame`` with every id column (of ``columns``) replaced by salted SHA-256 hashes (16 hex digits)."""
    for column in [c for c in dict.fromkeys(columns) if c in frame.columns]:
        ids = frame[column].drop_nulls().unique().cast(pl.String).to_list()
        digests = {v: hashlib.sha256(f"{salt}:{v}".encode()).hexdigest()[:16] for v in ids}
        frame = frame.with_columns(pl.col(column).cast(pl.String).replace_strict(digests, default=None))
    return frame


_NAME = r"[A-Z][a-z]+(?:[ -][A-Z][a-z]+)?"
REDACTIONS = (
    (r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", "[email]"),
    (r"(?i)\b(?:https?://|www\.)\S+", "[link]"),
    (r"\b[A-Za-z]{1,4}[-/]?\d{4,}\b", "[number]"),  # account and order numbers such as ACC-0012345
    (r"\+?\(?\d(?:[ ()./-]{0,2}\d){5,}", "[number]"),  # phones, accounts, cards: 6 digits or more
    (rf"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr)\.? {_NAME}", "[name]"),
    (rf"(?i:\b(my name is|this is|spoke to|spoke with|talked to|ask for|asked for|agent|"
     rf"advisor|rep|called|named|from|thanks to|thank you|thanks),?) {_NAME}", "$1 [name]"),
)  # fmt: skip
"""What :func:`redact` masks: e-mail addresses, links, numbers of 6 digits or more (phones,
accounts, cards) and account-like codes, and names after a title (``Mr``, ``Dr``) or a phrase
that introduces one ("my name is", "spoke to", "thanks"). A name with no such cue is not found."""


def redact(comments: pl.Series) -> pl.Series:
    """``comments`` with personal details masked (see :data:`REDACTIONS`).

    Examples
    --------
    >>> redact(pl.Series(["Spoke to Anna Berg, call me on +44 20 7946 0958 or anna@example.com"])).item()
    'Spoke to [name], call me on [number] or [email]'
    """
    for pattern, mask in REDACTIONS:
        comments = comments.str.replace_all(pattern, mask)
    return comments


def redact_comments(dataset: Dataset) -> Dataset:
    """The dataset with survey comments redacted (:func:`redact`), in its tables and in rejected
    rows; the runner does this before any notebook sees the data."""
    report = dataset.report.tables.get("surveys")
    if report is not None:
        for column in [c for c in report.rejected.columns if c in (*report.text_columns, "comment")]:
            report.rejected = report.rejected.with_columns(
                _redact_present(report.rejected[column].cast(pl.String))
            )
    if "comment" not in dataset.surveys.columns:
        return dataset
    return replace(dataset, surveys=dataset.surveys.with_columns(_redact_present(dataset.surveys["comment"])))


def _redact_present(comments: pl.Series) -> pl.Series:
    """:func:`redact` of the comments there are. Most answers have none, and polars' regexes
    take 25x as long over 1.9M answers holding 76,000 comments as over the comments alone."""
    present = comments.is_not_null()
    return comments.clone().scatter(present.arg_true(), redact(comments.filter(present)))
