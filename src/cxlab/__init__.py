"""cxlab: customer-experience analytics from your own exports, in Jupyter.

Load and validate a dataset with :func:`load_dataset`; generate one with planted truth
with :func:`cxlab.synthetic.make_journeys`.
"""

from importlib.metadata import PackageNotFoundError, version

from cxlab.archetypes import JourneyArchetypes
from cxlab.dataset import Dataset, LoadReport
from cxlab.exceptions import DataContractError
from cxlab.io import load_dataset
from cxlab.journeys import build_features
from cxlab.mapping import Mapping, read_mapping

try:
    __version__ = version("cxlab")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "DataContractError",
    "Dataset",
    "JourneyArchetypes",
    "LoadReport",
    "Mapping",
    "build_features",
    "load_dataset",
    "read_mapping",
    "__version__",
]
