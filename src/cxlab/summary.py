"""The leadership summary: plain-language findings generated from a run's result tables.

Everything here reads aggregates only (``tables/*.csv`` of the run), never customer rows,
ids or comments, and leaves out any group smaller than ``min_cell_size`` (saying so).

Examples
--------
>>> from cxlab import summary
>>> findings = summary.Findings.from_run("reports/weekly", min_cell_size=30)  # doctest: +SKIP
>>> findings.kpis()                                                          # doctest: +SKIP

The exposure window and horizon are read from the tables that were computed with them
(``retention_overall.csv``, ``touchpoint_impact.csv``), and the NPS cell-size rule from the
survey table's own ``suppressed`` column, so the page cannot disagree with the analysis.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from cxlab.config import EXPOSURE_WINDOW_DAYS, HORIZON_DAYS, MIN_CELL_SIZE
from cxlab.inference import Q_LEVEL
from cxlab.results import Result
from cxlab.rundir import RunDir

# cxlab.retention (lifelines), cxlab.survey (scipy.stats) and cxlab.plotting (seaborn) are imported
# where they are used: the runs index reads the headline figures of every run from here, at the end
# of each run, and would wait 2-3 s for imports it does not need.

MISSING = "not available in this run"
SIGNUP_DAYS = 180
"""The archetype table reads retention since signup at this many days (on the chart's curves)."""


class Bullets(list):
    """Sentences shown as a bulleted list in Jupyter."""

    def _repr_markdown_(self) -> str:
        return "\n".join(f"* {sentence}" for sentence in self)


@dataclass
class Findings:
    """The run's result tables that the summary speaks from (None where a notebook did not run)."""

    retention: pl.DataFrame | None
    profiles: pl.DataFrame | None
    impact: pl.DataFrame | None
    scores: pl.DataFrame | None
    drivers: pl.DataFrame | None
    n_customers: int | None
    min_cell_size: int = MIN_CELL_SIZE
    archetype_retention: pl.DataFrame | None = None
    about: dict = field(default_factory=dict)  # dataset name, first and last event, end of observation
    comparison: pl.DataFrame | None = None  # with the previous run of the same data (comparison.csv)
    churn_steps: pl.DataFrame | None = None  # churned against retained customers (churn_steps.csv)
    previous: dict = field(default_factory=dict)  # the manifest's "comparison": with, archetypes_changed
    topics: pl.DataFrame | None = None  # topics of the survey comments (comment_topics.csv)

    @classmethod
    def from_run(cls, run_dir: str | Path, *, min_cell_size: int = MIN_CELL_SIZE) -> Findings:
        """The findings of the run folder ``run_dir`` (tables a notebook did not write are None)."""
        run = RunDir(run_dir)
        features = run.table_path("customer_features.parquet")
        n_customers = (
            pl.scan_parquet(features).select(pl.len()).collect().item() if features.is_file() else None
        )
        return cls(
            archetype_retention=run.read_table("archetype_retention.csv"),
            about=_about(run, features),
            retention=run.read_table("retention_overall.csv"),
            profiles=run.read_table("archetype_profiles.csv"),
            impact=run.read_table("touchpoint_impact.csv"),
            scores=run.read_table("survey_scores.csv"),
            drivers=run.read_table("survey_drivers.csv"),
            n_customers=n_customers,
            min_cell_size=min_cell_size,
            comparison=run.read_table("comparison.csv"),
            churn_steps=run.read_table("churn_steps.csv"),
            previous=_previous(run),
            topics=run.read_table("comment_topics.csv"),
        )

    @property
    def exposure_window_days(self) -> int:
        """The exposure window the retention tables were computed with."""
        return _setting(self.retention, "exposure_window_days", EXPOSURE_WINDOW_DAYS)

    @property
    def horizon_days(self) -> int:
        """The retention horizon the impact table was computed with."""
        return _setting(self.impact, "horizon_days", HORIZON_DAYS)

    def header(self) -> str:
        """One line for the top of the page: dataset, data period, end of observation, run date."""
        about = self.about
        parts = [
            f"**Data:** {about.get('dataset', MISSING)}",
            f"**Events:** {_date(about.get('first_event'))} to {_date(about.get('last_event'))}",
            f"**End of observation:** {_date(about.get('observation_end'))}",
            f"**Customers:** {_fmt_int(self.n_customers)}",
            f"**Run:** {datetime.now(UTC):%d %b %Y}",
        ]
        return " · ".join(parts)

    def tiles(self) -> Tiles:
        """The headline figures as tiles: value large, what it is, its interval and n, and its
        change since the previous run (an arrow only for a change that passes q < 0.05)."""
        tiles = self.kpis().summary.to_dicts()
        for tile, metric in zip(tiles, (None, "retention at the horizon", "NPS"), strict=True):
            tile["change"] = self._change(metric)
        return Tiles(tiles)

    def _change(self, metric: str | None) -> str:
        row = None if self.comparison is None or metric is None else self.comparison.filter(metric=metric)
        if row is None or row.is_empty():
            return ""
        r = row.row(0, named=True)
        if not r["changed"]:
            return "no significant change since the last run"
        arrow = "▲" if r["difference"] > 0 else "▼"
        return f"{arrow} {r['difference']:+.1f} {r['unit']} since the last run"

    def before_churn(self, top: int = 3) -> Bullets:
        """One sentence for each of the ``top`` largest differences between churned and comparable
        retained customers in touchpoint use before churn that pass q < 0.05."""
        if self.churn_steps is None or self.churn_steps.is_empty():
            return Bullets([f"A comparison of churned and retained customers is {MISSING}."])
        found = (
            self.churn_steps.filter(pl.col("kind") != "transition", pl.col("q_value") < Q_LEVEL)
            .sort(pl.col("difference").abs(), descending=True)
            .head(top)
        )
        if found.is_empty():
            return Bullets(
                ["No touchpoint was used more or less often before churn than by comparable customers."]
            )
        return Bullets(_churn_sentence(r) for r in found.iter_rows(named=True))

    def since_last_run(self) -> Bullets:
        """What changed since the previous run of the same data, in sentences: only changes that
        pass the multiple-testing rule (q < 0.05)."""
        if self.comparison is None:
            return Bullets(
                ["This is the first run of this dataset in its folder: there is nothing to compare with yet."]
            )
        found = self.comparison.filter("changed")
        when = f" ({self.previous['with']})" if self.previous.get("with") else ""
        lines = [
            f"{r['metric'][0].upper()}{r['metric'][1:]}: {r['before']:.1f} → {r['after']:.1f} "
            f"({r['difference']:+.1f} {r['unit']}, 95% CI {r['ci_low']:+.1f} to {r['ci_high']:+.1f})."
            for r in found.iter_rows(named=True)
        ]
        lines.append(
            f"{self.comparison.height - found.height} of {self.comparison.height} figures compared with the "
            f"last run{when} did not change by more than chance would explain."
        )
        if self.previous.get("archetypes_changed"):
            lines.append(
                "The archetypes themselves changed since the last run, so their shares are not comparable."
            )
        return Bullets(lines)

    def plot_retention(self, ax=None):
        """Retention since signup by archetype, with 95% bands."""
        from cxlab import plotting

        curves = self.archetype_retention
        if curves is None or curves.drop_nulls("retention").is_empty():
            return plotting.plot_message(f"Retention by archetype is {MISSING}.", ax=ax)
        small = curves.filter(pl.col("n_at_start") < self.min_cell_size)["group"].unique()
        shown = curves.filter(~pl.col("group").is_in(small.implode())).drop_nulls("retention")
        if shown.is_empty():
            message = f"Every archetype has fewer than {self.min_cell_size} customers, so none is drawn."
            return plotting.plot_message(message, ax=ax)
        return plotting.plot_retention_by_group(
            shown, title="Customers still active, by archetype", xlabel="days since signup", ax=ax
        )

    def plot_effects(self, ax=None):
        """The touchpoint associations the page names, in points of retention, with intervals."""
        from cxlab import plotting

        found = self.reported_effects()
        if found is None or found.is_empty():
            return None  # touchpoint_findings() says why in words: no second, empty chart
        data = found.select(
            pl.col("touchpoint").str.replace_all("_", " ").alias("label"),
            *(pl.col(c) * 100 for c in ("estimate", "ci_low", "ci_high")),
        )
        return plotting.plot_effect_bars(
            data, title=f"Touchpoints associated with retention {self.horizon_days} days later",
            xlabel="points of retention (95% interval)", ax=ax,
        )  # fmt: skip

    def plot_nps(self, ax=None):
        """NPS by archetype with 95% intervals (groups below the smallest cell left out)."""
        from cxlab import plotting

        rows = self._nps_by_archetype()
        if rows is None or rows.is_empty():
            return plotting.plot_message(f"NPS by archetype is {MISSING}.", ax=ax)
        return plotting.plot_scores_by_group(
            rows, title="NPS by archetype", xlabel="NPS (-100 to 100, 95% interval)", ax=ax
        )

    def show_topics(self) -> None:
        """What customers write about: a heading, two sentences and the topics chart, shown only
        when the comments had topics (the page says nothing about comments otherwise). Topic
        names are their top terms; no comment text is ever shown here."""
        from IPython.display import Markdown, display

        from cxlab import plotting

        if self.topics is None or self.topics.is_empty():
            return
        top = self.topics.sort("n_comments", descending=True).row(0, named=True)
        worst = self.topics.sort("mean_sentiment").row(0, named=True)
        nps = "" if worst["nps"] is None else (
            f"; those who wrote about it gave an NPS of {worst['nps']:+.0f} "
            f"(95% CI {worst['nps_ci_low']:+.0f} to {worst['nps_ci_high']:+.0f}, n = {worst['n_nps']:,})"
        )  # fmt: skip
        display(Markdown(
            "## What customers write about\n\n"
            f"Survey comments fall into {self.topics.height} topics, named by their most telling words. "
            f"Most written about: *{top['topic_name']}* ({top['share']:.0%} of comments). Most negative: "
            f"*{worst['topic_name']}*{nps}. Topics are what people chose to write about, so the NPS of a "
            "topic is associated with it, not caused by it."
        ))  # fmt: skip
        plotting.plot_topics(self.topics)

    def plot_fix_first(self, ax=None):
        """The survey's key drivers: importance against rating."""
        from cxlab import plotting

        if self.drivers is None or self.drivers.is_empty():
            return None  # fix_first() says so in words: no second, empty chart
        return plotting.plot_driver_quadrant(self.drivers, ax=ax)

    def reported_effects(self, top: int = 3) -> pl.DataFrame | None:
        """What the page names and draws: the ``top`` largest helpful and harmful retention
        differences among those that pass the multiple-testing rule and do not depend on the
        number of archetypes."""
        difference = self.retention_differences()
        from cxlab.retention import named_effects

        return None if difference is None else named_effects(difference, top=top)

    def _nps_by_archetype(self) -> pl.DataFrame | None:
        if self.scores is None:
            return None
        by_archetype = self._relationship_nps().filter(pl.col("segment") != "all", ~pl.col("suppressed"))
        return by_archetype.select(pl.col("segment").alias("group"), "score", "ci_low", "ci_high", "n")

    def _relationship_nps(self) -> pl.DataFrame:
        """NPS rows of the survey table about the whole relationship, every segment, no month or stage."""
        return self.scores.filter(
            pl.col("metric") == "nps", pl.col("touchpoint").is_null(),
            pl.col("month").is_null(), pl.col("stage").is_null(),
        )  # fmt: skip

    def kpis(self) -> Result:
        """Headline figures, each with its interval and n."""
        rows = [{"kpi": "customers", "value": _fmt_int(self.n_customers), "interval": "", "n": ""}]
        rows.append(self._retention_kpi())
        rows.append(self._nps_kpi())
        return Result(pl.DataFrame(rows), {}, None, "Headline", text="Intervals are 95%.")

    def _retention_kpi(self) -> dict:
        window_days, horizon_days = self.exposure_window_days, self.horizon_days
        name = f"retained {horizon_days} days after their first {window_days} days"
        row = None if self.retention is None else self.retention.filter(pl.col("days") == horizon_days)
        if row is None or row.height == 0 or row["retention"][0] is None:
            return {"kpi": name, "value": MISSING, "interval": "", "n": ""}
        r = row.row(0, named=True)
        interval = f"{r['ci_low']:.0%} to {r['ci_high']:.0%}"
        return {
            "kpi": name,
            "value": f"{r['retention']:.0%}",
            "interval": interval,
            "n": f"{r['n_at_start']:,}",
        }

    def _nps_kpi(self) -> dict:
        if self.scores is None:
            return {"kpi": "NPS", "value": MISSING, "interval": "", "n": ""}
        overall = self._relationship_nps().filter(pl.col("segment") == "all")
        if overall.height == 0:
            return {"kpi": "NPS", "value": MISSING, "interval": "", "n": ""}
        r = overall.row(0, named=True)
        if r["suppressed"]:
            return {
                "kpi": "NPS",
                "value": f"suppressed (fewer than {r['min_cell_size']} answers)",
                "interval": "",
                "n": "",
            }
        return {
            "kpi": "NPS",
            "value": f"{r['score']:+.0f}",
            "interval": f"{r['ci_low']:+.0f} to {r['ci_high']:+.0f}",
            "n": f"{r['n']:,}",
        }

    def archetypes(self) -> Result:
        """Name, share, retention and what sets each archetype apart; small ones suppressed."""
        title = "Customer archetypes"
        if self.profiles is None:
            return Result.not_estimable(f"archetypes are {MISSING}", title=title)
        small = pl.col("n_customers") < self.min_cell_size

        def percent(column: str) -> pl.Expr:
            shown = pl.format("{}%", (100 * pl.col(column)).round(0).cast(pl.Int64))
            return pl.when(small).then(pl.lit("suppressed")).otherwise(shown)

        at = f"still active {SIGNUP_DAYS} days after signup"
        curves = self.archetype_retention
        staying = (
            pl.DataFrame(schema={"archetype_name": pl.String, "_staying": pl.Float64})
            if curves is None
            else curves.filter(pl.col("days") == SIGNUP_DAYS).select(
                pl.col("group").alias("archetype_name"), pl.col("retention").alias("_staying")
            )
        )
        table = self.profiles.join(staying, on="archetype_name", how="left", maintain_order="left").select(
            pl.col("archetype_name").alias("archetype"),
            percent("share").alias("share of customers"),
            percent("_staying").fill_null(MISSING if curves is None else "not followed that long").alias(at),
            pl.when(small)
            .then(pl.lit(""))
            .otherwise(pl.col("over_represented"))
            .alias("uses more than average"),
        )
        text = (
            f"{table.height} archetypes; groups of fewer than {self.min_cell_size} customers are suppressed."
        )
        return Result(table, {}, None, title, text=text)

    def retention_differences(self) -> pl.DataFrame | None:
        """Adjusted retention differences for all customers, groups below the minimum n left out."""
        if self.impact is None:
            return None
        large = (pl.col("n_exposed") >= self.min_cell_size) & (pl.col("n_unexposed") >= self.min_cell_size)
        return self.impact.filter(
            pl.col("method") == "retention_diff",
            pl.col("segment") == "all",
            pl.col("estimate").is_not_null(),
            large,
        )

    def touchpoint_findings(self) -> Bullets:
        """Sentences for the touchpoints that help and hurt retention most (adjusted effects)."""
        difference = self.retention_differences()
        if difference is None:
            return Bullets([f"Touchpoint effects are {MISSING}."])
        if difference.height == 0:
            return Bullets(
                [
                    "No touchpoint effect on retention could be estimated in this run "
                    "(see the impact notebook)."
                ]
            )
        from cxlab.retention import describe_differences

        sentences = describe_differences(
            difference, exposure_window_days=self.exposure_window_days, horizon_days=self.horizon_days
        )
        drifting = self.impact.filter(
            pl.col("method") == "rmst_diff", pl.col("q_value") < Q_LEVEL, pl.col("estimate").is_not_null()
        )
        sentences[-1:-1] = [
            f"The effect of {r['touchpoint'].replace('_', ' ')} changes over time: over the first "
            f"{self.horizon_days} days it comes to {r['estimate']:+.1f} days retained (95% CI "
            f"{r['ci_low']:+.1f} to {r['ci_high']:+.1f})."
            for r in drifting.iter_rows(named=True)
        ]
        return Bullets(sentences)

    def fix_first(self) -> Bullets:
        """The survey's fix-first drivers, in words."""
        if self.drivers is None or self.drivers.height == 0:
            return Bullets([f"A survey driver analysis is {MISSING}."])
        from cxlab.survey import fix_first

        first = fix_first(self.drivers)
        if first.height == 0:
            return Bullets(
                ["No rated touchpoint is both a strong driver of NPS and rated clearly below the others."]
            )
        return Bullets(
            f"{r['driver'].replace('_', ' ')}: explains {r['importance']:.0%} of NPS variation, "
            f"rated {r['mean_score']:.2f} (95% CI {r['score_ci_low']:.2f} to {r['score_ci_high']:.2f}, "
            f"n = {r['score_n']:,}) against {r['others_mean_score']:.2f} for the other rated touchpoints"
            for r in first.iter_rows(named=True)
        )

    def methods_and_caveats(self) -> str:
        """The methods paragraph, written from the settings the tables were computed with."""
        return methods_and_caveats(
            exposure_window_days=self.exposure_window_days,
            horizon_days=self.horizon_days,
            min_cell_size=self.min_cell_size,
        )


def methods_and_caveats(*, exposure_window_days: int, horizon_days: int, min_cell_size: int) -> str:
    """The methods paragraph, written from the run's settings."""
    return (
        "**How to read this.** Customers are followed from the end of their first "
        f"{exposure_window_days} days "
        f"(what they used in those days is their *exposure*); retention is measured {horizon_days} days "
        "later. Customers still active when the data end count as retained for as long as they were "
        "observed (censored), not for ever. *Adjusted* effects compare customers who used a touchpoint "
        "with customers like them in the other touchpoints they used, their archetype in those first "
        "days and their attributes: they are careful associations, not the results of experiments, "
        "and differences the data do not record can still bias them. Only effects that pass a "
        "multiple-testing rule and do not depend on the number of archetypes are listed. Intervals are "
        "95%. Groups of fewer than "
        f"{min_cell_size} customers or answers are not shown."
    )


def _setting(table: pl.DataFrame | None, column: str, default: int) -> int:
    """A setting a table was computed with (the same on every row), or ``default`` without one."""
    if table is None or column not in table.columns or table[column].is_null().all():
        return default
    return int(table[column].drop_nulls()[0])


def _fmt_int(value: int | None) -> str:
    return MISSING if value is None else f"{value:,}"


class Tiles(list):
    """Headline figures shown as tiles in Jupyter and in the exported page."""

    def _repr_html_(self) -> str:
        tiles = "".join(
            "<div style='flex:1 1 12rem;border:1px solid #d0d7de;border-radius:8px;padding:0.8rem 1rem'>"
            f"<div style='font-size:1.9rem;font-weight:600'>{html.escape(str(t['value']))}</div>"
            f"<div style='color:#333'>{html.escape(str(t['kpi']))}</div>"
            f"<div style='color:#666;font-size:0.85rem'>{html.escape(_detail(t))}</div>"
            f"<div style='font-size:0.85rem;font-weight:600'>{html.escape(t.get('change', ''))}</div></div>"
            for t in self
        )
        return f"<div style='display:flex;flex-wrap:wrap;gap:0.8rem;margin:0.5rem 0'>{tiles}</div>"


def _detail(tile: dict) -> str:
    interval = f"95% CI {tile['interval']}" if tile.get("interval") else ""
    n = f"n = {tile['n']}" if tile.get("n") else ""
    return " · ".join(x for x in (interval, n) if x)


def _churn_sentence(r: dict) -> str:
    what = "had any contact with us" if r["kind"] == "activity" else f"used {r['step'].replace('_', ' ')}"
    more = "more" if r["difference"] > 0 else "less"
    return (
        f"In their last {r['window_days']} days, customers who churned {what} {more} often than "
        f"comparable customers who stayed ({r['share_churned']:.0%} against {r['share_retained']:.0%}): "
        "a sign to watch, not a proven cause."
    )


def _previous(run: RunDir) -> dict:
    """The ``comparison`` entry of the run's manifest (empty when there is none)."""
    try:
        return json.loads(run.manifest.read_text(encoding="utf-8")).get("comparison") or {}
    except (OSError, ValueError):
        return {}


def _about(run: RunDir, features: Path) -> dict:
    """Dataset name, first and last event and end of observation, from the run's own copies."""
    about = {}
    saved = run.dataset / "dataset.json"
    if saved.is_file():
        meta = json.loads(saved.read_text())
        source = (meta["tables"].get("interactions") or {}).get("source") or ""
        about["dataset"] = Path(source.split(" (")[0]).parent.name or source
        about["observation_end"] = meta.get("observation_end")
    if features.is_file():
        span = (
            pl.scan_parquet(features)
            .select(
                pl.col("first_event_at").min(),
                pl.col("last_event_at").max(),
                pl.col("observation_end").first(),
            )
            .collect()
        )
        about["first_event"], about["last_event"], end = span.row(0)
        about.setdefault("observation_end", end)
    return about


def _date(value) -> str:
    if value is None:
        return MISSING
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return f"{when:%d %b %Y}"
