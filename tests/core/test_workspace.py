"""Workspace.from_config search rules, default datastores and write_config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_aml.core import Workspace
from airflow_aml.core.datastore import LocalDatastore
from airflow_aml.exceptions import DatastoreException, UserErrorException, WorkspaceException


def _write_config(folder: Path, name: str, *, file_name: str = "config.json", **extra) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name
    cfg = {
        "subscription_id": f"sub-{name}",
        "resource_group": f"rg-{name}",
        "workspace_name": name,
        **extra,
    }
    path.write_text(json.dumps(cfg), encoding="utf-8")
    return path


# ------------------------------------------------------------------ from_config
@pytest.mark.parametrize("sub", [".azureml", "aml_config", ""])
def test_from_config_finds_config_in_each_location(tmp_path, sub):
    project = tmp_path / "project"
    _write_config(project / sub if sub else project, "found", home="h")
    ws = Workspace.from_config(path=str(project))
    assert ws.name == "found"
    assert ws.subscription_id == "sub-found"
    assert ws.resource_group == "rg-found"


def test_from_config_prefers_dot_azureml_then_aml_config_then_folder(tmp_path):
    project = tmp_path / "project"
    _write_config(project, "in_folder", home="h1")
    _write_config(project / "aml_config", "in_aml_config", home="h2")
    assert Workspace.from_config(path=str(project)).name == "in_aml_config"
    _write_config(project / ".azureml", "in_dot_azureml", home="h3")
    assert Workspace.from_config(path=str(project)).name == "in_dot_azureml"


def test_from_config_walks_up_parent_folders(tmp_path):
    _write_config(tmp_path / "repo" / ".azureml", "parent_ws", home="h")
    deep = tmp_path / "repo" / "src" / "pipelines" / "train"
    deep.mkdir(parents=True)
    ws = Workspace.from_config(path=str(deep))
    assert ws.name == "parent_ws"


def test_from_config_nearest_folder_wins(tmp_path):
    _write_config(tmp_path / "repo" / ".azureml", "outer", home="h_outer")
    _write_config(tmp_path / "repo" / "sub" / "aml_config", "inner", home="h_inner")
    (tmp_path / "repo" / "sub" / "deeper").mkdir()
    assert Workspace.from_config(path=str(tmp_path / "repo" / "sub" / "deeper")).name == "inner"


def test_from_config_defaults_to_current_folder(tmp_path, monkeypatch):
    _write_config(tmp_path / "cwd" / ".azureml", "from_cwd", home="h")
    monkeypatch.chdir(tmp_path / "cwd")
    assert Workspace.from_config().name == "from_cwd"


def test_from_config_legacy_project_json(tmp_path):
    _write_config(tmp_path / "p" / "aml_config", "legacy", file_name="project.json", home="h")
    assert Workspace.from_config(path=str(tmp_path / "p")).name == "legacy"


def test_from_config_path_naming_the_file(tmp_path):
    cfg = _write_config(tmp_path / "configs", "named", file_name="my-ws.json", home="h")
    # A sibling config.json must not be picked when path names a file.
    _write_config(tmp_path / "configs", "other", home="h2")
    ws = Workspace.from_config(path=str(cfg))
    assert ws.name == "named"
    assert ws.subscription_id == "sub-named"


def test_from_config_home_is_relative_to_the_config_file(tmp_path, monkeypatch):
    cfg = _write_config(tmp_path / "project" / ".azureml", "rel", home="../ws_home")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # not relative to the current folder
    ws = Workspace.from_config(path=str(tmp_path / "project"))
    expected = (cfg.parent / ".." / "ws_home").resolve()
    assert ws.home == expected == (tmp_path / "project" / "ws_home").resolve()
    assert (expected / "datastores.json").is_file()
    assert not (elsewhere / "ws_home").exists()


def test_from_config_absolute_home(tmp_path):
    home = tmp_path / "abs_home"
    _write_config(tmp_path / "p" / ".azureml", "abs", home=str(home))
    assert Workspace.from_config(path=str(tmp_path / "p")).home == home.resolve()


def test_from_config_home_expands_user(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "user_home"))
    cfg = _write_config(tmp_path / "p" / ".azureml", "tilde", home="~/aml_ws")
    ws = Workspace.from_config(path=str(tmp_path / "p"))
    assert not (cfg.parent / "~").exists()
    assert ws.home == (tmp_path / "user_home" / "aml_ws").resolve()


def test_from_config_without_config_is_local_embedded_workspace(tmp_path, monkeypatch):
    home = tmp_path / "aml_home"
    monkeypatch.setenv("AIRFLOW_AML_HOME", str(home))
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    for ws in (Workspace.from_config(), Workspace.from_config(path=str(empty))):
        assert ws.name == "local"
        assert ws.subscription_id == "local"
        assert ws.resource_group == "local"
        assert ws.home == home.resolve()
        assert ws.airflow_home == home.resolve() / "airflow"
        assert ws.get_details()["mode"] == "embedded"
    assert (home / "datastores.json").is_file()


def test_from_config_invalid_json_raises_workspace_exception(tmp_path):
    folder = tmp_path / "bad" / ".azureml"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(WorkspaceException, match="not valid JSON"):
        Workspace.from_config(path=str(tmp_path / "bad"))


def test_from_config_named_file_missing_raises(tmp_path):
    with pytest.raises(WorkspaceException, match="nope.json"):
        Workspace.from_config(path=str(tmp_path), _file_name="nope.json")


# ------------------------------------------------------------------ datastores
@pytest.fixture
def fresh_ws(tmp_path):
    return Workspace("sub", "rg", "fresh", home=tmp_path / "ws_home")


def test_default_datastores_exist(fresh_ws):
    stores = fresh_ws.datastores
    assert {"workspaceblobstore", "workspacefilestore"} <= set(stores)
    for name, store in stores.items():
        assert isinstance(store, LocalDatastore)
        assert store.name == name
        assert store.root == fresh_ws.home / "datastores" / name


def test_get_default_datastore_is_workspaceblobstore(fresh_ws):
    store = fresh_ws.get_default_datastore()
    assert isinstance(store, LocalDatastore)
    assert store.name == "workspaceblobstore"
    assert store.workspace is fresh_ws


def test_set_default_datastore_persists(fresh_ws):
    fresh_ws.set_default_datastore("workspacefilestore")
    assert fresh_ws.get_default_datastore().name == "workspacefilestore"
    reopened = Workspace("sub", "rg", "fresh", home=fresh_ws.home)
    assert reopened.get_default_datastore().name == "workspacefilestore"


def test_set_default_datastore_unknown_name(fresh_ws):
    with pytest.raises(UserErrorException) as info:
        fresh_ws.set_default_datastore("no_such_store")
    assert "no_such_store" in str(info.value)
    assert "workspaceblobstore" in str(info.value)
    assert fresh_ws.get_default_datastore().name == "workspaceblobstore"


def test_session_workspace_has_default_datastores(ws):
    assert {"workspaceblobstore", "workspacefilestore"} <= set(ws.datastores)
    assert ws.get_default_datastore().name in ws.datastores


# ---------------------------------------------------------------- write_config
def test_write_config_round_trip(tmp_path):
    original = Workspace("sub-1", "rg-1", "roundtrip", home=tmp_path / "home")
    project = tmp_path / "project"
    original.write_config(path=str(project))
    written = project / ".azureml" / "config.json"
    data = json.loads(written.read_text(encoding="utf-8"))
    assert data == {
        "subscription_id": "sub-1",
        "resource_group": "rg-1",
        "workspace_name": "roundtrip",
        "home": str((tmp_path / "home").resolve()),
    }
    (project / "nested").mkdir()
    loaded = Workspace.from_config(path=str(project / "nested"))
    assert loaded == original
    assert (loaded.name, loaded.subscription_id, loaded.resource_group) == (
        "roundtrip",
        "sub-1",
        "rg-1",
    )
    assert loaded.home == original.home


def test_write_config_custom_file_name(tmp_path):
    original = Workspace("s", "r", "custom", home=tmp_path / "home")
    original.write_config(path=str(tmp_path / "p"), file_name="alt.json")
    assert (tmp_path / "p" / ".azureml" / "alt.json").is_file()
    loaded = Workspace.from_config(path=str(tmp_path / "p"), _file_name="alt.json")
    assert loaded == original


def test_from_config_blob_registry_and_datastore(tmp_path):
    from airflow_aml.core.datastore import AzureBlobDatastore

    cfg = {
        "workspace_name": "remote",
        "home": "home",
        "registry": "wasb://aml_blob@aml/registry",
        "datastore": "wasb://aml_blob@aml/data",
        "airflow": {"api_url": "http://127.0.0.1:1"},
    }
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    ws = Workspace.from_config(path=str(tmp_path / "config.json"))
    assert ws.mode == "deployed"
    assert ws.registry_location == "wasb://aml_blob@aml/registry"
    store = ws.get_default_datastore()
    assert isinstance(store, AzureBlobDatastore) and store.name == "workspaceblobstore"
    assert (store.container_name, store.wasb_conn_id) == ("aml", "aml_blob")
    assert store._definition()["prefix"] == "data"
    assert "workspacefilestore" in ws.datastores  # the local ones stay registered


def test_from_config_remote_registry_needs_deployed_mode(tmp_path):
    (tmp_path / "config.json").write_text(
        json.dumps({"home": "home", "registry": "wasb://aml_blob@aml/registry"})
    )
    ws = Workspace.from_config(path=str(tmp_path / "config.json"))
    with pytest.raises(WorkspaceException, match="only a deployed workspace"):
        ws.registry_path  # noqa: B018


@pytest.mark.parametrize("location", ["s3://bucket/x", "wasb://nocontainer", "/local/folder"])
def test_from_config_datastore_must_be_a_blob_location(tmp_path, location):
    (tmp_path / "config.json").write_text(json.dumps({"home": "home", "datastore": location}))
    with pytest.raises((WorkspaceException, DatastoreException), match="wasb://<conn_id>@"):
        Workspace.from_config(path=str(tmp_path / "config.json"))
