"""The analysis notebooks, shipped inside the package as ``cxlab.notebooks``.

This folder is the source of the notebooks (``pyproject.toml`` maps it into the package);
``cxlab run`` executes them, ``cxlab notebooks DIR`` copies them for an analyst to adapt.
"""
