"""What comments say, offline: sentiment per comment and topics across them.

* :func:`score_sentiment`: VADER (the lexicon ships inside ``vaderSentiment``) with a
  customer-experience vocabulary on top (:data:`CX_LEXICON`), because a general lexicon
  scores complaints such as "App crashes at checkout again" as neutral.
* :class:`CommentTopics`: TF-IDF and non-negative matrix factorisation (scikit-learn); the
  number of topics is the largest whose least stable topic keeps its top terms across refits
  on resamples (Greene, O'Callaghan and Cunningham 2014, "How many topics?").

Examples
--------
>>> from cxlab.comments import score_sentiment
>>> score_sentiment(["App crashes at checkout again", "fixed fast, thanks"])["sentiment_class"].to_list()
['negative', 'positive']
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import polars as pl
from sklearn.base import BaseEstimator
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from cxlab.archetypes import best_jaccard
from cxlab.config import MIN_CELL_SIZE, RANDOM_STATE
from cxlab.dataset import Dataset
from cxlab.inference import with_q_values
from cxlab.privacy import redact
from cxlab.results import Result
from cxlab.survey import nps_interval
from cxlab.voice import followup_after

NEUTRAL_CLASS_LIMIT = 0.05
"""``|compound| < 0.05`` is neutral: the threshold VADER's authors recommend."""

CX_LEXICON: dict[str, float] = {
    # complaints a general lexicon does not know (VADER's scale: -4 to +4)
    **dict.fromkeys(["crash", "crashes", "crashed", "crashing", "broken", "outage"], -2.5),
    **dict.fromkeys(["late", "delayed", "delay", "delays", "overdue", "lost", "missing"], -2.0),
    **dict.fromkeys(["damaged", "overcharged", "unreachable", "ignored", "stuck", "bug", "buggy"], -2.2),
    **dict.fromkeys(["waited", "waiting", "queue", "expensive", "overpriced", "pricey", "fees"], -1.5),
    **dict.fromkeys(["cancel", "cancelled", "canceled", "cancelling", "unsubscribe", "twice"], -1.2),
    **dict.fromkeys(["failing", "fails", "glitch", "error", "errors", "freezes", "slow", "nobody"], -1.8),
    "confusing": -2.0,
    "higher": -0.8,  # in CX comments, almost always about price
    "answer": 0.8,  # neutral alone; "did not answer" is then negated
    "answered": 1.2,
    "let": 0.6,  # "will not let me log in"
    "lets": 0.6,
    "correct": 1.2,
    "smoothly": 2.0,
    "rude": -2.9,
    "wrong": -2.1,
    # CX praise
    **dict.fromkeys(["fixed", "resolved", "solved", "sorted", "refunded", "quick", "quickly"], 1.8),
    **dict.fromkeys(["fast", "smooth", "seamless", "painless", "intuitive", "reliable"], 2.0),
    **dict.fromkeys(["responsive", "knowledgeable", "prompt", "patient", "early", "cheaper"], 1.8),
    # phrases, joined into one token before scoring (see CX_PHRASES)
    "called_back": 1.2,  # "never called back" is then negated
    "on_hold": -1.8,
    "on_time": 1.8,
    "no_response": -2.2,
    "no_reply": -2.2,
    "no_update": -1.8,
    "no_updates": -1.8,
    "never_arrived": -2.6,
    "took_forever": -2.4,
    "hidden_fees": -2.2,
    "charged_twice": -2.5,
    "went_up": -1.2,
    "not_happy": -2.2,
    "poor_value": -2.0,
    "good_value": 2.0,
    "great_value": 2.6,
    "well_packed": 1.6,
    "works_well": 1.9,
    "no_surprise": 1.4,
    "still_not_here": -2.0,
    "sort_this_out": -1.4,
    "within_minutes": 1.6,
    "keep_it_up": 1.8,
}
"""Customer-experience words and phrases with their valence; add or override words with the
``lexicon`` argument, or ``comments.lexicon`` in the mapping (which :func:`comment_topics` uses)."""

CX_PHRASES = tuple(w.replace("_", " ") for w in CX_LEXICON if "_" in w)

NEUTRAL_WORDS = (
    "support", "help", "care", "save", "free", "reward", "rewards", "loyalty", "credit", "pay", "value",
    "honestly", "please", "well",
)  # fmt: skip
"""Touchpoint and product names that VADER scores as feelings ("support" +1.7), and
politeness ("please", "honestly"): neutral in CX comments."""

STOP_WORDS = ENGLISH_STOP_WORDS | {
    "honestly",
    "overall",
    "usual",
    "just",
    "really",
    "thanks",
    "thank",
    "ll",
    "ve",
}
STOP_WORDS |= {"name", "email", "number", "link"}  # the masks of redacted details


@cache
def _analyzer(extra: tuple[tuple[str, float], ...] = ()):
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    for word in NEUTRAL_WORDS:
        analyzer.lexicon.pop(word, None)
    analyzer.lexicon.update(CX_LEXICON)
    analyzer.lexicon.update({w.lower().replace(" ", "_"): v for w, v in extra})
    return analyzer


def score_sentiment(
    comments: Sequence[str | None] | pl.Series, *, lexicon: dict[str, float] | None = None, cx: bool = True
) -> pl.DataFrame:
    """Each comment's ``sentiment`` in [-1, 1] (VADER's compound score) and its
    ``sentiment_class`` (``negative``, ``neutral``, ``positive``; null for no comment).

    Parameters
    ----------
    comments : sequence of str
        The comments, in order; empty ones give nulls.
    lexicon : dict, optional
        Words or phrases and their valence (-4 to +4) that add to or override the vocabulary.
    cx : bool, default True
        Use the customer-experience vocabulary; False scores with VADER's own lexicon only.

    Returns
    -------
    polars.DataFrame
        ``sentiment`` and ``sentiment_class``, one row per comment.

    Examples
    --------
    >>> score_sentiment(["Support never called back"], cx=False)["sentiment_class"].item()
    'positive'
    >>> score_sentiment(["Support never called back"])["sentiment_class"].item()
    'negative'
    """
    extra = tuple(sorted((lexicon or {}).items()))
    analyzer = _analyzer(extra) if cx else _plain_analyzer()
    phrases = [p for p in (*CX_PHRASES, *(w for w, _ in extra if " " in w)) if cx]
    joined = re.compile(r"\b(" + "|".join(map(re.escape, phrases)) + r")\b", re.I) if phrases else None
    texts = pl.Series("comment", comments, dtype=pl.String)
    scores = {}
    for text in texts.drop_nulls().unique().to_list():  # each distinct comment once
        prepared = joined.sub(lambda m: m.group(0).replace(" ", "_"), text) if joined else text
        scores[text] = analyzer.polarity_scores(prepared)["compound"]
    score = texts.replace_strict(scores, default=None, return_dtype=pl.Float64).alias("sentiment")
    label = (
        pl.when(pl.col("sentiment") <= -NEUTRAL_CLASS_LIMIT).then(pl.lit("negative"))
        .when(pl.col("sentiment") >= NEUTRAL_CLASS_LIMIT).then(pl.lit("positive"))
        .when(pl.col("sentiment").is_not_null()).then(pl.lit("neutral"))
    )  # fmt: skip
    return score.to_frame().with_columns(label.alias("sentiment_class"))


@cache
def _plain_analyzer():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


class CommentTopics(BaseEstimator):
    """Topics of short comments: TF-IDF of words and two-word phrases, factorised by NMF.

    Parameters
    ----------
    n_topics : int or "auto", default "auto"
        With "auto", the largest number of topics from 2 to ``k_max`` whose least stable
        topic keeps, on average, at least ``min_stability`` of its top terms (Jaccard of the
        top ``n_top_terms``, topics matched by the Hungarian method) across refits on
        ``n_bootstrap`` resamples of 80% of the comments.
    k_max : int, default 10
    min_stability : float, default 0.6
    n_bootstrap : int, default 5
    sample_size : int, default 20_000
        Comments drawn for choosing the number of topics (the final fit uses all).
    n_top_terms : int, default 10
    random_state : int, default 0

    Attributes
    ----------
    n_topics_ : int
    topic_names_ : list of str
        Each topic's top terms, joined by " / ", a term left out when its words are already in
        the name ("slow" after "slow delivery").
    top_terms_ : list of list of str
    selection_scores_ : polars.DataFrame
        ``n_topics`` and ``stability`` (the least stable topic's mean Jaccard) for each k tried.

    Examples
    --------
    >>> from cxlab.synthetic import make_comments
    >>> comments = make_comments(2_000, random_state=0)["comment"]
    >>> model = CommentTopics(random_state=0).fit(comments)
    >>> model.n_topics_ >= 5, len(model.topic_names_) == model.n_topics_
    (True, True)
    """

    def __init__(
        self,
        n_topics: int | str = "auto",
        *,
        k_max: int = 8,
        min_stability: float = 0.75,
        n_bootstrap: int = 5,
        sample_size: int = 5_000,
        n_top_terms: int = 10,
        random_state: int = 0,
    ) -> None:
        self.n_topics = n_topics
        self.k_max = k_max
        self.min_stability = min_stability
        self.n_bootstrap = n_bootstrap
        self.sample_size = sample_size
        self.n_top_terms = n_top_terms
        self.random_state = random_state

    def fit(self, comments: Sequence[str] | pl.Series, y=None) -> CommentTopics:
        self.fit_transform(comments)
        return self

    def fit_transform(self, comments: Sequence[str] | pl.Series, y=None) -> np.ndarray:
        """Fit, and return each comment's weight on each topic (nulls are left out)."""
        texts = list(pl.Series(comments, dtype=pl.String).drop_nulls())
        self.vectorizer_ = TfidfVectorizer(
            stop_words=sorted(STOP_WORDS), ngram_range=(1, 2), min_df=2 if len(texts) >= 100 else 1,
            max_df=0.5, sublinear_tf=True, max_features=5_000,
        )  # fmt: skip
        matrix = self.vectorizer_.fit_transform(texts)
        self.terms_ = self.vectorizer_.get_feature_names_out()
        k = self.n_topics if self.n_topics != "auto" else self._choose_k(matrix)
        self.n_topics_ = int(min(k, matrix.shape[1]))
        self.nmf_ = self._nmf(self.n_topics_, self.random_state, matrix)
        self.top_terms_ = [self._top(row) for row in self.nmf_.components_]
        self.topic_names_ = [_name(terms) for terms in self.top_terms_]
        return self.nmf_.transform(matrix)

    def transform(self, comments: Sequence[str] | pl.Series) -> np.ndarray:
        """Each comment's weight on each topic (rows of zeros for comments with no known term)."""
        return self.nmf_.transform(
            self.vectorizer_.transform(pl.Series(comments, dtype=pl.String).fill_null(""))
        )

    def predict(self, comments: Sequence[str] | pl.Series) -> np.ndarray:
        """Each comment's main topic (its largest weight), or -1 when it has no known term."""
        weights = self.transform(comments)
        return np.where(weights.max(axis=1) > 0, weights.argmax(axis=1), -1)

    def _nmf(self, k: int, seed: int, matrix) -> NMF:
        with warnings.catch_warnings():
            # Comments that repeat each other fit almost exactly; sklearn then takes the root of a
            # slightly negative rounding error of the fit (only its reported error, not the topics).
            warnings.filterwarnings("ignore", "invalid value encountered in sqrt", RuntimeWarning)
            warnings.simplefilter("ignore", ConvergenceWarning)  # 400 iterations are ample for topics
            return NMF(k, init="nndsvda", random_state=seed, max_iter=400).fit(matrix)

    def _top(self, row: np.ndarray) -> list[str]:
        return [str(self.terms_[j]) for j in np.argsort(-row)[: self.n_top_terms]]

    def _choose_k(self, matrix) -> int:
        rng = np.random.default_rng(self.random_state)
        matrix = matrix[np.flatnonzero(matrix.getnnz(axis=1))]  # comments with a known term
        if matrix.shape[0] > self.sample_size:
            matrix = matrix[np.sort(rng.choice(matrix.shape[0], self.sample_size, replace=False))]
        rows, chosen = [], 2
        for k in range(2, min(self.k_max, matrix.shape[0] - 1, matrix.shape[1]) + 1):
            reference = self._nmf(k, self.random_state, matrix).transform(matrix).argmax(axis=1)
            jaccard = np.zeros(k)
            for b in range(self.n_bootstrap):
                resample = rng.integers(0, matrix.shape[0], matrix.shape[0])
                refit = self._nmf(k, b + 1, matrix[resample]).transform(matrix).argmax(axis=1)
                jaccard += best_jaccard(reference, refit, k) / self.n_bootstrap
            rows.append({"n_topics": k, "stability": float(jaccard.min())})
            if jaccard.min() >= self.min_stability:
                chosen = k
        self.selection_scores_ = pl.DataFrame(rows, schema={"n_topics": pl.Int64, "stability": pl.Float64})
        return chosen


def _name(terms: list[str], size: int = 3) -> str:
    """The first ``size`` terms whose words are not all in the terms before them."""
    kept: list[str] = []
    for term in terms:
        words = set(term.split())
        if not words <= {w for t in kept for w in t.split()}:
            kept.append(term)
        if len(kept) == size:
            break
    return " / ".join(kept)


MIN_COMMENTS = 50
"""Fewer comments than this give no topics: a topic model on a handful of comments is noise."""

TOPIC_COLUMNS = {
    "topic": pl.Int64, "topic_name": pl.String, "n_comments": pl.Int64, "share": pl.Float64,
    "mean_sentiment": pl.Float64, "share_negative": pl.Float64, "n_nps": pl.Int64, "nps": pl.Float64,
    "nps_ci_low": pl.Float64, "nps_ci_high": pl.Float64, "n_followed": pl.Int64,
    "hazard_ratio": pl.Float64, "hr_ci_low": pl.Float64, "hr_ci_high": pl.Float64,
    "p_value": pl.Float64, "q_value": pl.Float64,
}  # fmt: skip


@dataclass(repr=False, eq=False)
class TopicFindings(Result):
    """``comment_topics.csv``: what each topic of the comments means for NPS and churn.

    ``comments`` holds each comment's topic and sentiment (``response_id``, ``customer_id``,
    ``responded_at``, ``topic``, ``sentiment``, ``sentiment_class``), ``examples`` the most
    typical comments of each topic (redacted; for analysts, never for the leadership page)
    and ``trend`` each topic's share of the comments by month."""

    comments: pl.DataFrame | None = None
    examples: pl.DataFrame | None = None
    trend: pl.DataFrame | None = None

    def drivers(self) -> pl.DataFrame:
        """Per commented response, drivers for :func:`cxlab.survey.key_drivers` (``text=``): its
        ``sentiment (text)`` and whether it is about each topic, ``about: NAME (text)``, but the
        most common topic, which is the baseline (the topics of a comment sum to one)."""
        baseline = self.summary.sort("n_comments", descending=True)["topic"][0]
        names = dict(zip(self.summary["topic"], self.summary["topic_name"], strict=True))
        return self.comments.group_by("response_id").agg(
            pl.col("sentiment").mean().alias("sentiment (text)"),
            *((pl.col("topic") == t).any().cast(pl.Float64).alias(f"about: {n} (text)")
              for t, n in names.items() if t != baseline),
        )  # fmt: skip

    def typical_comments(self) -> Result:
        """The most typical comments of each topic (redacted), for analysts only."""
        if not self.estimable:
            return Result.not_estimable(self.reason, title="Typical comments")
        text = "The three comments most typical of each topic, after redaction."
        return Result(self.examples, {}, None, "Typical comments", text=text)

    def key_drivers(self, dataset: Dataset, **options) -> Result:
        """:func:`cxlab.survey.key_drivers` with :meth:`drivers` beside the ratings (``options``
        are passed on); not estimable when the comments had no topics."""
        from cxlab.survey import key_drivers

        if not self.estimable:
            return Result.not_estimable(
                f"no comment topics ({self.reason})", title="Key drivers with comments"
            )
        return key_drivers(dataset, text=self.drivers(), **options)

    def _describe(self) -> str:
        top = self.summary.sort("n_comments", descending=True).row(0, named=True)
        worst = self.summary.sort("mean_sentiment").row(0, named=True)
        return (
            f"{self.counts['comments']:,} comments fall into {self.summary.height} topics. The most "
            f"common is '{top['topic_name']}' ({top['share']:.0%} of comments); the most negative is "
            f"'{worst['topic_name']}' (mean sentiment {worst['mean_sentiment']:+.2f} on a -1 to +1 scale). "
            "NPS and churn by topic are associations: a topic is what people chose to write about."
        )

    def _plot(self, ax=None):
        from cxlab.plotting import plot_topics

        return plot_topics(self.summary, ax=ax)


def comment_topics(
    dataset: Dataset,
    *,
    n_topics: int | str = "auto",
    lexicon: dict[str, float] | None = None,
    min_cell_size: int = MIN_CELL_SIZE,
    random_state: int = RANDOM_STATE,
) -> TopicFindings:
    """Topics and sentiment of the survey comments, and what each topic means for the business:
    its share, mean sentiment, the NPS of the answers that mention it (with a 95% interval) and
    churn after the answer (Cox hazard ratio against the other topics' writers, BH q-values).

    Parameters
    ----------
    dataset : Dataset
        A validated dataset (:func:`cxlab.load_dataset`) with survey comments.
    n_topics : int or "auto"
        See :class:`CommentTopics`.
    lexicon : dict, optional
        Extra sentiment words and their valence (see :func:`score_sentiment`), on top of the
        mapping's ``comments.lexicon``.
    min_cell_size : int
        Topics with fewer NPS answers (or followed customers) get no NPS (or hazard ratio).
    random_state : int

    Returns
    -------
    TopicFindings
        Not estimable with fewer than :data:`MIN_COMMENTS` comments.

    Examples
    --------
    >>> from cxlab.synthetic import make_journeys
    >>> findings = comment_topics(make_journeys(3_000, random_state=0).load())
    >>> round(findings.summary["share"].sum(), 6), findings.counts["topics"] >= 2
    (1.0, True)
    """
    title = "What customers say"
    comments = _comments_of(dataset)
    if comments.height < MIN_COMMENTS:
        reason = f"{comments.height:,} survey comments; topics need at least {MIN_COMMENTS}"
        return TopicFindings.not_estimable(reason, pl.DataFrame(schema=TOPIC_COLUMNS), title=title)
    model = CommentTopics(n_topics, random_state=random_state)
    weights = model.fit_transform(comments["comment"])
    comments = comments.with_columns(
        pl.Series("topic", np.where(weights.max(axis=1) > 0, weights.argmax(axis=1), -1)),
        pl.Series("weight", weights.max(axis=1)),
        *score_sentiment(comments["comment"], lexicon={**dataset.report.lexicon, **(lexicon or {})}),
    ).filter(pl.col("topic") >= 0)
    names = pl.DataFrame({"topic": range(model.n_topics_), "topic_name": model.topic_names_})
    summary = _topic_table(comments, names, dataset, min_cell_size)
    examples = (
        comments.sort("weight", descending=True).unique(["topic", "comment"], maintain_order=True)
        .group_by("topic", maintain_order=True).head(3)
        .join(names, on="topic").select("topic", "topic_name", "comment", "sentiment").sort("topic")
    )  # fmt: skip
    trend = (
        comments.group_by(pl.col("responded_at").dt.truncate("1mo").alias("month"), "topic").len("n_comments")
        .with_columns(share=pl.col("n_comments") / pl.col("n_comments").sum().over("month"))
        .join(names, on="topic").sort("month", "topic")
    )  # fmt: skip
    keep = ["response_id", "customer_id", "responded_at", "topic", "sentiment", "sentiment_class"]
    counts = {"comments": comments.height, "topics": model.n_topics_}
    return TopicFindings(
        summary, counts, None, title, comments=comments.select(keep), examples=examples, trend=trend
    )


def _comments_of(dataset: Dataset) -> pl.DataFrame:
    """One row per answered response with a comment, redacted, and its NPS score if any."""
    surveys = dataset.surveys
    if "comment" not in surveys.columns:
        return pl.DataFrame(schema={"response_id": pl.String, "comment": pl.String})
    nps = (
        surveys.filter(pl.col("metric") == "nps")
        .group_by("response_id")
        .agg(pl.col("score").first().alias("nps"))
    )
    return (
        surveys.filter(pl.col("comment").str.strip_chars().str.len_chars() > 0)
        .sort("response_id", "responded_at")
        .unique(["response_id", "comment"], keep="first", maintain_order=True)
        .select("response_id", "customer_id", "responded_at", redact(pl.col("comment")).alias("comment"))
        .join(nps, on="response_id", how="left")
    )


def _topic_table(comments: pl.DataFrame, names: pl.DataFrame, dataset: Dataset, min_cell_size: int):
    rows = []
    # Whole days from each customer's first comment (day-level ties keep the Cox fits fast).
    churn = dataset.customers.select("customer_id", "churned_at")
    answers = comments.select("customer_id", "responded_at", "topic")
    followed = followup_after(answers, churn, dataset.observation_end)
    for topic in names["topic"]:
        own = comments.filter(pl.col("topic") == topic)
        scores = own["nps"].drop_nulls().to_numpy()
        nps = nps_interval(scores) if len(scores) >= min_cell_size else (None, None, None)
        rows.append(
            {"topic": topic, "n_comments": own.height, "share": own.height / comments.height,
             "mean_sentiment": own["sentiment"].mean(),
             "share_negative": (own["sentiment_class"] == "negative").mean(),
             "n_nps": len(scores), "nps": nps[0], "nps_ci_low": nps[1], "nps_ci_high": nps[2],
             **_hazard_ratio(followed, topic, min_cell_size)}
        )  # fmt: skip
    table = pl.DataFrame(rows).join(names, on="topic")
    tested = with_q_values(table.filter(pl.col("p_value").is_not_null()))
    return table.join(tested.select("topic", "q_value"), on="topic", how="left").select(
        [pl.col(c).cast(t) for c, t in TOPIC_COLUMNS.items()]
    )


def _hazard_ratio(followed: pl.DataFrame, topic: int, min_cell_size: int) -> dict:
    """Hazard of churn after writing about ``topic`` against writing about any other topic."""
    from lifelines import CoxPHFitter

    empty = {"n_followed": followed.height, "hazard_ratio": None, "hr_ci_low": None, "hr_ci_high": None,
             "p_value": None}  # fmt: skip
    mentions = followed["topic"] == topic
    churned = followed.filter(pl.col("churned"))
    if min(mentions.sum(), (~mentions).sum()) < min_cell_size or churned.height < min_cell_size:
        return empty
    # Identical rows collapsed into frequency weights: a few thousand rows instead of one per
    # customer (lifelines loops over rows in Python). Efron's tie correction with weights moves
    # the hazard ratio in the fourth digit (1.6102 against 1.6093 expanded, in a check).
    design = followed.group_by(
        "duration", pl.col("churned").cast(pl.Float64), (pl.col("topic") == topic).cast(pl.Float64).alias("x")
    ).agg(pl.len().cast(pl.Float64).alias("weight"))
    fit = CoxPHFitter().fit(design.sort(pl.all()).to_pandas(), "duration", "churned", weights_col="weight")
    fit = fit.summary.loc["x"]
    return {**empty, "hazard_ratio": fit["exp(coef)"], "hr_ci_low": fit["exp(coef) lower 95%"],
            "hr_ci_high": fit["exp(coef) upper 95%"], "p_value": fit["p"]}  # fmt: skip
