"""cxlab: customer-experience analytics from your own exports, in Jupyter.

Load and validate a dataset with :func:`load_dataset`; open a run folder for a notebook with
:func:`open_run`; generate data with planted truth with :func:`cxlab.synthetic.make_journeys`.

Heavy libraries (scikit-learn, lifelines, matplotlib, papermill) are imported only when a
name that needs them is first used, so ``import cxlab`` and the command line start fast.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cxlab")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

_LAZY = {
    "DataContractError": "cxlab.exceptions",
    "Dataset": "cxlab.dataset",
    "LoadReport": "cxlab.dataset",
    "JourneyArchetypes": "cxlab.archetypes",
    "load_dataset": "cxlab.io",
    "build_features": "cxlab.journeys",
    "Mapping": "cxlab.mapping",
    "read_mapping": "cxlab.mapping",
    "open_run": "cxlab.session",
}

__all__ = [*_LAZY, "__version__"]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cxlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
