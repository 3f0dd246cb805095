"""The registry on a folder and on Azure Blob (Azurite): snapshots, specs, runs, records,
and the loader's view of a remote registry (per-etag cache, outage fallback)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from airflow_aml.artifacts.registry import Registry
from airflow_aml.artifacts.snapshot import frozen_manifest, local_source, take_snapshot
from airflow_aml.compiler.loader import dags_from_registry
from airflow_aml.exceptions import RecordNotFound, RunNotFound


@pytest.fixture(params=["folder", pytest.param("blob", marks=pytest.mark.azurite)])
def registry(request, tmp_path) -> Registry:
    if request.param == "folder":
        return Registry(tmp_path / "registry")
    container = request.getfixturevalue("blob_container")
    return Registry(f"wasb://aml_blob@{container}/registry")


@pytest.fixture
def spec(ws, make_source):
    from airflow_aml.pipeline.core import Pipeline
    from airflow_aml.pipeline.steps import PythonScriptStep

    src = make_source({"a.py": "print(1)\n", "pkg/util.py": "X = 1\n", ".amlignore": "*.log\n"})
    (src / "debug.log").write_text("ignored")
    result = Pipeline(ws, [PythonScriptStep("a.py", name="a", source_directory=str(src))])
    return result._compile("registry_check"), src


def test_freeze_stores_the_snapshot_once_and_workers_fetch_it(registry, spec):
    compiled, src = spec
    frozen = registry.freeze(compiled.spec, compiled.snapshots)
    step = frozen.steps[0]
    assert step.source_frozen
    assert step.source_directory.startswith(registry.url)
    files = frozen_manifest(step.source_directory)
    assert files is not None and sorted(files) == [".amlignore", "a.py", "pkg/util.py"]
    local = local_source(step.source_directory)
    assert (local / "pkg" / "util.py").read_text() == "X = 1\n"
    assert not (local / "debug.log").exists()
    assert take_snapshot(local).digest == step.source_digest
    again = registry.freeze(compiled.spec, compiled.snapshots)
    assert again.steps[0].source_directory == step.source_directory


def test_a_file_edited_during_submit_is_refused(registry, spec):
    from airflow_aml.exceptions import UserErrorException

    compiled, src = spec
    (src / "a.py").write_text("print(2)\n")
    with pytest.raises(UserErrorException, match="changed while the pipeline was being submitted"):
        registry.freeze(compiled.spec, compiled.snapshots)


def test_specs_runs_and_records(registry, spec):
    compiled, _ = spec
    registry.write_spec(compiled.spec)
    assert registry.read_spec(compiled.spec.dag_id) == compiled.spec
    assert registry.spec_names() == [compiled.spec.dag_id]
    assert registry.read_spec("nope") is None
    for n, run_id in enumerate(("r1", "r2")):
        registry.write_run(run_id, spec=compiled.spec, conf={"n": n}, experiment_name="exp")
        time.sleep(0.01)
    assert registry.list_runs("exp") == ["r2", "r1"]
    assert registry.read_run("r1")["conf"] == {"n": 0}
    with pytest.raises(RunNotFound):
        registry.read_run("../r1")
    assert not registry.run_marked("r1", "canceled")
    registry.mark_run("r1", "canceled")
    assert registry.run_marked("r1", "canceled")
    registry.save("published", {"id": "p1", "created": 1, "status": "Active"})
    with registry.update("published", "p1") as record:
        record["status"] = "Disabled"
    assert registry.get("published", "p1")["status"] == "Disabled"
    assert [r["id"] for r in registry.all("published")] == ["p1"]
    with (
        pytest.raises(RecordNotFound, match="no published pipeline 'missing' in the workspace"),
        registry.update("published", "missing"),
    ):
        pass
    with (
        pytest.raises(RecordNotFound, match=r"no pipeline endpoint '\.\./p1'"),
        registry.update("endpoints", "../p1"),
    ):
        pass
    assert registry.get("published", "missing") is None


def test_loader_reads_a_blob_registry_and_survives_an_outage(
    blob_container, spec, monkeypatch, azurite_blob
):
    compiled, _ = spec
    location = f"wasb://aml_blob@{blob_container}/registry"
    registry = Registry(location)
    registry.write_spec(registry.freeze(compiled.spec, compiled.snapshots))
    registry.store.write_text("specs/broken.json", "{not json")
    dags = dags_from_registry(location)
    assert "aml_dag__registry_check" in dags and "aml_broken__broken" in dags

    # The blob service becomes unreachable: the specs seen last are still rendered.
    dead = json.loads(azurite_blob.conn_json())
    dead["extra"]["connection_string"] = dead["extra"]["connection_string"].replace(
        f":{azurite_blob.port}/", ":9/"
    )
    monkeypatch.setenv("AIRFLOW_CONN_AML_BLOB", json.dumps(dead))
    started = time.monotonic()
    during = dags_from_registry(location)
    assert sorted(during) == sorted(dags)
    assert time.monotonic() - started < 10  # no 15 s retry back-off inside a DAG parse


def test_remote_spec_cache_follows_changes(blob_container, spec):
    compiled, _ = spec
    registry = Registry(f"wasb://aml_blob@{blob_container}/registry")
    registry.write_spec(compiled.spec)
    first = dict(registry.spec_texts())
    changed = compiled.spec.with_changes(description="second version")
    registry.write_spec(changed)
    second = dict(registry.spec_texts())
    assert json.loads(second["registry_check"])["description"] == "second version"
    assert first != second
    registry.store.delete("specs/registry_check.json")
    assert registry.spec_texts() == []
    assert registry.spec_names() == []


def test_local_registry_root(tmp_path):
    assert Registry(tmp_path / "r").root == Path(tmp_path / "r")
