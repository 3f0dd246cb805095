"""Provider info (operators, trigger, plugin, the ``[aml]`` config section) and the settings.

The ``[aml]`` section is declared in provider info; Airflow maps
``AIRFLOW__AML__<KEY>`` and ``airflow.cfg`` onto it. The variables of earlier
releases still work when the new setting is unset, with a DeprecationWarning
naming it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from airflow_aml import provider
from airflow_aml.provider import DEPRECATED_ENV, SETTINGS, aml_flag, aml_setting, get_provider_info

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def clean_settings(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No [aml] setting nor deprecated variable in the environment; deprecations not yet warned."""
    for key in SETTINGS:
        monkeypatch.delenv(f"AIRFLOW__AML__{key.upper()}", raising=False)
        monkeypatch.delenv(DEPRECATED_ENV[key], raising=False)
    monkeypatch.setattr(provider, "_warned", set())
    return monkeypatch


def _airflow_env(home: Path, **extra: str) -> dict[str, str]:
    drop = ("AIRFLOW__", "AIRFLOW_AML_", "AIRFLOW_CONN_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.pop("AIRFLOW_CONFIG", None)
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="False", **extra)
    return env


# ------------------------------------------------------------------- provider info
def test_provider_info_follows_airflows_schema():
    import airflow
    import jsonschema

    schema_path = Path(airflow.__file__).parent / "provider_info.schema.json"
    jsonschema.validate(get_provider_info(), json.loads(schema_path.read_text()))


def test_provider_info_names_importable_operators_trigger_and_plugin():
    import importlib

    from airflow_aml.plugin import AirflowAmlPlugin

    info = get_provider_info()
    modules = [m for group in info["operators"] + info["triggers"] for m in group["python-modules"]]
    assert "airflow_aml.triggers.reuse_claim" in modules
    for module in modules:
        importlib.import_module(module)
    from airflow_aml.triggers.reuse_claim import ReuseClaimTrigger  # noqa: F401

    assert info["plugins"] == [
        {"name": AirflowAmlPlugin.name, "plugin-class": "airflow_aml.plugin.AirflowAmlPlugin"}
    ]
    assert set(info["config"]["aml"]["options"]) == {"registry", "embedded", "cache_dir"}


def test_airflow_reads_the_aml_section_from_env_and_airflow_cfg(tmp_path):
    """The plain Airflow CLI of a fresh home knows [aml]: env var, then airflow.cfg."""
    airflow = str(Path(sys.executable).parent / "airflow")

    def value(key: str, **extra: str) -> str:
        done = subprocess.run(
            [airflow, "config", "get-value", "aml", key],
            env=_airflow_env(tmp_path, **extra),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.strip().splitlines()[-1]

    assert value("registry", AIRFLOW__AML__REGISTRY="wasb://c@x/reg") == "wasb://c@x/reg"
    (tmp_path / "airflow.cfg").write_text("[aml]\nregistry = /srv/registry\ncache_dir = /c\n")
    assert value("registry") == "/srv/registry"
    assert value("cache_dir") == "/c"
    assert value("registry", AIRFLOW__AML__REGISTRY="/from/env") == "/from/env"  # env wins

    listed = subprocess.run(
        [airflow, "config", "list", "--section", "aml", "--include-descriptions"],
        env=_airflow_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    ).stdout
    assert "[aml]" in listed and "pipeline registry" in listed and "cache_dir" in listed


# ----------------------------------------------------------------------- settings
@pytest.mark.parametrize("key", sorted(SETTINGS))
def test_new_setting_wins_silently_over_the_old_variable(clean_settings, key):
    clean_settings.setenv(f"AIRFLOW__AML__{key.upper()}", "new")
    clean_settings.setenv(DEPRECATED_ENV[key], "old")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert aml_setting(key) == "new"


@pytest.mark.parametrize("key", sorted(SETTINGS))
def test_old_variable_still_works_with_a_deprecation_warning(clean_settings, key):
    clean_settings.setenv(DEPRECATED_ENV[key], "old")
    with pytest.warns(DeprecationWarning) as caught:
        assert aml_setting(key) == "old"
    message = str(caught[0].message)
    assert DEPRECATED_ENV[key] in message
    assert f"[aml] {key}" in message and f"AIRFLOW__AML__{key.upper()}" in message
    with warnings.catch_warnings():  # once per process
        warnings.simplefilter("error")
        assert aml_setting(key) == "old"


def test_unset_and_unknown_settings(clean_settings):
    assert aml_setting("registry") is None
    assert aml_flag("embedded") is False
    with pytest.raises(KeyError, match="no setting"):
        aml_setting("nope")


@pytest.mark.parametrize(("raw", "flag"), [("True", True), ("1", True), ("t", True), ("0", False)])
def test_embedded_flag(clean_settings, raw, flag):
    clean_settings.setenv("AIRFLOW__AML__EMBEDDED", raw)
    assert aml_flag("embedded") is flag


def test_old_embedded_variable_still_sets_the_flag(clean_settings):
    clean_settings.setenv("AIRFLOW_AML_EMBEDDED", "1")
    with pytest.warns(DeprecationWarning, match=r"\[aml\] embedded"):
        assert aml_flag("embedded") is True


def test_registry_location(clean_settings, tmp_path):
    from airflow_aml.compiler.loader import registry_location

    clean_settings.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    assert registry_location() == str(tmp_path / "registry")
    clean_settings.setenv("AIRFLOW_AML_REGISTRY", "/old")
    with pytest.warns(DeprecationWarning, match="AIRFLOW_AML_REGISTRY"):
        assert registry_location() == "/old"
    clean_settings.setenv("AIRFLOW__AML__REGISTRY", "wasb://aml_blob@aml/registry")
    assert registry_location() == "wasb://aml_blob@aml/registry"


def test_cache_root(clean_settings, tmp_path):
    from airflow_aml._files import cache_root

    clean_settings.setenv("HOME", str(tmp_path))
    assert cache_root() == tmp_path / ".cache" / "airflow_aml"
    clean_settings.setenv("AIRFLOW__AML__CACHE_DIR", str(tmp_path / "c"))
    assert cache_root() == tmp_path / "c"


def test_client_reads_the_setting_without_importing_airflow(tmp_path):
    """cache_root() in a process without Airflow: AIRFLOW__AML__CACHE_DIR, no Airflow import."""
    code = (
        "import sys, warnings\n"
        "warnings.simplefilter('error')\n"
        "from airflow_aml._files import cache_root\n"
        "print(cache_root())\n"
        "assert not any(m == 'airflow' or m.startswith('airflow.') for m in sys.modules)\n"
    )
    env = _airflow_env(tmp_path, AIRFLOW__AML__CACHE_DIR=str(tmp_path / "cache"))
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(tmp_path / "cache")


def test_embedded_home_env_sets_the_new_settings(tmp_path):
    """Airflow processes of an embedded home get [aml] registry/embedded, no deprecation."""
    from airflow_aml.backends.airflow_home import airflow_env, prepare_home

    prepare_home(tmp_path / "airflow")
    env = airflow_env(tmp_path / "airflow", tmp_path / "registry")
    assert env["AIRFLOW__AML__REGISTRY"] == str(tmp_path / "registry")
    assert env["AIRFLOW__AML__EMBEDDED"] == "True"
    code = (
        "import warnings\n"
        "warnings.filterwarnings('error', category=DeprecationWarning, module='airflow_aml')\n"
        "warnings.filterwarnings('error', message='.*AIRFLOW_AML_.* is deprecated')\n"
        "from airflow_aml.compiler.loader import registry_location\n"
        "from airflow_aml.provider import aml_flag\n"
        "print(registry_location(), aml_flag('embedded'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == f"{tmp_path / 'registry'} True"
