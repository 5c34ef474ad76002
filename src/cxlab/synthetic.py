"""Synthetic customer journeys with planted truth, for the sample data and recovery tests.

The generator plants what the analyses must find:

* **archetypes**: each customer belongs to one of four journey archetypes with its own
  touchpoint mix, channels, journey length and survey response rate;
* **churn effects**: churn after the exposure window follows a proportional-hazards
  model whose log hazard ratios are planted for exposure to some touchpoints in the
  window (others have none), for the archetype and for the ``segment`` attribute.
  Exposure probabilities differ by archetype, so exposure and churn are confounded and
  a naive comparison is biased;
* **survey drivers**: relationship NPS depends on per-touchpoint CSAT ratings with
  planted weights; the ratings share a halo (a customer's general mood), so they are
  correlated with each other and plain correlation misranks the drivers.

Examples
--------
>>> from cxlab.synthetic import make_journeys
>>> data = make_journeys(500, random_state=0)
>>> data.dataset.customers.height, data.truth.n_archetypes
(500, 4)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from cxlab.catalog import default_catalog

ARCHETYPES = ("digital_researchers", "store_loyalists", "phone_assisted", "app_natives")
_SHARES = (0.30, 0.25, 0.20, 0.25)

# Touchpoint weights per archetype and phase; every other touchpoint of the phase's
# stages gets a small background weight so that mixes overlap as in real data.
_MIX = {
    "awareness": [
        {"search": 5, "social_media": 3, "advertising": 2},
        {"word_of_mouth": 5, "community_involvement": 3, "advertising": 2},
        {"marketing_pr": 4, "advertising": 3, "word_of_mouth": 3},
        {"social_media": 6, "search": 3},
    ],
    "consideration": [
        {"ratings_reviews": 5, "website": 5, "testimonials": 2},
        {"catalog": 5, "promotions": 3},
        {"catalog": 3, "website": 3},
        {"mobile_app": 7, "promotions": 2},
    ],
    "purchase": [
        {"checkout_payment": 8},
        {"store": 5, "point_of_sale": 4, "staff_sales": 3},
        {"phone_system": 6, "staff_sales": 3},
        {"checkout_payment": 6, "mobile_app": 4},
    ],
    "post_purchase": [
        {"help_center": 4, "transactional_email": 4, "marketing_email": 2, "website": 3},
        {"store": 4, "loyalty_program": 3, "thank_you_card": 2, "billing": 2},
        {"support_team": 4, "billing": 3, "phone_system": 2, "delivery": 2},
        {"mobile_app": 6, "live_chat": 3, "marketing_email": 3, "loyalty_program": 2},
    ],
}
_BACKGROUND_WEIGHT = 0.15
_PRE_EVENTS = ((1.5, 2.5), (1.0, 0.8), (1.2, 1.0), (1.5, 2.0))  # mean extra (awareness, consideration)
_POST_RATE = (0.35, 0.2, 0.3, 0.7)  # background events per 30 days after the window

# Exposure in the window: probability per archetype, and the planted churn log hazard ratio.
EXPOSURES = {
    "follow_up": ((0.15, 0.20, 0.60, 0.10), -0.5),
    "live_chat": ((0.40, 0.10, 0.15, 0.55), -0.3),
    "support_team": ((0.15, 0.10, 0.50, 0.10), 0.4),
    "loyalty_program": ((0.10, 0.60, 0.10, 0.40), -0.4),
    "help_center": ((0.40, 0.10, 0.10, 0.30), 0.0),
    "thank_you_card": ((0.05, 0.40, 0.10, 0.05), 0.0),
    "billing": ((0.50, 0.50, 0.60, 0.40), 0.0),
    "delivery": ((0.70, 0.20, 0.50, 0.40), 0.0),
    "transactional_email": ((0.80, 0.50, 0.50, 0.80), 0.0),
    "marketing_email": ((0.50, 0.30, 0.30, 0.60), 0.0),
    "feedback_survey": ((0.20, 0.20, 0.20, 0.20), 0.0),
}
ARCHETYPE_LOG_HR = (0.0, -0.6, 0.3, 0.5)
SEGMENT_LOG_HR = {"consumer": 0.0, "business": -0.3}
_BUSINESS_SHARE = (0.3, 0.2, 0.5, 0.1)
_BASELINE_HAZARD = 0.0015  # per day after the window: about 40% churn in a year
_EARLY_CHURN = 0.04  # share churning inside the window, independent of everything

# Relationship survey: planted weights of per-touchpoint CSAT on NPS; ratings share a halo.
DRIVER_WEIGHTS = {
    "delivery": 1.0,
    "support_team": 0.7,
    "billing": 0.45,
    "website": 0.25,
    "checkout_payment": 0.1,
    "mobile_app": 0.0,
}
_RESPONSE_RATE = (0.30, 0.40, 0.25, 0.20)
_HALO_SD, _RATING_NOISE_SD, _MISSING_RATING = 0.8, 0.8, 0.15
# Survey comments, written from planted topics: a comment joins one of its topic's subjects
# to one of its complaints or its praise, so that the wording varies while each topic keeps
# its own words; fillers vary what is around them.
COMMENT_TOPICS = {
    "delivery": {
        "subject": ["my parcel", "the delivery", "my order", "the package", "the courier delivery"],
        "negative": ["arrived {n} days late", "never arrived", "was left at the wrong address",
                     "came damaged", "was late again with no update", "is still not here after {n} days"],
        "positive": ["arrived a day early", "came on time and well packed", "was quick",
                     "arrived fast and in one piece"],
    },
    "support": {
        "subject": ["support", "the support agent", "customer service", "the call centre", "the helpdesk"],
        "negative": ["never called back", "kept me on hold for {n}0 minutes", "was rude",
                     "did not answer my emails", "made me explain my problem {n} times"],
        "positive": ["fixed my problem fast", "solved it in one call", "was patient and friendly",
                     "answered within minutes"],
    },
    "billing": {
        "subject": ["my bill", "the invoice", "billing", "my monthly statement", "the refund"],
        "negative": ["charged me twice", "has hidden fees", "shows the wrong amount",
                     "took {n} weeks to come through", "is confusing"],
        "positive": ["is clear and simple", "came through quickly", "was correct first time",
                     "had no surprise charges"],
    },
    "app": {
        "subject": ["the app", "the website", "checkout in the app", "the login page", "the mobile app"],
        "negative": ["crashes at checkout", "keeps crashing", "will not let me log in",
                     "freezes when I pay", "is full of errors since the update"],
        "positive": ["is easy to use", "works smoothly", "is quick and simple", "lets me pay in seconds"],
    },
    "price": {
        "subject": ["the price", "your prices", "the monthly fee", "the subscription price", "the cost"],
        "negative": ["is too expensive for what you get", "went up again", "is poor value for money",
                     "is higher than the competition"],
        "positive": ["is great value for money", "is fair", "is cheaper than the competition",
                     "is good value with the member deals"],
    },
}  # fmt: skip
_OPENINGS = ("", "", "Honestly, ", "Overall ", "Well, ", "As usual, ")
_CLOSINGS = {
    "negative": ("", ".", "!", ". Please sort this out.", ", not happy.", ", that's all."),
    "positive": ("", ".", "!", ". Thanks.", ". Keep it up!", ", that's all."),
}


def _comment(topic: str, polarity: str, i: int) -> str:
    """The ``i``-th wording of a comment on ``topic`` (deterministic in ``i``)."""
    words = COMMENT_TOPICS[topic]
    subject, said = words["subject"], words[polarity]
    text = f"{subject[i % len(subject)]} {said[(i // 7) % len(said)].format(n=2 + i % 5)}"
    opening, closings = _OPENINGS[(i // 3) % len(_OPENINGS)], _CLOSINGS[polarity]
    first = text[0].lower() if opening else text[0].upper()
    return opening + first + text[1:] + closings[(i // 11) % len(closings)]


def make_comments(n: int, *, random_state: int = 0, negative_share: float = 0.6) -> pl.DataFrame:
    """``n`` survey comments written from the planted :data:`COMMENT_TOPICS`: ``comment``,
    ``topic`` and ``polarity`` (``negative`` or ``positive``), the truth to recover.

    Examples
    --------
    >>> make_comments(3, random_state=0).columns
    ['comment', 'topic', 'polarity']
    """
    rng = np.random.default_rng(random_state)
    topics = rng.choice(list(COMMENT_TOPICS), n)
    polarity = np.where(rng.random(n) < negative_share, "negative", "positive")
    wording = rng.integers(0, 10_000, n)
    comments = [_comment(t, p, int(i)) for t, p, i in zip(topics, polarity, wording, strict=True)]
    return pl.DataFrame({"comment": comments, "topic": topics, "polarity": polarity})


@dataclass(frozen=True)
class Design:
    """The archetypes a generated population is made of, and the truth planted in it.

    Every per-archetype tuple has one entry per archetype, in the order of ``archetypes``;
    ``mix`` maps each phase to one touchpoint-weight dict per archetype, and ``exposures``
    maps a touchpoint to (its window exposure probability per archetype, its planted churn
    log hazard ratio).
    """

    archetypes: tuple[str, ...]
    shares: tuple[float, ...]
    mix: dict[str, list[dict[str, float]]]
    pre_events: tuple[tuple[float, float], ...]  # mean extra (awareness, consideration) events
    post_rate: tuple[float, ...]  # background events per 30 days after the window
    exposures: dict[str, tuple[tuple[float, ...], float]]
    archetype_log_hr: tuple[float, ...]
    business_share: tuple[float, ...]
    response_rate: tuple[float, ...]


DESIGN = Design(
    ARCHETYPES,
    _SHARES,
    _MIX,
    _PRE_EVENTS,
    _POST_RATE,
    EXPOSURES,
    ARCHETYPE_LOG_HR,
    _BUSINESS_SHARE,
    _RESPONSE_RATE,
)
"""The built-in sample's design: four archetypes, four touchpoints with an effect, seven without."""


def _overlapping_design() -> Design:
    """Five archetypes: the four of :data:`DESIGN` plus ``app_lapsers``, who share most of
    their touchpoints with ``app_natives`` (the same awareness and purchase mix, the app first
    in consideration) but churn at e(0.7 + 0.3) = 2.7 times their rate. Thirteen touchpoints have
    no effect, each used at different rates by the two app archetypes, so a model that merges
    them leaves confounding behind."""
    mix = {phase: [*rows] for phase, rows in _MIX.items()}
    mix["awareness"].append({"social_media": 6, "search": 3})
    mix["consideration"].append({"mobile_app": 7, "ratings_reviews": 3})
    mix["purchase"].append({"checkout_payment": 6, "mobile_app": 4})
    mix["post_purchase"].append({"mobile_app": 5, "help_center": 4, "support_team": 2})
    extra = {  # probabilities per archetype, app_lapsers last; none has an effect
        "website": (0.60, 0.10, 0.20, 0.15, 0.50),
        "mobile_app": (0.10, 0.05, 0.05, 0.70, 0.35),
        "promotions": (0.20, 0.40, 0.10, 0.50, 0.15),
        "catalog": (0.20, 0.50, 0.40, 0.10, 0.10),
        "store": (0.05, 0.70, 0.10, 0.05, 0.05),
        "point_of_sale": (0.05, 0.50, 0.10, 0.05, 0.20),
    }
    lapsers = {  # window exposure probability of app_lapsers, next to app_natives' in DESIGN
        "follow_up": 0.30,
        "live_chat": 0.20,
        "support_team": 0.35,
        "loyalty_program": 0.10,
        "help_center": 0.60,
        "thank_you_card": 0.05,
        "billing": 0.60,
        "delivery": 0.40,
        "transactional_email": 0.50,
        "marketing_email": 0.25,
        "feedback_survey": 0.20,
    }
    exposures = {tp: ((*p, lapsers[tp]), beta) for tp, (p, beta) in EXPOSURES.items()}
    exposures |= {tp: (p, 0.0) for tp, p in extra.items()}
    return Design(
        (*ARCHETYPES, "app_lapsers"),
        (0.25, 0.20, 0.15, 0.20, 0.20),
        mix,
        (*_PRE_EVENTS, (1.5, 2.0)),
        (*_POST_RATE, 0.4),
        exposures,
        (0.0, -0.6, 0.3, -0.3, 0.7),
        (*_BUSINESS_SHARE, 0.1),
        (*_RESPONSE_RATE, 0.2),
    )


OVERLAPPING_DESIGN = _overlapping_design()
"""Five archetypes, two of them alike in touchpoints but not in churn, and 13 null touchpoints:
the test of whether the number of archetypes is chosen well enough to adjust for."""


@dataclass
class ContractTables:
    """The tables of a contract dataset, before any validation."""

    customers: pl.DataFrame
    interactions: pl.DataFrame
    surveys: pl.DataFrame

    def write(self, directory: str | Path, *, file_format: str = "csv") -> Path:
        """Write one file per table (``csv`` or ``parquet``) into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for name in ("customers", "interactions", "surveys"):
            frame = getattr(self, name)
            if file_format == "parquet":
                frame.write_parquet(directory / f"{name}.parquet")
            else:
                frame.write_csv(directory / f"{name}.csv", datetime_format="%Y-%m-%d %H:%M:%S")
        return directory


@dataclass
class Truth:
    """What the generator planted."""

    archetypes: pl.DataFrame  # customer_id, archetype, archetype_label
    archetype_labels: tuple[str, ...] = ARCHETYPES
    exposure_log_hr: dict[str, float] = field(default_factory=dict)
    archetype_log_hr: tuple[float, ...] = ARCHETYPE_LOG_HR
    segment_log_hr: dict[str, float] = field(default_factory=dict)
    driver_weights: dict[str, float] = field(default_factory=dict)
    exposure_window_days: int = 30
    observation_end: str = ""

    @property
    def n_archetypes(self) -> int:
        return len(self.archetype_labels)

    def write(self, directory: str | Path) -> Path:
        """Write ``truth.json`` and ``archetypes.csv`` into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.archetypes.write_csv(directory / "archetypes.csv")
        meta = {k: v for k, v in asdict(self).items() if k != "archetypes"}
        (directory / "truth.json").write_text(json.dumps(meta, indent=2))
        return directory


@dataclass
class SyntheticData:
    """A contract dataset and the truth planted in it."""

    dataset: ContractTables
    truth: Truth

    def write(self, directory: str | Path, *, file_format: str = "csv") -> Path:
        """Write the dataset into ``directory`` and its truth into ``directory/truth``."""
        self.dataset.write(directory, file_format=file_format)
        self.truth.write(Path(directory) / "truth")
        return Path(directory)

    def load(self):
        """The dataset as :func:`cxlab.load_dataset` loads it from files (validated), for
        examples and tests.

        Examples
        --------
        >>> from cxlab.synthetic import make_journeys
        >>> make_journeys(200, random_state=0).load().customers.height
        200
        """
        import tempfile

        from cxlab.io import load_dataset

        with tempfile.TemporaryDirectory() as directory:
            dataset = load_dataset(self.dataset.write(directory, file_format="parquet"))
            return dataset


def make_journeys(
    n_customers: int,
    *,
    random_state: int = 0,
    start: str = "2024-01-01",
    end: str = "2025-12-31",
    exposure_window_days: int = 30,
    design: Design = DESIGN,
) -> SyntheticData:
    """Generate customers, their journeys and surveys, with the truth planted in them.

    Parameters
    ----------
    n_customers : int
        Number of customers (about ten events each).
    random_state : int
        Seed; the same seed gives the same data.
    start, end : str
        First possible signup date, and the end of observation.
    exposure_window_days : int
        Window after signup in which exposure to touchpoints changes churn.
    design : Design, default DESIGN
        The archetypes and planted effects; :data:`OVERLAPPING_DESIGN` has five archetypes,
        two of them alike.

    Returns
    -------
    SyntheticData
    """
    if not isinstance(n_customers, int) or n_customers < 1:
        raise ValueError(
            f"The 'n_customers' parameter of make_journeys must be an int >= 1. Got {n_customers!r} instead."
        )
    rng = np.random.default_rng(random_state)
    t0 = datetime.fromisoformat(start)
    t_end = (datetime.fromisoformat(end) - t0).total_seconds() / 86400
    people = _draw_customers(n_customers, rng, t_end, exposure_window_days, design)
    events = _draw_events(people, rng, t_end, exposure_window_days, design)
    surveys = _draw_surveys(people, events, rng, t_end, exposure_window_days, design)
    customers = _customers_frame(people, t0, t_end)
    tables = ContractTables(
        customers=customers,
        interactions=_events_frame(events, t0),
        surveys=_surveys_frame(surveys, t0),
    )
    truth = Truth(
        archetypes=customers.select(
            "customer_id",
            pl.Series("archetype", people["archetype"]),
            pl.Series("archetype_label", np.take(np.array(design.archetypes), people["archetype"])),
        ),
        archetype_labels=design.archetypes,
        archetype_log_hr=design.archetype_log_hr,
        exposure_log_hr={tp: beta for tp, (_, beta) in design.exposures.items()},
        segment_log_hr=dict(SEGMENT_LOG_HR),
        driver_weights=dict(DRIVER_WEIGHTS),
        exposure_window_days=exposure_window_days,
        observation_end=end,
    )
    return SyntheticData(tables, truth)


def _draw_customers(n: int, rng: np.random.Generator, t_end: float, window: int, design: Design) -> dict:
    """Archetype, attributes, signup day, window exposures and churn day of each customer."""
    archetype = rng.choice(len(design.archetypes), size=n, p=design.shares)
    business = rng.random(n) < np.take(design.business_share, archetype)
    signup = rng.uniform(60, t_end - 30, size=n)  # days since start; room for pre-purchase events
    exposed = {tp: rng.random(n) < np.take(p, archetype) for tp, (p, _) in design.exposures.items()}
    log_hr = (
        np.take(design.archetype_log_hr, archetype)
        + business * SEGMENT_LOG_HR["business"]
        + sum(beta * exposed[tp] for tp, (_, beta) in design.exposures.items())
    )
    after_window = rng.exponential(1 / (_BASELINE_HAZARD * np.exp(log_hr)))
    early = rng.random(n) < _EARLY_CHURN
    churn = signup + np.where(early, rng.uniform(0, window, n), window + after_window)
    return {
        "archetype": archetype,
        "business": business,
        "signup": signup,
        "churn": churn,
        "region": rng.choice(4, size=n),
        "exposed": exposed,
        "n": n,
    }


def _touchpoint_probabilities(
    phase: str, names: list[str], stages: dict[str, str], mix: list[dict[str, float]]
) -> np.ndarray:
    stage_set = {"post_purchase": {"post_purchase"}}.get(phase, {phase})
    base = np.array([_BACKGROUND_WEIGHT if stages[t] in stage_set else 0.0 for t in names])
    rows = []
    for weights in mix:
        row = base.copy()
        for tp, w in weights.items():
            row[names.index(tp)] += w
        rows.append(row / row.sum())
    return np.array(rows)


def _sample_touchpoints(archetype: np.ndarray, probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.empty(archetype.size, dtype=np.int64)
    for a in range(probs.shape[0]):
        mask = archetype == a
        out[mask] = rng.choice(probs.shape[1], size=int(mask.sum()), p=probs[a])
    return out


def _draw_events(people: dict, rng: np.random.Generator, t_end: float, window: int, design: Design) -> dict:
    """Events as arrays: customer index, day (since start), touchpoint index, value."""
    catalog = default_catalog()
    names = catalog["touchpoint"].to_list()
    stages = dict(zip(names, catalog["stage"].to_list(), strict=True))
    a, signup, churn = people["archetype"], people["signup"], people["churn"]
    active_end = np.minimum(churn, t_end)
    idx = np.arange(people["n"])
    parts = []

    def add(cust, day, phase_or_tp, value=None):
        tp = (
            np.full(cust.size, names.index(phase_or_tp))
            if phase_or_tp in names
            else _sample_touchpoints(
                a[cust], _touchpoint_probabilities(phase_or_tp, names, stages, design.mix[phase_or_tp]), rng
            )
        )
        parts.append((cust, day, tp, np.full(cust.size, np.nan) if value is None else value))

    aware_mean, consider_mean = np.array(design.pre_events).T
    n_aware = 1 + rng.poisson(np.take(aware_mean, a))
    cust = np.repeat(idx, n_aware)
    add(cust, signup[cust] - rng.uniform(30, 60, cust.size), "awareness")
    cust = np.repeat(idx, rng.poisson(np.take(consider_mean, a)))
    add(cust, signup[cust] - rng.uniform(0.01, 30, cust.size), "consideration")
    add(idx, signup, "purchase", np.round(rng.lognormal(4, 0.6, idx.size), 2))
    for tp, flags in people["exposed"].items():
        day = signup + rng.uniform(0.01, window, people["n"])
        keep = flags & (day < active_end)
        add(idx[keep], day[keep], tp)
    span = np.clip(active_end - signup - window, 0, None)
    cust = np.repeat(idx, rng.poisson(np.take(design.post_rate, a) * span / 30))
    add(cust, signup[cust] + window + rng.uniform(0, 1, cust.size) * span[cust], "post_purchase")
    cust, day, tp, value = (np.concatenate(x) for x in zip(*parts, strict=True))
    return {"customer": cust, "day": day, "touchpoint": tp, "value": value, "names": names}


def _draw_surveys(
    people: dict, events: dict, rng: np.random.Generator, t_end: float, window: int, design: Design
) -> dict:
    """Relationship NPS with per-touchpoint CSAT (one response_id), and CSAT after support."""
    a, signup = people["archetype"], people["signup"]
    active_end = np.minimum(people["churn"], t_end)
    can = (active_end - signup) > window + 1
    responds = can & (rng.random(people["n"]) < np.take(design.response_rate, a))
    cust = np.flatnonzero(responds)
    day = signup[cust] + window + rng.uniform(0, 1, cust.size) * (active_end[cust] - signup[cust] - window)
    halo = rng.normal(0, _HALO_SD, cust.size)
    ratings = {}
    for tp in DRIVER_WEIGHTS:
        latent = 3.6 + halo + rng.normal(0, _RATING_NOISE_SD, cust.size)
        ratings[tp] = np.clip(np.round(latent), 1, 5)
    nps_latent = 7.0 + sum(w * (ratings[tp] - 3.6) for tp, w in DRIVER_WEIGHTS.items())
    nps = np.clip(np.round(nps_latent + rng.normal(0, 1.0, cust.size)), 0, 10)
    missing = {tp: rng.random(cust.size) < _MISSING_RATING for tp in DRIVER_WEIGHTS}

    names = events["names"]
    support = np.isin(events["touchpoint"], [names.index("support_team"), names.index("live_chat")])
    asked = support & (rng.random(events["day"].size) < 0.3) & (events["day"] + 1 < t_end)
    t_cust, t_day, t_tp = events["customer"][asked], events["day"][asked] + 1, events["touchpoint"][asked]
    t_score = np.clip(np.round(3.8 - 0.5 * (a[t_cust] == 2) + rng.normal(0, 1, t_cust.size)), 1, 5)
    return {
        "customer": cust,
        "day": day,
        "nps": nps,
        "ratings": ratings,
        "missing": missing,
        "comment_rng": rng.integers(0, len(COMMENT_TOPICS), cust.size),
        "has_comment": rng.random(cust.size) < 0.4,
        "transactional": (t_cust, t_day, t_tp, t_score),
        "names": names,
    }


def _as_time(day: pl.Expr, t0: datetime) -> pl.Expr:
    seconds = (day * 86400).round(0).cast(pl.Int64)
    return (pl.lit(t0) + pl.duration(seconds=seconds)).dt.cast_time_unit("us")


def _ids(prefix: str, index: pl.Expr) -> pl.Expr:
    return pl.format(prefix + "{}", index.cast(pl.String).str.zfill(7))


def _customers_frame(people: dict, t0: datetime, t_end: float) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "c": np.arange(people["n"]),
            "signup_day": people["signup"],
            "churn_day": people["churn"],
            "segment": np.where(people["business"], "business", "consumer"),
            "region": np.take(np.array(["north", "south", "east", "west"]), people["region"]),
        }
    )
    return frame.select(
        _ids("C", pl.col("c")).alias("customer_id"),
        _as_time(pl.col("signup_day"), t0).alias("signup_at"),
        pl.when(pl.col("churn_day") <= t_end).then(_as_time(pl.col("churn_day"), t0)).alias("churned_at"),
        "segment",
        "region",
    )


def _events_frame(events: dict, t0: datetime) -> pl.DataFrame:
    frame = pl.DataFrame(
        {"c": events["customer"], "day": events["day"], "tp": events["touchpoint"], "value": events["value"]}
    )
    names = pl.Series(events["names"])
    return frame.sort("c", "day").select(
        _ids("C", pl.col("c")).alias("customer_id"),
        _as_time(pl.col("day"), t0).alias("timestamp"),
        pl.col("tp").replace_strict(dict(enumerate(names)), return_dtype=pl.String).alias("touchpoint"),
        pl.col("value").fill_nan(None),
    )


def _comments(nps: np.ndarray, pick: np.ndarray, has: np.ndarray) -> list[str | None]:
    """Free-text comments for some detractors (complaints) and promoters (praise), none for
    passives; the topic and wording follow ``pick``."""
    topics = list(COMMENT_TOPICS)
    out = []
    for i, (score, p, wanted) in enumerate(zip(nps, pick, has, strict=True)):
        polarity = "negative" if score <= 6 else "positive" if score >= 9 else None
        out.append(_comment(topics[p % len(topics)], polarity, i) if wanted and polarity else None)
    return out


def _surveys_frame(s: dict, t0: datetime) -> pl.DataFrame:
    cust = s["customer"]
    response = np.arange(cust.size)
    parts = [
        pl.DataFrame(
            {
                "c": cust,
                "day": s["day"],
                "r": response,
                "metric": "nps",
                "score": s["nps"],
                "touchpoint": None,
                "comment": _comments(s["nps"], s["comment_rng"], s["has_comment"]),
            },
            schema_overrides={"touchpoint": pl.String, "comment": pl.String},
        )
    ]
    for tp, rating in s["ratings"].items():
        keep = ~s["missing"][tp]
        parts.append(
            pl.DataFrame(
                {
                    "c": cust[keep],
                    "day": s["day"][keep],
                    "r": response[keep],
                    "metric": "csat",
                    "score": rating[keep],
                    "touchpoint": tp,
                }
            )
        )
    t_cust, t_day, t_tp, t_score = s["transactional"]
    parts.append(
        pl.DataFrame(
            {
                "c": t_cust,
                "day": t_day,
                "r": np.arange(t_cust.size),
                "kind": "T",
                "metric": "csat",
                "score": t_score,
                "touchpoint": np.take(np.array(s["names"], dtype=object), t_tp).tolist(),
            },
            schema_overrides={"touchpoint": pl.String},
        )
    )
    frame = (
        pl.concat(parts, how="diagonal_relaxed")
        .with_columns(pl.col("kind").fill_null("R"))
        .sort("c", "day", "kind", "r")
    )
    return frame.select(
        _ids("C", pl.col("c")).alias("customer_id"),
        _as_time(pl.col("day"), t0).alias("responded_at"),
        pl.concat_str("kind", pl.col("r").cast(pl.String).str.zfill(7)).alias("response_id"),
        "metric",
        "score",
        "touchpoint",
        "comment",
    )


HABIT_TOUCHPOINTS = ("website", "billing", "transactional_email", "help_center", "store")
"""The touchpoints of :func:`make_habit_journeys` besides its exposure."""


def make_habit_journeys(
    n_customers: int,
    *,
    exposure: str = "mobile_app",
    log_hr: float = -0.4,
    random_state: int = 0,
    exposure_window_days: int = 30,
) -> SyntheticData:
    """Journeys where using ``exposure`` in the window is protective and later use of it
    follows survival: a trap for any model that adjusts for the whole history.

    Customers are alike (no archetypes, no confounding): half use ``exposure`` in their first
    ``exposure_window_days`` days, which multiplies their later churn hazard by
    ``exp(log_hr)``. After the window, everyone still active uses ``exposure`` more and more
    (a habit), so a customer's share of ``exposure`` over the whole history mostly says how
    long they stayed. Clustering on that history and adjusting for the clusters conditions on
    a consequence of the outcome.

    Examples
    --------
    >>> from cxlab.synthetic import make_habit_journeys
    >>> data = make_habit_journeys(500, random_state=0)
    >>> data.truth.exposure_log_hr
    {'mobile_app': -0.4}
    """
    rng = np.random.default_rng(random_state)
    t0, t_end, window = datetime(2024, 1, 1), 720.0, exposure_window_days
    n = n_customers
    signup = rng.uniform(0, t_end - 2 * window, n)
    exposed = rng.random(n) < 0.5
    churn = signup + window + rng.exponential(1 / (_BASELINE_HAZARD * 2 * np.exp(log_hr * exposed)))
    active_end = np.minimum(churn, t_end)
    names = [exposure, *HABIT_TOUCHPOINTS]
    idx = np.arange(n)
    # In the window: a purchase-like start, two background events, and the exposure if any.
    cust = np.concatenate([idx, np.repeat(idx, 2), idx[exposed]])
    day = signup[cust] + np.concatenate([np.zeros(n), rng.uniform(0.01, window, 2 * n + exposed.sum())])
    tp = np.concatenate([np.full(n, 1), rng.integers(1, len(names), 2 * n), np.zeros(exposed.sum(), int)])
    # After the window: a monthly event, at the exposure touchpoint the more the longer one stays.
    span = np.clip(active_end - signup - window, 0, None)
    later = np.repeat(idx, rng.poisson(span / 30))
    later_day = signup[later] + window + rng.uniform(0, 1, later.size) * span[later]
    habit = rng.random(later.size) < np.minimum(0.9, (later_day - signup[later] - window) / 180)
    later_tp = np.where(habit, 0, rng.integers(1, len(names), later.size))
    events = {
        "customer": np.concatenate([cust, later]),
        "day": np.concatenate([day, later_day]),
        "touchpoint": np.concatenate([tp, later_tp]),
        "value": np.full(cust.size + later.size, np.nan),
        "names": names,
    }
    people = {
        "n": n,
        "signup": signup,
        "churn": churn,
        "business": np.zeros(n, bool),
        "region": rng.choice(4, n),
    }
    customers = _customers_frame(people, t0, t_end)
    surveys = pl.DataFrame(schema={c: pl.String for c in ("customer_id", "responded_at", "metric", "score")})
    truth = Truth(
        archetypes=customers.select(
            "customer_id", pl.lit(0).alias("archetype"), pl.lit("all").alias("archetype_label")
        ),
        archetype_labels=("all",),
        exposure_log_hr={exposure: log_hr},
        archetype_log_hr=(0.0,),
        exposure_window_days=window,
        observation_end=str((t0 + timedelta(days=t_end)).date()),
    )
    return SyntheticData(ContractTables(customers, _events_frame(events, t0), surveys), truth)
