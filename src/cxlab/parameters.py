"""The notebooks a run executes and the parameters they take.

Notebooks ship inside the package (``cxlab.notebooks``); ``cxlab notebooks DIR`` copies
them for an analyst to adapt and ``cxlab run --notebooks DIR`` runs the copies. Parameters
given to a run (``--param``, ``--config``) are checked against the notebooks' ``parameters``
cells and converted to the declared types before anything runs.

Examples
--------
>>> from cxlab.parameters import list_notebooks, packaged_notebooks
>>> [p.name for p in list_notebooks(packaged_notebooks())][-1]
'00_leadership_summary.ipynb'
"""

from __future__ import annotations

from datetime import date, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from cxlab.exceptions import DataContractError
from cxlab.mapping import bounded, load_yaml

RUNNER_PARAMETERS = {"data_dir", "mapping_file", "run_dir"}
"""Set by the runner for every notebook that declares them; not settable with --param."""

LOAD_PARAMETERS = {"observation_end": str, "max_rejected_share": float, "pseudonymize_ids": bool}
"""Used by the runner to load the data, and passed on to notebooks that declare them.
``pseudonymize_ids`` replaces customer and response ids by salted hashes before any
notebook sees the data, so nothing the run writes holds a real id."""

NOT_FROM_FEATURES = {
    "01_data_quality.ipynb": "checks the raw tables, which stay where the per-customer tables were computed",
    "02_journey_map.ipynb": "maps journeys from every touchpoint event, which per-customer tables lack",
    "03_archetypes.ipynb": "the archetypes were fitted and assigned with the per-customer tables",
}
"""Notebooks a run from per-customer tables (``cxlab run --features``) skips, and why."""


def packaged_notebooks() -> Path:
    """The folder of analysis notebooks installed with cxlab."""
    return Path(str(files("cxlab.notebooks")))


PAGE_LABELS = {
    "00_leadership_summary": "Leadership summary",
    "01_data_quality": "Data quality",
    "02_journey_map": "Journey map",
    "03_archetypes": "Archetypes",
    "04_touchpoint_impact": "Touchpoint impact",
    "05_survey": "Surveys",
}
"""The navigation bar's label of each packaged page (an adapted notebook shows its file name)."""


def page_label(stem: str) -> str:
    """The words a page of notebook ``stem`` is linked by (navigation bar, runs index)."""
    return PAGE_LABELS.get(stem, stem.replace("_", " "))


def list_notebooks(directory: str | Path) -> list[Path]:
    """Analysis notebooks in run order: ``01_...`` upwards, ``00_...`` (the summary) last."""
    found = sorted(Path(directory).glob("[0-9][0-9]_*.ipynb"))
    return sorted(found, key=lambda p: (p.name.startswith("00_"), p.name))


def read_config(path: str | Path) -> dict[str, Any]:
    """Read a YAML file of run parameters (``name: value``)."""
    path = Path(path)
    try:
        raw = load_yaml(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DataContractError(f"Config file {path} cannot be read: {bounded(exc)}") from None
    if not isinstance(raw, dict):
        raise DataContractError(f"Config file {path} must hold 'name: value' lines. Got {raw!r}.")
    return raw


def notebook_parameters(notebooks: list[Path]) -> dict[str, dict[str, dict[str, Any]]]:
    """Each notebook's declared parameters (name, inferred type, default), via papermill.

    Raises
    ------
    DataContractError
        For a notebook papermill cannot read or whose metadata names no kernel.
    """
    import papermill as pm

    declared = {}
    for nb in notebooks:
        try:
            declared[nb.name] = pm.inspect_notebook(str(nb))
        except ValueError as exc:  # not a notebook, or no kernel or language in its metadata
            raise DataContractError(
                f"Notebook {nb} cannot be run: {bounded(exc)} Open it in JupyterLab, choose the "
                "Python kernel and save it, so that its metadata names the kernel."
            ) from None
    return declared


def resolve_parameters(
    given: dict[str, Any], declared: dict[str, dict[str, dict[str, Any]]]
) -> dict[str, Any]:
    """Check names against the notebooks' parameters and convert values to declared types.

    Raises
    ------
    DataContractError
        For a reserved, unknown or mistyped parameter, listing the known parameters.
    """
    types = dict(LOAD_PARAMETERS)
    for params in declared.values():
        for name, spec in params.items():
            types.setdefault(name, _TYPES.get(spec.get("inferred_type_name"), str))
    resolved = {}
    for name, value in given.items():
        if name in RUNNER_PARAMETERS:
            raise DataContractError(
                f"The '{name}' parameter is set by cxlab run itself; use --data, --mapping or --out instead."
            )
        if name not in types:
            known = ", ".join(sorted(set(types) - RUNNER_PARAMETERS))
            raise DataContractError(f"Unknown parameter '{name}'. The notebooks take: {known}.")
        resolved[name] = _convert(name, value, types[name])
    return resolved


_TYPES = {"int": int, "float": float, "bool": bool, "str": str}


def _convert(name: str, value: Any, kind: type) -> Any:
    if isinstance(value, datetime | date):
        value = value.isoformat()
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"true", "yes", "1", "false", "no", "0"}:
            return text in {"true", "yes", "1"}
    elif kind is str:
        return str(value)
    else:
        try:
            number = kind(value)
            if kind is int and isinstance(value, float) and value != number:
                raise ValueError
            return number
        except (TypeError, ValueError):
            pass
    article = "an" if kind is int else "a"
    raise DataContractError(
        f"The '{name}' parameter must be {article} {kind.__name__}. Got {value!r} instead."
    )
