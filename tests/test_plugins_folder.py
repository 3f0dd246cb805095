"""plugins/airflow_aml_plugin.py in a real Airflow plugins folder: the plugin loads exactly once.

Airflow 3.3's plugins manager loads the plugins folder first, then the
``airflow.plugins`` entry points, then (only with ``lazy_discover_providers =
False``) the plugins named in provider info, and registers a plugin *name*
once: a later one of the same name is skipped with a warning and recorded as
a plugin import error. Each case runs Airflow in a subprocess whose
``AIRFLOW_HOME`` is a fresh temporary home with this repository's plugins file
in its plugins folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_FILE = ROOT / "plugins" / "airflow_aml_plugin.py"

# Runs in the subprocess. "hide" removes airflow-aml's distribution metadata from
# importlib.metadata (the package stays importable, as from a source checkout on
# PYTHONPATH): no entry point, no provider info.
_PROBE = r"""
import json, sys
if sys.argv[1] == "hide":
    import importlib, importlib.metadata
    modules = [importlib.metadata]
    try:  # Airflow reads the backport on Python < 3.12
        modules.append(importlib.import_module("importlib_metadata"))
    except ImportError:
        pass
    for md in modules:
        def distributions(_real=md.distributions, **kwargs):
            found = _real(**kwargs)
            return [d for d in found if (d.metadata["Name"] or "").lower() != "airflow-aml"]
        md.distributions = distributions
from airflow import plugins_manager
plugins_manager.ensure_plugins_loaded()
plugins, _ = plugins_manager._get_plugins()
apps, _ = plugins_manager.get_fastapi_plugins()
print(json.dumps({
    "ours": [[p.name, str(p.source)] for p in plugins if p.name == "airflow_aml"],
    "listeners": [m.__name__ for p in plugins if p.name == "airflow_aml" for m in p.listeners],
    "apps": [a["url_prefix"] for a in apps if a.get("url_prefix") == "/aml"],
    "errors": plugins_manager.get_import_errors(),
}))
"""


def _env(home: Path, **extra: str) -> dict[str, str]:
    drop = ("AIRFLOW__", "AIRFLOW_AML_", "AIRFLOW_CONN_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.pop("AIRFLOW_CONFIG", None)
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(home / "plugins"),
        AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        **extra,
    )
    return env


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh Airflow home whose plugins folder holds the repository's plugins file."""
    (tmp_path / "plugins").mkdir()
    (tmp_path / "dags").mkdir()
    shutil.copy(PLUGIN_FILE, tmp_path / "plugins" / PLUGIN_FILE.name)
    return tmp_path


def _probe(home: Path, mode: str = "installed", **extra: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, mode],
        env=_env(home, **extra),
        cwd=home,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_plugins_file_is_not_named_like_the_package():
    # Airflow imports a plugin file under its file name: airflow_aml.py would replace the
    # package in sys.modules.
    assert PLUGIN_FILE.is_file() and PLUGIN_FILE.stem != "airflow_aml"


def test_installed_entry_point_and_plugins_folder_load_the_plugin_once(home):
    """The entry point wins; the plugins file defines nothing, so nothing is skipped."""
    found = _probe(home)
    assert len(found["ours"]) == 1, found
    assert "EntryPoint(name='airflow_aml'" in found["ours"][0][1], found
    assert found["apps"] == ["/aml"]
    assert found["listeners"] == ["airflow_aml.listeners"]
    assert found["errors"] == {}, found  # no "already registered, skipping"


def test_plugins_folder_alone_loads_the_plugin(home):
    """Without the entry point (package importable, not installed) the file is the plugin."""
    found = _probe(home, "hide")
    assert len(found["ours"]) == 1, found
    assert found["ours"][0][1] == f"$PLUGINS_FOLDER/{PLUGIN_FILE.name}", found
    assert found["apps"] == ["/aml"]
    assert found["listeners"] == ["airflow_aml.listeners"]
    assert found["errors"] == {}, found


def test_eager_provider_discovery_still_registers_it_once(home):
    """With lazy_discover_providers off, the provider info's plugin is a third source:
    Airflow keeps the first one of the name and skips the other."""
    found = _probe(home, AIRFLOW__CORE__LAZY_DISCOVER_PROVIDERS="False")
    assert len(found["ours"]) == 1, found
    assert "EntryPoint(name='airflow_aml'" in found["ours"][0][1], found
    assert found["apps"] == ["/aml"]
    # Airflow's dedup, as for the official providers that do the same (e.g. Databricks):
    ours = {k: v for k, v in found["errors"].items() if "airflow_aml" in k + v}
    assert ours == {"airflow_aml": "Plugin 'airflow_aml' already registered, skipping"}, found


def test_airflow_plugins_command_lists_it_once(home):
    """``airflow plugins`` (the CLI) on that home shows one airflow_aml plugin with its app."""
    airflow = Path(sys.executable).parent / "airflow"
    done = subprocess.run(
        [str(airflow), "plugins", "--output", "json"],
        env=_env(home),
        cwd=home,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    start = done.stdout.index("[")
    listed = [p for p in json.loads(done.stdout[start:]) if p["name"] == "airflow_aml"]
    assert len(listed) == 1, listed
    assert [a["url_prefix"] for a in listed[0]["fastapi_apps"]] == ["/aml"]
    assert listed[0]["listeners"] == ["airflow_aml.listeners"]
