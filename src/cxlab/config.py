"""Run-parameter defaults: the one place each default lives.

Every function signature and every notebook's ``parameters`` cell takes its default from
here (``tests/unit/test_project.py`` fails when a notebook's literal differs), and
:data:`DEFAULTS` names them the way ``cxlab run --param NAME=VALUE`` does.

Examples
--------
>>> from cxlab import config
>>> config.EXPOSURE_WINDOW_DAYS, config.HORIZON_DAYS
(30, 180)
>>> config.DEFAULTS["min_cell_size"]
30
"""

from __future__ import annotations

EXPOSURE_WINDOW_DAYS = 30
"""Days after signup whose touchpoints are a customer's exposure (the landmark)."""

HORIZON_DAYS = 180
"""Days after the landmark at which retention is reported."""

MIN_CELL_SIZE = 30
"""Smallest group (customers or answers) shown in leadership output; smaller ones are suppressed."""

MIN_EXPOSED = 50
"""Fewest exposed (and unexposed) customers for a touchpoint effect to be estimated."""

N_BOOTSTRAP = 40
"""Bootstrap refits of the stratified Cox model for the RMST intervals of time-varying effects."""

DRIVER_N_BOOTSTRAP = 200
"""Bootstrap resamples of the responses for the key-driver intervals."""

RANDOM_STATE = 0
"""Seed of every stochastic step."""

MAX_REJECTED_SHARE = 0.05
"""A table with more invalid rows than this share stops the load (contract rule)."""

PRE_PURCHASE_DAYS = 90
"""Events this many days before signup are kept (pre-purchase touchpoints); earlier ones are rejected."""

INACTIVITY_DAYS = None
"""Churn by inactivity: no event for this many days means churned at the last one. None: use
``churned_at`` (the mapping's ``churn.inactivity_days`` sets it per dataset)."""

N_ARCHETYPES = "auto"
"""Number of journey archetypes, or ``"auto"`` to choose it from the data."""

K_MIN, K_MAX = 2, 10
"""Fewest and most archetypes tried by ``"auto"``."""

PATH_MAX_STEPS = 5
"""Steps of each journey shown in the path table."""

FRICTION_WITHIN_DAYS = 7
"""A support contact or churn this soon after a touchpoint counts as friction."""

DRIVER_OUTCOME = "nps"
"""Survey metric that key-driver analysis explains."""

INTERACTIVE = True
"""Analyst notebooks draw the journey flow, retention curves, effects and archetype map with
plotly (hover, zoom, toggle groups; offline in the pages); False draws static images."""

DEFAULTS: dict[str, object] = {
    "exposure_window_days": EXPOSURE_WINDOW_DAYS,
    "horizon_days": HORIZON_DAYS,
    "min_cell_size": MIN_CELL_SIZE,
    "min_exposed": MIN_EXPOSED,
    "n_bootstrap": N_BOOTSTRAP,
    "random_state": RANDOM_STATE,
    "max_rejected_share": MAX_REJECTED_SHARE,
    "n_archetypes": N_ARCHETYPES,
    "k_min": K_MIN,
    "k_max": K_MAX,
    "path_max_steps": PATH_MAX_STEPS,
    "friction_within_days": FRICTION_WITHIN_DAYS,
    "driver_outcome": DRIVER_OUTCOME,
    "interactive": INTERACTIVE,
}
"""Run parameters by the name ``--param`` and the notebooks use, with their defaults."""
