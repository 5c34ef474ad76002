"""A run's manifest: what ran, on what, with which parameters and versions, and how it went.

The manifest is one typed object; :meth:`Manifest.write` is the only code that writes
``manifest.json``, and :meth:`Manifest.read` reads it back.

Examples
--------
>>> from cxlab.manifest import Manifest
>>> manifest = Manifest.start(data="data/sample", parameters={"horizon_days": 180}, notebooks=["01_x.ipynb"])
>>> manifest.status, manifest.notebooks[0].status
('running', 'pending')
>>> manifest.fail("bad input").status
'failed'
"""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

LIBRARIES = (
    "polars", "pandas", "pyarrow", "numpy", "scikit-learn", "lifelines", "matplotlib", "seaborn",
    "papermill", "nbconvert",
)  # fmt: skip
"""Libraries whose versions every manifest records."""


@dataclass
class NotebookRun:
    """How one notebook of a run went."""

    name: str
    status: str = "pending"  # pending, succeeded, failed, skipped
    seconds: float | None = None
    error: str | None = None
    reason: str | None = None  # why it was skipped, when not for an earlier failure
    failed_cell: int | None = None  # execution count, as shown in the saved notebook
    failed_source: str | None = None  # first line of the failing cell


@dataclass
class Manifest:
    """Everything ``manifest.json`` holds."""

    status: str
    started_at: str
    data: str
    parameters: dict[str, Any]
    notebooks: list[NotebookRun]
    started_from: str = "raw tables"
    mapping: str | None = None
    versions: dict[str, str | None] = field(default_factory=dict)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    observation_end: str | None = None
    finished_at: str | None = None
    error: str | None = None
    results_to: dict[str, Any] | None = None
    comparison: dict[str, Any] | None = None  # with the previous run of the same data
    alerts: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        *,
        data: str,
        parameters: dict[str, Any],
        notebooks: list[str],
        started_from: str = "raw tables",
        mapping: str | None = None,
    ) -> Manifest:
        """A new manifest for a run that starts now, every notebook pending."""
        from cxlab import __version__

        versions = {"cxlab": __version__, "python": platform.python_version()}
        return cls(
            status="running",
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            data=data,
            parameters=parameters,
            notebooks=[NotebookRun(name) for name in notebooks],
            started_from=started_from,
            mapping=mapping,
            versions=versions | {lib: _version(lib) for lib in LIBRARIES},
        )

    def fail(self, error: str) -> Manifest:
        """Mark the run failed with ``error``."""
        self.status, self.error = "failed", error
        return self

    def write(self, path: str | Path) -> Path:
        """Stamp the end time and write the manifest as JSON to ``path``."""
        self.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
        path = Path(path)
        path.write_text(json.dumps(asdict(self), indent=2, default=str), encoding="utf-8")
        return path

    @classmethod
    def read(cls, path: str | Path) -> Manifest:
        """The manifest written at ``path``."""
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        raw["notebooks"] = [NotebookRun(**n) for n in raw.get("notebooks", [])]
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in raw.items() if k in known})


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None
