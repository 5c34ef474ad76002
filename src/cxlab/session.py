"""What a notebook needs, opened with one call: the dataset, its features and archetypes.

:func:`open_run` replaces the loading preamble every analysis notebook used to repeat.
It works the same under ``cxlab run`` (which passes its validated copy of the data and the
run folder) and in JupyterLab (the sample data and a scratch run folder).

Examples
--------
>>> import cxlab
>>> from cxlab.synthetic import make_journeys
>>> data_dir = make_journeys(300, random_state=0).dataset.write(getfixture("tmp_path") / "data")
>>> run = cxlab.open_run(getfixture("tmp_path") / "run", data_dir=data_dir)
>>> run.features.height, run.features["exposure_window_days"][0]
(300, 30)
>>> path = run.write_table("archetypes.csv", run.archetypes)
"""

from __future__ import annotations

import logging
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import polars.selectors as cs

from cxlab.config import EXPOSURE_WINDOW_DAYS, RANDOM_STATE
from cxlab.dataset import Dataset
from cxlab.exceptions import DataContractError
from cxlab.io import load_dataset
from cxlab.journeys import build_features
from cxlab.results import Result
from cxlab.rundir import RunDir

if TYPE_CHECKING:
    from polars._typing import SelectorType

    from cxlab.retention import Landmark

logger = logging.getLogger(__name__)

FEATURES = "customer_features.parquet"


class OpenRun:
    """A run folder with its dataset: ``dataset``, ``features`` and ``archetypes`` are loaded,
    reused from the run's tables or computed on first use, and ``write_table`` saves a result.

    Use :func:`open_run` to make one.
    """

    def __init__(
        self,
        run_dir: str | Path,
        *,
        data_dir: str | Path,
        mapping_file: str | Path | None = None,
        observation_end: str | None = None,
        exposure_window_days: int = EXPOSURE_WINDOW_DAYS,
        random_state: int = RANDOM_STATE,
    ) -> None:
        self.run = RunDir(run_dir)
        self.data_dir = data_dir
        self.mapping_file = mapping_file or None
        self.observation_end = observation_end or None
        self.exposure_window_days = exposure_window_days
        self.random_state = random_state

    def __repr__(self) -> str:
        return f"open_run({str(self.run.path)!r}, data_dir={str(self.data_dir)!r})"

    @cached_property
    def dataset(self) -> Dataset:
        """The validated dataset (see :func:`cxlab.load_dataset`)."""
        return load_dataset(self.data_dir, mapping=self.mapping_file, observation_end=self.observation_end)

    @cached_property
    def features(self) -> pl.DataFrame:
        """One row per customer: the run's ``customer_features.parquet`` when it was built for
        this dataset and window, else :func:`cxlab.build_features` (saved for later notebooks)."""
        path = self.run.table_path(FEATURES)
        features = features_for(self.dataset, path, exposure_window_days=self.exposure_window_days)
        if not path.is_file():
            self.run.write_table(FEATURES, features)
        return features

    @cached_property
    def archetypes(self) -> pl.DataFrame:
        """``customer_id``, ``archetype``, ``archetype_name`` of every customer: the run's
        ``archetypes.csv`` when it covers them all, else archetypes fitted with the defaults."""
        # checked against the dataset's customers: the features are loaded only to fit them here
        saved = _saved_archetypes(self.dataset.customers["customer_id"], self.run.path)
        return (
            saved
            if saved is not None
            else archetypes_for(self.features, self.run.path, random_state=self.random_state)
        )

    @cached_property
    def landmark(self) -> Landmark:
        """:func:`cxlab.retention.landmark_data` of :attr:`features` (only the columns it
        uses, see :meth:`read_features`) with :attr:`landmark_archetypes`."""
        from cxlab.retention import LANDMARK_COLUMNS, landmark_data

        return landmark_data(self.read_features(LANDMARK_COLUMNS), archetypes=self.landmark_archetypes)

    def read_features(self, columns: SelectorType | list[str]) -> pl.DataFrame:
        """Only ``columns`` of :attr:`features`: read from the run's table without the others
        when the features are not loaded yet (a notebook that uses three of 136 columns holds
        0.7 GB less at a million customers)."""
        path = self.run.table_path(FEATURES)
        if "features" in self.__dict__ or not path.is_file():
            return self.features.select(columns)
        return features_for(
            self.dataset, path, exposure_window_days=self.exposure_window_days, columns=columns
        )

    @cached_property
    def landmark_archetypes(self) -> pl.DataFrame | None:
        """Archetypes as known at each customer's landmark, for the impact model to adjust for:
        as many as :attr:`archetypes`, clustered on :func:`cxlab.journeys.landmark_features`
        (events before the end of the exposure window only). None when the run has no events
        (a run from per-customer tables): the model then adjusts for exposures and attributes."""
        return self._archetypes_at_landmark(self.archetypes["archetype"].n_unique())

    def archetype_alternatives(self) -> dict[str, pl.DataFrame | None]:
        """Other choices the impact estimates should not depend on: archetypes at the landmark
        with one fewer and one more than :attr:`landmark_archetypes`, and none at all.

        The landmark features they are clustered on are let go afterwards (made again if
        asked for): the refits that compare these choices then run without them, 0.7 GB
        less at a million customers."""
        k = self.archetypes["archetype"].n_unique()
        other = {f"{n} archetypes": self._archetypes_at_landmark(n) for n in (k - 1, k + 1) if n >= 2}
        self.__dict__.pop("_landmark_features", None)
        return {**other, "no archetypes": None}

    @cached_property
    def _landmark_features(self) -> pl.DataFrame:
        from cxlab.journeys import landmark_features

        return landmark_features(self.dataset, exposure_window_days=self.exposure_window_days)

    def _archetypes_at_landmark(self, k: int) -> pl.DataFrame | None:
        from cxlab.archetypes import JourneyArchetypes

        if self.dataset.interactions.is_empty():
            logger.info("No events: the impact model adjusts for exposures and attributes only")
            return None
        # k is given and these archetypes only adjust the impact model: no stability refits
        model = JourneyArchetypes(n_archetypes=k, n_bootstrap=0, random_state=self.random_state)
        return model.fit_assign(self._landmark_features)

    def write_table(self, name: str, table: pl.DataFrame | Result) -> Path:
        """Save result table ``name`` of the run (see :data:`cxlab.rundir.OUTPUT_TABLES`)."""
        return self.run.write_table(name, table)


def open_run(
    run_dir: str | Path,
    *,
    data_dir: str | Path,
    mapping_file: str | Path | None = None,
    observation_end: str | None = None,
    exposure_window_days: int = EXPOSURE_WINDOW_DAYS,
    random_state: int = RANDOM_STATE,
) -> OpenRun:
    """Open a run folder and its dataset for a notebook.

    Parameters
    ----------
    run_dir : str or Path
        The run folder whose result tables the notebook reads and writes.
    data_dir : str or Path
        The dataset folder (or database URI); ``cxlab run`` passes its validated copy.
    mapping_file : str or Path, optional
        A column-mapping YAML file; empty or None when the export uses the contract's names.
    observation_end : str, optional
        End of observation (ISO date); empty or None for the latest timestamp.
    exposure_window_days : int
        The exposure window of the features.
    random_state : int
        Seed for archetypes fitted here.

    Returns
    -------
    OpenRun
        ``dataset``, ``features`` and ``archetypes`` (computed on first use), and
        ``write_table`` for the run folder's result tables.

    Examples
    --------
    >>> from cxlab.synthetic import make_journeys
    >>> data_dir = make_journeys(200, random_state=1).dataset.write(getfixture("tmp_path") / "d")
    >>> open_run(getfixture("tmp_path") / "r", data_dir=data_dir).dataset.customers.height
    200
    """
    return OpenRun(
        run_dir,
        data_dir=data_dir,
        mapping_file=mapping_file,
        observation_end=observation_end,
        exposure_window_days=exposure_window_days,
        random_state=random_state,
    )


def features_for(
    dataset: Dataset,
    saved: str | Path | None = None,
    *,
    exposure_window_days: int = EXPOSURE_WINDOW_DAYS,
    columns: SelectorType | list[str] | None = None,
) -> pl.DataFrame:
    """:func:`build_features` of ``dataset``, or the table saved at ``saved`` once it is
    checked to be built for the same customers, window and end of observation; with
    ``columns`` (names or a polars selector), only those columns (the others are not read).

    Raises
    ------
    DataContractError
        The saved table was built with another window or end of observation, or for other
        customers: analysing it with this dataset would mix two different inputs.
    """
    if columns is None:
        columns = cs.all()
    elif isinstance(columns, list):
        columns = cs.by_name(columns)
    if not saved or not Path(saved).is_file():
        return build_features(dataset, exposure_window_days=exposure_window_days).select(columns)
    checked = cs.by_name("customer_id", "exposure_window_days", "observation_end")
    features = pl.scan_parquet(saved).select(checked | columns).collect()
    built = features.select("exposure_window_days", "observation_end").unique().rows()
    wanted = [(exposure_window_days, dataset.observation_end)]
    if built != wanted:
        raise DataContractError(
            f"{saved} was built with (exposure window days, end of observation) {built}; this analysis "
            f"uses {wanted}. Set exposure_window_days to match, or delete the file to build the "
            "features again."
        )
    if not features["customer_id"].sort().equals(dataset.customers["customer_id"].sort()):
        raise DataContractError(f"{saved} holds other customers than the dataset; build the features again.")
    return features.select(columns)


def archetypes_for(
    features: pl.DataFrame, run_dir: str | Path, *, random_state: int = RANDOM_STATE
) -> pl.DataFrame:
    """``customer_id``, ``archetype``, ``archetype_name`` for every customer of ``features``:
    the run's ``archetypes.csv`` (written by the archetypes notebook) when it covers them all,
    else archetypes fitted here with the default settings."""
    from cxlab.archetypes import JourneyArchetypes

    saved = _saved_archetypes(features["customer_id"], run_dir)
    if saved is not None:
        return saved
    logger.info("No archetypes in %s for these customers: fitting them with the defaults", run_dir)
    return JourneyArchetypes(random_state=random_state).fit_assign(features)


def _saved_archetypes(ids: pl.Series, run_dir: str | Path) -> pl.DataFrame | None:
    """The run's ``archetypes.csv`` when it covers every customer of ``ids``, else None."""
    assigned = RunDir(run_dir).read_table("archetypes.csv")
    # the notebook wrote them for these very customers, in their order (is_in: 0.27 s at 1M)
    if assigned is not None and (
        ids.equals(assigned["customer_id"]) or ids.is_in(assigned["customer_id"].implode()).all()
    ):
        return assigned
    return None
