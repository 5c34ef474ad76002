"""Survey analytics: NPS, CSAT and CES with intervals, and key drivers of an outcome.

Scores (:func:`survey_scores`)
    * NPS: promoters (9-10) minus detractors (0-6), in points -100..100; the 95% interval
      uses the trinomial variance of that difference, ``(p + d - (p - d)^2) / n``.
    * CSAT and CES: the mean with a t interval; CSAT also as the top-2-box share (the two
      highest points of its scale) with a Wilson interval (``csat_top2``).
    Cells with fewer than ``min_n`` answers are kept but flagged ``suppressed``: too few to
    report to leadership.

Key drivers (:func:`key_drivers`)
    Per response (``response_id``), the per-touchpoint ratings explain the outcome (NPS by
    default) in a linear regression. Two importance measures that share the explained
    variance R^2 fairly among correlated drivers (where raw correlations credit whatever is
    correlated with everything, the halo effect): the Shapley value of R^2 (LMG), exact over
    every subset of drivers, and Johnson's relative weights. Both sum to R^2; bootstrap
    resamples of the responses give 95% percentile intervals.
    Missing ratings: a driver rated in fewer than half of the responses is left out; the
    responses missing any remaining driver are left out (complete cases), and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from math import factorial

import numpy as np
import polars as pl
from scipy import stats

from cxlab import progress
from cxlab.config import DRIVER_N_BOOTSTRAP, DRIVER_OUTCOME, MIN_CELL_SIZE, RANDOM_STATE
from cxlab.dataset import Dataset
from cxlab.results import Result
from cxlab.rundir import OUTPUT_TABLES
from cxlab.schema import METRIC_SCALES

SCORE_COLUMNS = ["metric", "touchpoint", "segment", "stage", "month", "n", "score", "ci_low", "ci_high"]
MAX_EXACT_DRIVERS = 10
"""Exact Shapley values (LMG) need 2^p regressions per bootstrap draw: 10 drivers take about
10 s on 5,000 responses, 14 take minutes. Beyond this only relative weights (which agree
closely with LMG and cost one eigendecomposition) are computed, and the output says so."""


def nps_category(score: pl.Expr) -> pl.Expr:
    """``promoter`` (9-10), ``passive`` (7-8) or ``detractor`` (0-6)."""
    return (
        pl.when(score >= 9)
        .then(pl.lit("promoter"))
        .when(score >= 7)
        .then(pl.lit("passive"))
        .otherwise(pl.lit("detractor"))
    )


def nps_interval(scores: np.ndarray) -> tuple[float, float, float]:
    """NPS of 0-10 ``scores`` with its 95% normal-approximation interval (in points)."""
    return _nps(np.mean(scores >= 9), np.mean(scores <= 6), len(scores))


def _nps(promoters, detractors, n):
    """NPS in points and its 95% interval from the shares of promoters and detractors, with the
    trinomial variance ``(p + d - (p - d)^2) / n``: numbers, or polars expressions per cell."""
    nps = promoters - detractors
    half = 1.96 * ((promoters + detractors - nps**2).clip(0) / n) ** 0.5
    return 100 * nps, 100 * (nps - half), 100 * (nps + half)


def _mean(scores: np.ndarray) -> tuple[float, float, float]:
    mean = float(np.mean(scores))
    if len(scores) < 2 or np.std(scores) == 0:
        return mean, mean, mean
    low, high = stats.t.interval(0.95, len(scores) - 1, loc=mean, scale=stats.sem(scores))
    return mean, float(low), float(high)


def wilson_interval(k: pl.Expr, n: pl.Expr, confidence: float = 0.95) -> tuple[pl.Expr, pl.Expr]:
    """The Wilson score interval of the share ``k / n`` (no continuity correction), as
    ``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")`` gives it, for many cells at
    once (scipy's is one cell per call: 2 ms each, most of a survey table's time)."""
    z = stats.norm.ppf((1 + confidence) / 2)
    p = k / n
    center = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * (p * (1 - p) / n + z**2 / (4 * n**2)).sqrt()
    return center - half, center + half


def _cell_scores(answers: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """The score rows of every cell (answers sharing ``keys``) at once: NPS with its trinomial
    interval, the CSAT and CES means with t intervals, and CSAT's top-2-box share with a
    Wilson interval; ``n`` answers each."""
    score = pl.col("score")
    cells = answers.group_by([*keys, "metric"], maintain_order=True).agg(
        n=pl.len(),
        mean=score.mean(),
        sd=score.std().fill_null(0),  # one answer: no interval
        promoters=(score >= 9).mean(),
        detractors=(score <= 6).mean(),
        top2=(score >= METRIC_SCALES["csat"][1] - 1).sum(),
    )
    cells = cells.with_columns(t=pl.Series(stats.t.ppf(0.975, np.maximum(cells["n"].to_numpy() - 1, 1))))
    n, metric = pl.col("n"), pl.col("metric")
    nps = _nps(pl.col("promoters"), pl.col("detractors"), n)
    mean_half = pl.col("t") * pl.col("sd") / n.sqrt()
    top2_low, top2_high = wilson_interval(pl.col("top2"), n)
    rows = [
        (metric == "nps", metric, *nps),
        (metric != "nps", metric, pl.col("mean"), pl.col("mean") - mean_half, pl.col("mean") + mean_half),
        (metric == "csat", pl.lit("csat_top2"), pl.col("top2") / n, top2_low, top2_high),
    ]
    return pl.concat(
        cells.filter(which).select(
            *keys,
            name.alias("metric"),
            n.cast(pl.Int64),
            value.alias("score"),
            low.alias("ci_low"),
            high.alias("ci_high"),
        )
        for which, name, value, low, high in rows
    )


@dataclass(repr=False, eq=False)
class SurveyScores(Result):
    """``survey_scores.csv``: NPS, CSAT and CES with 95% intervals and n, by cut."""

    min_cell_size: int = MIN_CELL_SIZE

    def overall(self) -> pl.DataFrame:
        """Each metric over all answers of the relationship survey and of every touchpoint."""
        return self.summary.filter(
            pl.col("month").is_null(), pl.col("stage").is_null(), pl.col("segment") == "all"
        )

    def _describe(self) -> str:
        shown = self.summary.filter(~pl.col("suppressed")).height
        return (
            f"{self.counts['responses']:,} survey responses ({self.counts['answers']:,} answers); "
            f"{shown:,} of {self.summary.height:,} cells have at least {self.min_cell_size} answers "
            "and are shown to leadership."
        )

    def _plot(self, ax=None, *, by: str = "month", metric: str = "nps"):
        from cxlab import plotting

        draw = {
            "month": plotting.plot_score_trend,
            "touchpoint": plotting.plot_touchpoint_scores,
            "segment": plotting.plot_segment_scores,
        }[by]
        if self.summary.filter(pl.col("metric") == metric).is_empty():
            return plotting.plot_message(f"No {metric.upper()} answers in this dataset.", ax=ax)
        return draw(self.summary, metric=metric, ax=ax)


def survey_scores(
    dataset: Dataset, *, archetypes: pl.DataFrame | None = None, min_cell_size: int = MIN_CELL_SIZE
) -> SurveyScores:
    """``survey_scores.csv`` (contract §3): every metric overall and per touchpoint, per archetype
    (``segment``), per journey stage of the rated touchpoint and per month.

    Parameters
    ----------
    dataset : Dataset
        From :func:`cxlab.load_dataset`.
    archetypes : polars.DataFrame, optional
        ``customer_id`` and ``archetype_name``: adds a cut per archetype.
    min_cell_size : int
        Cells with fewer answers are kept but flagged ``suppressed`` (and the value travels in
        the ``min_cell_size`` column): too few to show to leadership.

    Returns
    -------
    SurveyScores
        Not estimable when the dataset has no NPS, CSAT or CES answers.

    Examples
    --------
    >>> from cxlab import survey
    >>> from cxlab.synthetic import make_journeys
    >>> scores = survey.survey_scores(make_journeys(500, random_state=0).load())
    >>> sorted(scores.overall().filter(pl.col("touchpoint").is_null())["metric"].to_list())
    ['nps']
    """
    answers = dataset.surveys.filter(
        pl.col("metric").is_in(["nps", "csat", "ces"]), pl.col("score").is_not_null()
    )
    stages = dataset.touchpoints.select("touchpoint", "stage")
    answers = answers.join(stages, on="touchpoint", how="left").with_columns(
        pl.col("responded_at").dt.strftime("%Y-%m").alias("month")
    )
    if archetypes is not None:
        answers = answers.join(
            archetypes.select("customer_id", "archetype_name"), on="customer_id", how="left"
        )
    cuts = [["touchpoint"], ["touchpoint", "stage"], ["touchpoint", "month"]]
    cuts += [["touchpoint", "archetype_name"]] if archetypes is not None else []
    parts = []
    for cut in cuts:
        # relationship answers have no stage, and a touchpoint outside the catalog none either;
        # answers of customers without an archetype are in the cells of all customers only
        cells = answers.drop_nulls(["touchpoint", "stage"]) if "stage" in cut else answers
        cells = cells.drop_nulls("archetype_name") if "archetype_name" in cut else cells
        scores = _cell_scores(cells, cut)
        if "archetype_name" not in cut:
            scores = scores.with_columns(archetype_name=pl.lit("all"))
        parts.append(scores.rename({"archetype_name": "segment"}))
    table = pl.concat(parts, how="diagonal").select(SCORE_COLUMNS)
    table = table.with_columns(
        (pl.col("n") < min_cell_size).alias("suppressed"),
        pl.lit(min_cell_size, pl.Int64).alias("min_cell_size"),
    ).sort("metric", "segment", "stage", "month", "touchpoint", nulls_last=False)
    counts = {"responses": answers["response_id"].n_unique(), "answers": answers.height}
    reason = None
    if answers.is_empty():
        reason = (
            "This dataset has no survey answers (NPS, CSAT or CES); the survey analysis needs a surveys table"
        )
    return SurveyScores(table, counts, reason, "Survey scores", min_cell_size=min_cell_size)


# -- key drivers ---------------------------------------------------------------------------


def driver_table(
    surveys: pl.DataFrame, *, outcome: str = "nps", driver_metric: str = "csat"
) -> tuple[pl.DataFrame, dict]:
    """One row per response: the outcome and one column per driver touchpoint (complete cases),
    and counts of responses used and left out."""
    outcome_scores = (
        surveys.filter(pl.col("metric") == outcome)
        .group_by("response_id")
        .agg(pl.col("score").mean().alias("outcome"))
    )
    ratings = surveys.filter(pl.col("metric") == driver_metric, pl.col("touchpoint").is_not_null())
    wide = ratings.pivot(on="touchpoint", index="response_id", values="score", aggregate_function="mean")
    table = outcome_scores.join(wide, on="response_id", how="left")
    drivers = [c for c in wide.columns if c != "response_id" and (table[c].is_not_null().mean() or 0) >= 0.5]
    # sorted, so that the bootstrap draws the same responses on every run with the same seed
    complete = table.select("response_id", "outcome", *sorted(drivers)).drop_nulls().sort("response_id")
    counts = {
        "responses": table.height,
        "complete": complete.height,
        "drivers_left_out": len(wide.columns) - 1 - len(drivers),
    }
    return complete, counts


def _r2_of_subsets(corr: np.ndarray) -> dict[tuple[int, ...], float]:
    """R^2 of the regression of the outcome (index 0) on every subset of drivers (1..p)."""
    p = len(corr) - 1
    r2 = {(): 0.0}
    for size in range(1, p + 1):
        for subset in combinations(range(1, p + 1), size):
            idx = list(subset)
            r = corr[0, idx]
            r2[subset] = float(r @ np.linalg.solve(corr[np.ix_(idx, idx)], r))
    return r2


def lmg_importance(corr: np.ndarray) -> np.ndarray:
    """Shapley value of R^2 for each driver (LMG), exact; ``corr`` has the outcome first."""
    p = len(corr) - 1
    r2 = _r2_of_subsets(corr)
    shares = np.zeros(p)
    for j in range(1, p + 1):
        for subset, value in r2.items():
            if j in subset:
                continue
            weight = factorial(len(subset)) * factorial(p - len(subset) - 1) / factorial(p)
            shares[j - 1] += weight * (r2[tuple(sorted((*subset, j)))] - value)
    return shares


def relative_weights(corr: np.ndarray) -> np.ndarray:
    """Johnson's relative weights; ``corr`` has the outcome first."""
    rxx, rxy = corr[1:, 1:], corr[1:, 0]
    values, vectors = np.linalg.eigh(rxx)
    lam = vectors @ np.diag(np.sqrt(np.clip(values, 0, None))) @ vectors.T  # drivers -> orthogonal
    beta = np.linalg.solve(lam, rxy)
    return (lam**2) @ (beta**2)


DRIVER_COLUMNS = OUTPUT_TABLES["survey_drivers.csv"].columns


@dataclass(repr=False, eq=False)
class KeyDrivers(Result):
    """``survey_drivers.csv``: how much of the outcome each touchpoint rating explains."""

    def fix_first(self) -> pl.DataFrame:
        """Important drivers rated clearly below average (see :func:`fix_first`)."""
        return fix_first(self.summary)

    def _describe(self) -> str:
        return describe_drivers(self.summary, self.counts)

    def _plot(self, ax=None, *, kind: str = "importance"):
        from cxlab import plotting

        draw = {"importance": plotting.plot_driver_importance, "quadrant": plotting.plot_driver_quadrant}
        return draw[kind](self.summary, ax=ax)


def key_drivers(
    dataset: Dataset,
    *,
    outcome: str = DRIVER_OUTCOME,
    n_bootstrap: int = DRIVER_N_BOOTSTRAP,
    random_state: int = RANDOM_STATE,
    text: pl.DataFrame | None = None,
) -> KeyDrivers:
    """``survey_drivers.csv`` (contract §3): LMG and relative-weight importance of each driver.

    Parameters
    ----------
    dataset : Dataset
        From :func:`cxlab.load_dataset`.
    outcome : str
        The survey metric explained (``nps``, ``csat``, ``ces``).
    n_bootstrap : int
        Bootstrap resamples of the responses for the 95% intervals.
    random_state : int
        Seed of the bootstrap.
    text : polars.DataFrame, optional
        ``response_id`` and drivers derived from the comments (such as
        :meth:`cxlab.comments.TopicFindings.drivers`), used beside the ratings with ``source``
        ``text``; only responses with a comment are then used.

    Returns
    -------
    KeyDrivers
        Importance with 95% intervals, R², each driver's mean score and rank, and the counts
        of responses used; not estimable (saying why) with too few complete responses or
        too many drivers.

    Examples
    --------
    >>> from cxlab import survey
    >>> from cxlab.synthetic import make_journeys
    >>> drivers = survey.key_drivers(make_journeys(2_000, random_state=0).load(), n_bootstrap=5)
    >>> drivers.estimable, sorted(drivers.summary["method"].unique())
    (True, ['lmg', 'relative_weights'])
    """
    table, counts = driver_table(dataset.surveys, outcome=outcome)
    if text is not None:
        table = table.join(text, on="response_id").sort("response_id")
        counts["complete"] = table.height
    drivers = [c for c in table.columns if c not in ("response_id", "outcome")]
    empty = pl.DataFrame(schema=DRIVER_COLUMNS)
    title = f"Key drivers of {outcome.upper()}"
    if table.height < len(drivers) + 10 or not drivers:
        reason = (
            f"{counts['complete']:,} responses with both {outcome.upper()} and every driver rated; it needs "
            f"at least {len(drivers) + 10} such responses (touchpoint ratings in the same response)"
        )
        return KeyDrivers.not_estimable(reason, empty, counts=counts, title=title)
    methods = {m: f for m, f in _METHODS.items() if m != "lmg" or len(drivers) <= MAX_EXACT_DRIVERS}
    counts["lmg_left_out"] = len(methods) < len(_METHODS)
    data = table.select("outcome", *drivers).to_numpy()
    rng = np.random.default_rng(random_state)
    point = {m: f(np.corrcoef(data, rowvar=False)) for m, f in methods.items()}
    draws = {m: [] for m in methods}
    progress.report(f"key drivers: {len(drivers)} drivers, {n_bootstrap} resamples of {len(data):,} answers")
    for _ in range(n_bootstrap):
        corr = np.corrcoef(data[rng.integers(0, len(data), len(data))], rowvar=False)
        if np.isfinite(corr).all():
            for m, f in methods.items():
                draws[m].append(f(corr))
    written = set() if text is None else set(text.columns)
    ratings = _driver_ratings(dataset.surveys, [d for d in drivers if d not in written])
    rows = []
    for method, values in point.items():
        low, high = np.percentile(np.array(draws[method]), [2.5, 97.5], axis=0)
        order = np.argsort(-values)
        for rank, j in enumerate(order, start=1):
            rows.append(
                {"outcome": outcome, "driver": drivers[j], "method": method, "importance": values[j],
                 "ci_low": low[j], "ci_high": high[j], "r2": values.sum(), "rank": rank,
                 "scale": "share of variance, sums to r2", "n_responses": len(data),
                 **ratings.get(drivers[j], {}), "source": "text" if drivers[j] in written else "rating"}
            )  # fmt: skip
    return KeyDrivers(pl.DataFrame(rows, schema=DRIVER_COLUMNS), counts, None, title)


def _driver_ratings(surveys: pl.DataFrame, drivers: list[str], driver_metric: str = "csat") -> dict:
    """Each driver's mean rating over every answer (not only complete responses), with its t
    interval and n, and its difference from the other drivers' answers with a Welch interval:
    "rated below the others" needs that interval below zero."""
    answers = surveys.filter(pl.col("metric") == driver_metric, pl.col("touchpoint").is_in(drivers))
    out = {}
    for driver in drivers:
        own = answers.filter(pl.col("touchpoint") == driver)["score"].to_numpy()
        others = answers.filter(pl.col("touchpoint") != driver)["score"].to_numpy()
        mean, low, high = _mean(own)
        versus = stats.ttest_ind(own, others, equal_var=False).confidence_interval(0.95)
        out[driver] = {"mean_score": mean, "score_ci_low": low, "score_ci_high": high, "score_n": len(own),
                       "others_mean_score": float(others.mean()) if len(others) else None,
                       "vs_others_ci_low": versus.low, "vs_others_ci_high": versus.high}  # fmt: skip
    return out


_METHODS = {"lmg": lmg_importance, "relative_weights": relative_weights}


def fix_first(drivers: pl.DataFrame) -> pl.DataFrame:
    """Drivers to fix first: at or above the median importance, and rated below the other
    drivers with the whole 95% interval of the difference below zero (so noise neither adds
    nor hides one). Importance is LMG where it was computed, else relative weights.

    Examples
    --------
    >>> import polars as pl
    >>> drivers = pl.DataFrame({"method": "lmg", "driver": ["a", "b", "c"], "importance": [0.3, 0.2, 0.01],
    ...     "vs_others_ci_high": [-0.1, 0.2, -0.3]})
    >>> fix_first(drivers)["driver"].to_list()
    ['a']
    """
    method = "lmg" if (drivers["method"] == "lmg").any() else "relative_weights"
    table = drivers.filter(pl.col("method") == method)
    if "source" in table.columns:  # what comments say is not a rating to fix
        table = table.filter(pl.col("source") != "text")
    quadrant = table.with_columns(
        (pl.col("importance") >= pl.col("importance").median()).alias("important"),
        (pl.col("vs_others_ci_high") < 0).alias("underperforming"),
    )
    return quadrant.filter("important", "underperforming").sort("importance", descending=True)


def describe_drivers(drivers: pl.DataFrame, counts: dict) -> str:
    """Plain words: how many responses the driver analysis used, and what to fix first."""
    used = (
        f"{counts['complete']:,} of {counts['responses']:,} responses rate every driver and are used; "
        f"{counts['drivers_left_out']} touchpoints rated in fewer than half of the responses are left out."
    )
    if not drivers.height:
        return used + " Too few complete responses for a driver analysis."
    if counts.get("lmg_left_out"):
        used += f" With more than {MAX_EXACT_DRIVERS} drivers, importance is by relative weights only."
    if "source" in drivers.columns and (drivers["source"] == "text").any():
        used += (
            " Drivers marked (text) come from the comment of the same answer, so only answers with a "
            "comment are used, and they describe the score more than they explain it."
        )
    first = fix_first(drivers)["driver"].to_list()
    return (
        used
        + " Fix first: "
        + (", ".join(first) or "no important driver is rated clearly below the average of all drivers.")
    )
