"""The loader used by the one-line DAG file: registry specs -> DAGs.

Parsing reads JSON only (no user code is imported), and one unreadable
spec does not stop the others from loading.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from airflow_aml.compiler.render import render_dag
from airflow_aml.compiler.spec import PipelineSpec

__all__ = ["dags_from_registry", "registry_path"]

log = logging.getLogger(__name__)


def registry_path() -> Path:
    """The registry folder: ``$AIRFLOW_AML_REGISTRY`` or ``$AIRFLOW_HOME/../registry``."""
    env = os.environ.get("AIRFLOW_AML_REGISTRY")
    if env:
        return Path(env)
    home = os.environ.get("AIRFLOW_HOME", str(Path.home() / "airflow"))
    return Path(home).parent / "registry"


def dags_from_registry(registry: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Render every spec in ``registry/specs`` as a DAG; returns ``{name: dag}``."""
    folder = Path(registry) if registry else registry_path()
    dags: dict[str, Any] = {}
    for path in sorted((folder / "specs").glob("*.json")):
        try:
            spec = PipelineSpec.loads(path.read_text(encoding="utf-8"))
            dag = render_dag(spec)
        except Exception as exc:  # one bad spec must not hide the others
            log.error("airflow-aml: cannot load pipeline spec %s: %s", path, exc)
            continue
        dags[f"aml_dag__{spec.dag_id}"] = dag
    return dags
