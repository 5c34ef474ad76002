"""A local Spark session (``local[2]``) for the Spark tests, with the machine's Java.

Without pyspark or Java the tests skip and say why; ``.ci/run`` sets
``CXLAB_REQUIRE_SPARK=1`` so that in CI they fail instead.
"""

from __future__ import annotations

import os
import shutil
import sys

import pytest


@pytest.fixture(scope="session")
def spark():
    missing = None
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        missing = "pyspark is not installed (pip install 'cxlab[spark]')"
    if missing is None and not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        missing = "no Java runtime (Debian: default-jre-headless)"
    if missing:
        if os.environ.get("CXLAB_REQUIRE_SPARK") == "1":
            pytest.fail(f"Spark is required here (CXLAB_REQUIRE_SPARK=1) but {missing}")
        pytest.skip(missing)
    os.environ["PYSPARK_PYTHON"] = sys.executable  # executors run this interpreter, with cxlab
    session = (
        SparkSession.builder.master("local[2]")
        .appName("cxlab-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
