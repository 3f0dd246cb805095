"""Shared set-up for benchmarks: a throwaway embedded workspace home."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def fresh_home(prefix: str) -> Path:
    """Create a workspace home and point this process's Airflow at it (before importing it)."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["AIRFLOW_AML_HOME"] = str(home)
    from airflow_aml.backends.airflow_home import prepare_home

    prepare_home(home / "airflow")
    os.environ["AIRFLOW_HOME"] = str(home / "airflow")
    os.environ["AIRFLOW_CONFIG"] = str(home / "airflow" / "airflow.cfg")
    os.environ["AIRFLOW_AML_REGISTRY"] = str(home / "registry")
    return home
