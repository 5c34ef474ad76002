"""The data contract as data: tables, columns, types and rules.

One table of columns drives validation (:mod:`cxlab.io`), error messages and the
data-contract page of the docs (``cxlab contract`` prints it), so the three cannot
drift apart.

Examples
--------
>>> from cxlab.schema import TABLES
>>> [c.name for c in TABLES["customers"].columns if c.required]
['customer_id', 'signup_at']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STAGES = ("awareness", "consideration", "purchase", "post_purchase")
"""Journey stages, in journey order."""

KINDS = ("digital", "physical", "human")
"""Kinds of touchpoint in the catalog."""

UNKNOWN = "unknown"
"""Stage, channel or kind of a touchpoint that neither the data nor the catalog describes."""

LABELS = ("touchpoint", "channel", "stage", "kind")
"""Columns of a validated dataset that hold a few distinct names (interactions, the catalog,
the surveys' ``touchpoint``): polars ``Categorical``, 4 bytes a row instead of 16 or more (at
11.6M events the dataset is 0.56 GB smaller and each notebook peaks 0.5-1 GB lower)."""

ROW = "source_row"
"""The column of a rejected row holding its 1-based row number in the source."""

REASON = "reason"
"""The column holding why a row was rejected (null for valid rows)."""

METRIC_SCALES: dict[str, tuple[float, float]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
"""Built-in survey metrics and their scales; the mapping's ``scales`` key adds more."""


@dataclass(frozen=True)
class Column:
    """One column of a contract table."""

    name: str
    dtype: str  # "string", "timestamp" or "number"
    required: bool
    rule: str


@dataclass(frozen=True)
class Table:
    """One table of a dataset directory."""

    name: str
    required: bool
    row: str
    columns: tuple[Column, ...]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


TABLES: dict[str, Table] = {
    "customers": Table(
        "customers",
        required=True,
        row="a customer (may be derived from interactions, see the mapping)",
        columns=(
            Column("customer_id", "string", True, "non-empty, unique"),
            Column("signup_at", "timestamp", True, "start of the relationship"),
            Column("churned_at", "timestamp", False, "empty = not churned by the end of observation"),
        ),
    ),
    "interactions": Table(
        "interactions",
        required=True,
        row="one touchpoint event of a customer",
        columns=(
            Column("customer_id", "string", True, "must exist in customers"),
            Column(
                "timestamp",
                "timestamp",
                True,
                "not before signup_at minus the pre-purchase window, not after the end of observation",
            ),
            Column("touchpoint", "string", True, "non-empty; mapped onto catalog names"),
            Column("channel", "string", False, "else from the catalog, else 'unknown'"),
            Column("stage", "string", False, f"one of {', '.join(STAGES)}; else from the catalog"),
            Column("value", "number", False, "order amount, minutes on call, ..."),
        ),
    ),
    "surveys": Table(
        "surveys",
        required=False,
        row="one answer to one survey question",
        columns=(
            Column("customer_id", "string", True, "must exist in customers"),
            Column("responded_at", "timestamp", True, "not after the end of observation"),
            Column("response_id", "string", False, "else one response per (customer_id, responded_at)"),
            Column("metric", "string", True, "nps (0-10), csat (1-5), ces (1-7) or a named scale"),
            Column("score", "number", True, "inside the metric's scale"),
            Column("touchpoint", "string", False, "the touchpoint rated; empty = relationship"),
            Column("comment", "string", False, "free text"),
        ),
    ),
    "touchpoints": Table(
        "touchpoints",
        required=False,
        row="a touchpoint's catalog entry (else the built-in catalog applies)",
        columns=(
            Column("touchpoint", "string", True, "unique"),
            Column("stage", "string", True, f"one of {', '.join(STAGES)}"),
            Column("channel", "string", True, "non-empty"),
            Column("kind", "string", False, f"one of {', '.join(KINDS)}"),
        ),
    ),
}


def contract_markdown() -> str:
    """Render the input tables of the contract as Markdown, for the docs."""
    parts = []
    for table in TABLES.values():
        parts.append(
            f"### {table.name}\n\nOne row is {table.row}. "
            f"{'Required' if table.required else 'Optional'} table.\n"
        )
        parts.append("| column | type | required | rule |\n|---|---|---|---|")
        for c in table.columns:
            parts.append(f"| `{c.name}` | {c.dtype} | {'yes' if c.required else 'no'} | {c.rule} |")
        parts.append("")
    return "\n".join(parts)


def column_name(label: str) -> str:
    """A touchpoint, channel or attribute label made safe as part of a column name."""
    return re.sub(r"[^0-9a-z]+", "_", str(label).strip().lower()).strip("_") or "blank"
