"""The run folder: its paths, and its result tables described as data.

This module is the only code that builds run-folder paths and reads or writes its tables.
:data:`OUTPUT_TABLES` describes each result table of contract section 3 (file, columns and
types, the notebook that writes it); the description generates the docs' results section
(:func:`results_markdown`) and checks every table when it is written, so that an empty
result is a table with its columns and zero rows, never a column-less file, and reads back
with the same types.

Examples
--------
>>> import polars as pl
>>> from cxlab.rundir import RunDir
>>> run = RunDir(getfixture("tmp_path"))
>>> path = run.write_table("retention_overall.csv", pl.DataFrame())  # nothing to report
>>> run.read_table("retention_overall.csv").columns[:3]
['group', 'days', 'n_at_start']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from cxlab.exceptions import DataContractError

if TYPE_CHECKING:
    from cxlab.results import Result

_S, _F, _I, _B = pl.String, pl.Float64, pl.Int64, pl.Boolean


@dataclass(frozen=True)
class OutputTable:
    """One result table of a run: its file, the notebook that writes it, its columns."""

    file: str
    producer: str
    columns: dict[str, pl.DataType]
    description: str
    more_columns: str = ""  # what follows the fixed columns, for tables whose width varies
    every_run: bool = True  # False: written only when there is something to say (a previous run)

    def conform(self, frame: pl.DataFrame, *, written_earlier: bool = False) -> pl.DataFrame:
        """``frame`` with every declared column, in order and cast to its type.

        A frame with no columns at all (nothing to report) becomes the empty table. A frame
        that lacks some declared columns raises, unless it was ``written_earlier`` by an
        older cxlab (the contract only ever adds columns): those columns are then empty."""
        if not frame.columns:
            return pl.DataFrame(schema=self.columns)
        missing = [c for c in self.columns if c not in frame.columns]
        if missing and written_earlier:
            frame = frame.with_columns(pl.lit(None, self.columns[c]).alias(c) for c in missing)
        elif missing:
            raise DataContractError(
                f"Result table {self.file} lacks column(s) {', '.join(missing)}; "
                f"it must have {', '.join(self.columns)}."
            )
        extra = [c for c in frame.columns if c not in self.columns]
        fixed = [pl.col(c).cast(t) for c, t in self.columns.items()]
        return frame.select(*fixed, *extra)


_IMPACT = {
    "touchpoint": _S, "method": _S, "segment": _S, "estimate": _F, "ci_low": _F, "ci_high": _F,
    "p_value": _F, "n_exposed": _I, "n_unexposed": _I, "ph_p_value": _F, "note": _S,
    "exposure_window_days": _I, "horizon_days": _I, "q_value": _F, "e_value": _F, "e_value_ci": _F,
    "archetype_sensitive": _B,
}  # fmt: skip

OUTPUT_TABLES: dict[str, OutputTable] = {
    t.file: t
    for t in (
        OutputTable(
            "customer_features.parquet",
            "02_journey_map",
            {
                "customer_id": _S,
                "signup_at": pl.Datetime("us"),
                "is_churned": _B,
                "churned_at": pl.Datetime("us"),
                "observed_days": _F,
                "window_complete": _B,
                "exposure_window_days": pl.Int32,
                "observation_end": pl.Datetime("us"),
            },  # fmt: skip
            "one row per customer; `exposure_window_days` and `observation_end` are the settings it "
            "was built with",
            "the journey features, each documented in `cxlab.journeys.FEATURE_COLUMNS` (counts and "
            "shares per touchpoint, channel, stage and kind; `exposed_<touchpoint>` flags for the "
            "exposure window; survey summaries; `attr_<attribute>` customer attributes)",
        ),
        OutputTable(
            "paths.csv",
            "02_journey_map",
            {"path": _S, "n_customers": _I, "share": _F, "retention_rate": _F},
            "the most common journeys: touchpoints joined by ` > `, consecutive repeats collapsed; "
            "the first `path_max_steps` steps, a longer journey ending in ` > …`",
        ),
        OutputTable(
            "funnel.csv",
            "02_journey_map",
            {
                "stage": _S,
                "n_customers": _I,
                "share": _F,
                "conversion_from_previous": _F,
                "drop_off": _F,
                "n_with_stage_events": _I,
                "n_entered_here": _I,
                "median_days_to_convert": _F,
                "days_to_convert_q1": _F,
                "days_to_convert_q3": _F,
            },  # fmt: skip
            "customers whose furthest stage is this one or later, as a share of all customers and "
            "of the previous stage; customers whose first stage this is; days from the first event in "
            "the previous stage to the first in this one (median and quartiles)",
        ),
        OutputTable(
            "transitions.csv",
            "02_journey_map",
            {"from_touchpoint": _S, "to_touchpoint": _S, "count": _I, "probability": _F, "median_days": _F},
            "first-order transitions (with `(start)` and `(end)`); `median_days` between the two events",
        ),
        OutputTable(
            "friction_points.csv",
            "02_journey_map",
            {
                "touchpoint": _S,
                "n_events": _I,
                "n_followed_by_support": _I,
                "share_followed_by_support": _F,
                "n_followed_by_churn": _I,
                "share_followed_by_churn": _F,
                "n_csat": _I,
                "n_low_csat": _I,
                "share_low_csat": _F,
            },  # fmt: skip
            "touchpoints followed by a support contact or churn within `friction_within_days` "
            "(among events whose next days are observed), and low CSAT",
        ),
        OutputTable(
            "churn_steps.csv",
            "02_journey_map",
            {
                "kind": _S,
                "step": _S,
                "n_churned": _I,
                "share_churned": _F,
                "n_retained": _I,
                "share_retained": _F,
                "difference": _F,
                "ci_low": _F,
                "ci_high": _F,
                "p_value": _F,
                "q_value": _F,
                "window_days": _I,
            },  # fmt: skip
            "share of churned customers and of comparable retained ones (read at a matched tenure) "
            "who had any event (`activity`), used each touchpoint or each transition in the last "
            "`window_days` before churn; the difference with its 95% interval, `q_value` "
            "(Benjamini–Hochberg over the table): an association, not an effect",
        ),
        OutputTable(
            "cohort_retention.csv",
            "02_journey_map",
            {
                "cohort": _S,
                "month": _I,
                "n_at_risk": _I,
                "retention": _F,
                "ci_low": _F,
                "ci_high": _F,
                "suppressed": _B,
            },  # fmt: skip
            "Kaplan–Meier retention of each signup month (`cohort`) at whole months since signup, "
            "only as far as the cohort has been followed; `suppressed` (retention empty) below "
            "`min_cell_size` customers at risk",
        ),
        OutputTable(
            "lifecycle.csv",
            "02_journey_map",
            {"month": _S, "new": _I, "returning": _I, "resurrected": _I, "dormant": _I},
            "customers with activity per calendar month: first month, active the month before too, "
            "active again after a gap; `dormant`: active the month before, not this month",
        ),
        OutputTable(
            "archetypes.csv",
            "03_archetypes",
            {"customer_id": _S, "archetype": _I, "archetype_name": _S},
            "each customer's archetype (0 = largest)",
        ),
        OutputTable(
            "archetype_profiles.csv",
            "03_archetypes",
            {
                "archetype": _I,
                "archetype_name": _S,
                "n_customers": _I,
                "share": _F,
                "retention_rate": _F,
                "over_represented": _S,
                "under_represented": _S,
            },  # fmt: skip
            "one row per archetype; over- and under-represented touchpoints with their lift",
        ),
        OutputTable(
            "archetype_retention.csv",
            "03_archetypes",
            {"group": _S, "days": _I, "n_at_start": _I, "retention": _F, "ci_low": _F, "ci_high": _F},
            "Kaplan–Meier retention since signup of each archetype (`group`), every 15 days up to 360: a "
            "description of the archetypes, not an effect",
        ),
        OutputTable(
            "retention_overall.csv",
            "04_touchpoint_impact",
            {
                "group": _S,
                "days": _I,
                "n_at_start": _I,
                "retention": _F,
                "ci_low": _F,
                "ci_high": _F,
                "exposure_window_days": _I,
            },  # fmt: skip
            "Kaplan–Meier retention of all customers at 30, 90 and `horizon_days` days after the "
            "landmark (`exposure_window_days` after signup)",
        ),
        OutputTable(
            "touchpoint_impact.csv",
            "04_touchpoint_impact",
            _IMPACT,
            "`cox_hr`: adjusted hazard ratio of churn after the landmark; `retention_diff`: adjusted "
            "retention difference at `horizon_days`, in probability points; `segment` is `all` or an "
            "archetype at the landmark; `note` says why a row has no estimate; `q_value`: "
            "Benjamini–Hochberg over the family (one method: the touchpoints of the all-customer model, "
            "or every archetype's touchpoints together); `e_value`, `e_value_ci`: E-values of a hazard "
            "ratio and its limit nearest 1; `archetype_sensitive`: the sign or significance changes with "
            "one archetype fewer or more, or none",
        ),
        OutputTable(
            "attribution.csv",
            "04_touchpoint_impact",
            {"touchpoint": _S, "method": _S, "conversion": _S, "credit": _F, "n_customers": _I},
            "credit for retention at the horizon by `first_touch`, `last_touch`, `linear`, "
            "`time_decay` and `markov_removal` (sums to 1 per method)",
        ),
        OutputTable(
            "survey_scores.csv",
            "05_survey",
            {
                "metric": _S,
                "touchpoint": _S,
                "segment": _S,
                "stage": _S,
                "month": _S,
                "n": _I,
                "score": _F,
                "ci_low": _F,
                "ci_high": _F,
                "suppressed": _B,
                "min_cell_size": _I,
            },  # fmt: skip
            "NPS (points), CSAT and CES (means), `csat_top2` (share) with 95% intervals and n; "
            "`suppressed` when n is below `min_cell_size`",
        ),
        OutputTable(
            "survey_drivers.csv",
            "05_survey",
            {
                "outcome": _S,
                "driver": _S,
                "method": _S,
                "importance": _F,
                "ci_low": _F,
                "ci_high": _F,
                "r2": _F,
                "rank": _I,
                "scale": _S,
                "mean_score": _F,
                "n_responses": _I,
                "score_ci_low": _F,
                "score_ci_high": _F,
                "score_n": _I,
                "others_mean_score": _F,
                "vs_others_ci_low": _F,
                "vs_others_ci_high": _F,
                "source": _S,
            },  # fmt: skip
            "share of the outcome's variance each touchpoint rating explains (LMG and relative "
            "weights, bootstrap 95% intervals; LMG only up to 10 drivers) on complete responses; "
            "`mean_score` with its t interval and `score_n` over every answer rating the driver; "
            "`others_mean_score` over the other drivers' answers, and the Welch 95% interval of the "
            "difference (`vs_others_ci_low`, `vs_others_ci_high`); `source` is `rating` (cxlab "
            "extension: `text` for drivers derived from the comments, in the survey notebook only)",
        ),
        OutputTable(
            "comment_topics.csv",
            "05_survey",
            {
                "topic": _I,
                "topic_name": _S,
                "n_comments": _I,
                "share": _F,
                "mean_sentiment": _F,
                "share_negative": _F,
                "n_nps": _I,
                "nps": _F,
                "nps_ci_low": _F,
                "nps_ci_high": _F,
                "n_followed": _I,
                "hazard_ratio": _F,
                "hr_ci_low": _F,
                "hr_ci_high": _F,
                "p_value": _F,
                "q_value": _F,
            },  # fmt: skip
            "topics of the survey comments (TF-IDF and NMF, the number chosen by bootstrap stability): "
            "`topic_name` from its top terms, its share of comments, mean sentiment (-1 to +1, VADER "
            "with a CX vocabulary) and share negative, the NPS of the answers mentioning it with its 95% "
            "interval, and the Cox hazard ratio of churn after the first comment against the other "
            "topics' writers (BH `q_value` over the topics); never comment text",
        ),
        OutputTable(
            "comparison.csv",
            "cxlab run (compare)",
            {
                "kind": _S,
                "metric": _S,
                "unit": _S,
                "before": _F,
                "after": _F,
                "difference": _F,
                "ci_low": _F,
                "ci_high": _F,
                "p_value": _F,
                "q_value": _F,
                "n_before": _I,
                "n_after": _I,
                "changed": _B,
            },  # fmt: skip
            "each headline metric, survey score, archetype share and touchpoint effect against the "
            "previous succeeded run of the same data source: both values, the difference with its 95% "
            "interval, `q_value` (Benjamini–Hochberg over every row), `changed` when q < 0.05 (see "
            "`cxlab.compare`); written only when there is a previous run",
            every_run=False,
        ),
        OutputTable(
            "comparison_quality.csv",
            "cxlab run (compare)",
            {"item": _S, "before": _S, "after": _S},
            "rows read and rejected (by reason) per table, touchpoint labels new and gone, and the "
            "period of the events, in the previous run and this one",
            every_run=False,
        ),
    )
}
"""The result tables of a run, by file name."""


class RunDir:
    """A run folder: where each part of a run lives, and its result tables.

    Parameters
    ----------
    path : str or Path
        The run folder (it need not exist yet).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    @property
    def tables(self) -> Path:
        return self.path / "tables"

    @property
    def dataset(self) -> Path:
        return self.path / "dataset"

    @property
    def rejected(self) -> Path:
        return self.path / "rejected"

    @property
    def notebooks(self) -> Path:
        return self.path / "notebooks"

    @property
    def html(self) -> Path:
        return self.path / "html"

    @property
    def logs(self) -> Path:
        return self.path / "logs"

    @property
    def manifest(self) -> Path:
        return self.path / "manifest.json"

    def table_path(self, name: str) -> Path:
        """The path of result table ``name`` (a file of :data:`OUTPUT_TABLES`)."""
        return self.tables / _spec(name).file

    def write_table(self, name: str, table: pl.DataFrame | Result) -> Path:
        """Check ``table`` against its description and write it (Parquet or CSV by its name)."""
        frame = table if isinstance(table, pl.DataFrame) else table.summary
        frame = _spec(name).conform(frame)
        path = self.table_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".parquet":
            frame.write_parquet(path)
        else:
            neutralize_formulas(frame).write_csv(path)
        return path

    def read_table(self, name: str) -> pl.DataFrame | None:
        """Result table ``name`` with its declared types, or None when the run did not write it."""
        spec, path = _spec(name), self.table_path(name)
        if not path.is_file():
            return None
        if path.suffix == ".parquet":
            return pl.read_parquet(path)
        # Only the columns the table does not declare need their types inferred, from every row
        # (one empty near the top must not turn a column of numbers into text); inferring a
        # declared one is wasted: 0.7 s of the 0.75 s it takes to read archetypes.csv at 1M.
        undeclared = set(pl.scan_csv(path).collect_schema()) - set(spec.columns)
        frame = pl.read_csv(
            path, schema_overrides=spec.columns, infer_schema=bool(undeclared), infer_schema_length=None
        )
        return spec.conform(restore_formulas(frame), written_earlier=True)

    def table_names(self) -> list[str]:
        """The result tables this run holds, by file name."""
        return sorted(p.name for p in self.tables.glob("*") if p.name in OUTPUT_TABLES)


FORMULA_START = "=+-@\t\r"
"""A cell starting with one of these is run as a formula by spreadsheet programs."""


def neutralize_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with an apostrophe before every text cell that starts like a formula (or with
    an apostrophe, so that :func:`restore_formulas` gives back exactly what was written).

    Every CSV cxlab writes goes through this: an identifier such as ``=HYPERLINK(...)`` in an
    export must not run when an analyst opens a result in a spreadsheet. Parquet keeps the
    raw value.

    Examples
    --------
    >>> frame = pl.DataFrame({"customer_id": ["=cmd|' /C calc'!A0", "c1", "'quoted"]})
    >>> neutralize_formulas(frame)["customer_id"].to_list()
    ["'=cmd|' /C calc'!A0", 'c1', "''quoted"]
    >>> restore_formulas(neutralize_formulas(frame)).equals(frame)
    True
    """
    risky = f"^[{re.escape(FORMULA_START)}']"
    text = [c for c, t in frame.schema.items() if t == pl.String]
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(risky)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in text
    )


def restore_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Undo :func:`neutralize_formulas` on a table read back from CSV."""
    text = [c for c, t in frame.schema.items() if t == pl.String]
    return frame.with_columns(pl.col(c).str.strip_prefix("'") for c in text)


def _spec(name: str) -> OutputTable:
    try:
        return OUTPUT_TABLES[name]
    except KeyError:
        raise DataContractError(
            f"'{name}' is not a result table of a run; they are: {', '.join(OUTPUT_TABLES)}."
        ) from None


def results_markdown() -> str:
    """The docs' table of result tables, generated from :data:`OUTPUT_TABLES`."""
    lines = ["| table | notebook | columns |", "|---|---|---|"]
    for t in OUTPUT_TABLES.values():
        columns = ", ".join(f"`{c}`" for c in t.columns)
        more = f", then {t.more_columns}" if t.more_columns else ""
        lines.append(f"| `{t.file}` | `{t.producer}` | {t.description}: {columns}{more} |")
    return "\n".join(lines)
