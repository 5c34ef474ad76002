"""One shape for every analysis result, after lifelines' fitters.

Every analysis entry point returns a :class:`Result`: a tidy ``summary`` frame (the
contract's columns), ``counts`` (who was analysed), ``describe()`` in plain words,
``plot(ax=None)`` returning the axes, and a rich display in Jupyter. When the data cannot
support the analysis (no churn, no survey, one touchpoint, ...) the result is *not
estimable*: ``reason`` says why in plain words and which data it would need, ``summary``
keeps its columns with zero rows, ``plot`` draws the reason, and the notebook cell that
shows it needs no ``if``.

Examples
--------
>>> import polars as pl
>>> from cxlab.results import Result
>>> empty = Result.not_estimable("no survey answers in this dataset", pl.DataFrame({"score": []}))
>>> empty.estimable, empty.describe()
(False, 'Not estimable: no survey answers in this dataset.')
>>> empty.summary.columns
['score']
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl
import polars.selectors as cs

if TYPE_CHECKING:
    from matplotlib.axes import Axes


@dataclass(repr=False, eq=False)
class Result:
    """A result an analyst reads: ``summary``, ``counts``, ``describe()``, ``plot()``.

    A plain ``Result`` describes itself with ``text`` and draws ``summary`` with the
    :mod:`cxlab.plotting` function named by ``chart``; subclasses with more state override
    :meth:`_describe` and :meth:`_plot`. Both are only called when the result is estimable.
    """

    summary: pl.DataFrame
    counts: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    title: str = ""
    text: str = ""  # describe() when estimable, for results that need no subclass
    chart: str | None = None  # the cxlab.plotting function that draws summary, if any

    def __post_init__(self) -> None:
        # analyses group by the dataset's Categorical labels; tables people read hold text
        self.summary = self.summary.with_columns(cs.categorical().cast(pl.String))

    @classmethod
    def not_estimable(cls, reason: str, summary: pl.DataFrame | None = None, **fields: Any) -> Result:
        """A result that could not be computed, with the reason in plain words."""
        empty = pl.DataFrame() if summary is None else summary.clear()
        return cls(summary=empty, reason=reason.rstrip("."), **fields)

    @property
    def estimable(self) -> bool:
        """True when there is a result to read (``reason`` is None)."""
        return self.reason is None

    def describe(self) -> str:
        """The result in plain words (or why there is none)."""
        if not self.estimable:
            return f"Not estimable: {self.reason}."
        return self._describe()

    def plot(self, ax: Axes | None = None, *, interactive: bool = False, **kwargs: Any) -> Axes:
        """Draw the result on ``ax`` (a new figure when None); a not-estimable result draws its
        reason. With ``interactive``, results that have a plotly twin show it instead (see
        :mod:`cxlab.interactive`) and return the figure; the others draw as usual."""
        if not self.estimable:
            from cxlab.plotting import plot_message

            return plot_message(self.describe(), title=self.title, ax=ax)
        figure = self._figure(**kwargs) if interactive else None
        if figure is not None:
            from cxlab.interactive import show

            return show(figure)
        return self._plot(ax, **kwargs)

    def _figure(self, **kwargs: Any):
        """The plotly twin of :meth:`_plot`, or None when there is none."""
        if self.chart == "plot_journey_flow":
            from cxlab.interactive import journey_flow

            return journey_flow(self.summary)
        return None

    def _describe(self) -> str:
        return self.text or f"{self.title or 'Result'}: {self.summary.height:,} rows."

    def _plot(self, ax: Axes | None, **kwargs: Any) -> Axes:
        from cxlab import plotting

        if self.chart is None:
            return plotting.plot_message(self.describe(), title=self.title, ax=ax)
        return getattr(plotting, self.chart)(self.summary, ax=ax, **kwargs)

    def __repr__(self) -> str:
        state = "" if self.estimable else ", not estimable"
        return f"<{type(self).__name__}: {self.summary.height} rows{state}>"

    def _repr_html_(self) -> str:
        text = f"<p>{html.escape(self.describe(), quote=False)}</p>"
        if self.summary.is_empty():
            return text
        from cxlab.display import table_html

        return text + table_html(self.summary)
