"""The embedded Airflow home: config, loader DAG file and metadata DB.

Created on first use under ``<workspace home>/airflow``. The config binds
every server to 127.0.0.1, keeps example DAGs out, and lets the Airflow UI
started on this home (``airflow-aml ui``) show the same runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from airflow_aml.core._jsonstore import atomic_write_text, file_lock

__all__ = ["prepare_home", "airflow_env", "LOADER_FILE", "LOADER_SOURCE", "ensure_database"]

LOADER_FILE = "airflow_aml_loader.py"
LOADER_SOURCE = (
    '"""airflow-aml: every pipeline spec in the workspace registry becomes a DAG."""\n'
    "from airflow_aml.compiler.loader import dags_from_registry\n\n"
    "globals().update(dags_from_registry())\n"
)

_MARKER = "# Written by airflow-aml. Delete this line to keep your own edits.\n"
_CONFIG = (
    _MARKER
    + """\
[core]
dags_folder = {dags}
load_examples = False
executor = LocalExecutor
dags_are_paused_at_creation = True
min_serialized_dag_update_interval = 0
xcom_backend = airflow_aml.artifacts.xcom.ArtifactXComBackend
# A local, loopback-only home: the UI opens without a login.
simple_auth_manager_all_admins = True

[database]
sql_alchemy_conn = sqlite:///{db}

[logging]
base_log_folder = {logs}

[api]
host = 127.0.0.1
port = 8080

[scheduler]
enable_health_check = False

[dag_processor]
refresh_interval = 30
"""
)


def prepare_home(airflow_home: Path) -> None:
    """Create the Airflow home (config + loader DAG file) if missing."""
    dags = airflow_home / "dags"
    dags.mkdir(parents=True, exist_ok=True)
    cfg = airflow_home / "airflow.cfg"
    if not cfg.exists():
        atomic_write_text(
            cfg,
            _CONFIG.format(dags=dags, db=airflow_home / "airflow.db", logs=airflow_home / "logs"),
        )
    loader = dags / LOADER_FILE
    if not loader.exists() or loader.read_text(encoding="utf-8") != LOADER_SOURCE:
        atomic_write_text(loader, LOADER_SOURCE)


def airflow_env(airflow_home: Path, registry: Path) -> dict[str, str]:
    """Environment for an Airflow process working on this home."""
    env = dict(os.environ)
    env["AIRFLOW_HOME"] = str(airflow_home)
    env["AIRFLOW_CONFIG"] = str(airflow_home / "airflow.cfg")
    env["AIRFLOW_AML_REGISTRY"] = str(registry)
    # Settings only this library owns are pinned here, over any inherited value.
    for key in [k for k in env if k.startswith("AIRFLOW__")]:
        if key.startswith(("AIRFLOW__CORE__", "AIRFLOW__DATABASE__", "AIRFLOW__LOGGING__")):
            env.pop(key)
    env.setdefault("PYTHONPATH", "")
    return env


def ensure_database(airflow_home: Path) -> None:
    """Create/migrate the metadata DB once per Airflow version (inside an Airflow process)."""
    import airflow

    marker = airflow_home / f".migrated-{airflow.__version__}"
    if marker.exists():
        return
    with file_lock(airflow_home / ".migrate.lock"):
        if marker.exists():
            return
        from airflow.utils import db

        db.upgradedb()
        marker.write_text(sys.version, encoding="utf-8")


if __name__ == "__main__":  # python -m airflow_aml.backends.airflow_home: migrate $AIRFLOW_HOME
    ensure_database(Path(os.environ["AIRFLOW_HOME"]))
