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


# ------------------------------------------------------ corrupt objects (issue #10)
BAD = b"\xff\xfe"  # never UTF-8


def test_a_corrupt_spec_is_named_and_hides_no_other_spec(registry, spec, caplog):
    from airflow_aml.exceptions import SpecError

    compiled, _ = spec
    registry.write_spec(compiled.spec)
    registry.store.write_bytes("specs/bad_dag.json", BAD + b"{}")
    caplog.set_level("WARNING", logger="airflow_aml.storage.base")
    with pytest.raises(SpecError, match=r"DAG 'bad_dag' \(specs/bad_dag\.json .*not UTF-8"):
        registry.read_spec("bad_dag")
    assert registry.read_spec("registry_check") == compiled.spec
    texts = dict(registry.spec_texts())
    assert texts["bad_dag"] is None and texts["registry_check"] is not None
    dags = dags_from_registry(registry.url)  # the loader: the others and a stand-in
    assert "aml_dag__registry_check" in dags and "aml_broken__bad_dag" in dags
    dict(registry.spec_texts())
    logged = [r for r in caplog.records if "specs/bad_dag.json" in r.getMessage()]
    assert len(logged) == 1  # once per object and process, not on every read


def test_corrupt_records_are_named_skipped_by_listings_and_never_overwritten(registry, spec):
    from airflow_aml.exceptions import CorruptObjectError

    compiled, _ = spec
    for n, pid in enumerate(("p1", "p2", "p3")):
        registry.save("published", {"id": pid, "created": n, "status": "Active"})
    registry.store.write_bytes("published/p2.json", BAD)
    registry.store.write_bytes("published/p3.json", b"[1, 2]")
    with pytest.raises(CorruptObjectError, match=r"published pipeline 'p2' \(published/p2\.json"):
        registry.get("published", "p2")
    with pytest.raises(CorruptObjectError, match="not a JSON object but list"):
        registry.get("published", "p3")
    skipped: list[str] = []
    assert [r["id"] for r in registry.all("published", skipped=skipped)] == ["p1"]
    assert skipped == ["published/p2.json", "published/p3.json"]
    with (
        pytest.raises(CorruptObjectError, match=r"published/p2\.json"),
        registry.update("published", "p2") as record,
    ):
        record["status"] = "Disabled"
    assert registry.store.read_bytes("published/p2.json") == BAD
    registry.write_run("r1", spec=compiled.spec, conf={}, experiment_name="exp")
    registry.store.write_bytes("runs/r1.json", BAD)
    with pytest.raises(CorruptObjectError, match=r"run 'r1' \(runs/r1\.json"):
        registry.read_run("r1")
    assert registry.list_runs("exp") == ["r1"]


def _corrupt_frozen_file(registry: Registry, digest: str, rel: str, data: bytes) -> None:
    if registry.store.is_local:
        path = registry.root / "snapshots" / digest / rel
        path.write_bytes(data)
    else:
        registry.store.write_bytes(f"snapshots/{digest}/{rel}", data)


def test_an_altered_frozen_snapshot_is_stored_again_at_submit(registry, spec):
    # It used to be trusted because its folder (or, on blob, its manifest) existed.
    compiled, src = spec
    step = registry.freeze(compiled.spec, compiled.snapshots).steps[0]
    digest = step.source_directory.rstrip("/").rpartition("/")[2]
    _corrupt_frozen_file(registry, digest, "pkg/util.py", b"X =")
    _corrupt_frozen_file(registry, digest, "extra.py", b"import os\n")
    again = registry.freeze(compiled.spec, compiled.snapshots).steps[0]
    assert again.source_directory == step.source_directory
    local = local_source(again.source_directory)
    assert (local / "pkg" / "util.py").read_text() == "X = 1\n"
    if not registry.store.is_local:  # nothing but the snapshot's files in the registry
        keys = [o.key for o in registry.store.list(f"snapshots/{digest}/")]
        files = next(iter(compiled.snapshots.values())).files
        assert sorted(k.rpartition(f"{digest}/")[2] for k in keys) == sorted(files)


def test_a_worker_refuses_a_corrupt_frozen_snapshot_naming_the_file(
    registry, spec, tmp_path, monkeypatch
):
    from airflow_aml.exceptions import CorruptObjectError

    monkeypatch.setenv("AIRFLOW__AML__CACHE_DIR", str(tmp_path / "worker-cache"))
    compiled, _ = spec
    step = registry.freeze(compiled.spec, compiled.snapshots).steps[0]
    digest = step.source_directory.rstrip("/").rpartition("/")[2]
    _corrupt_frozen_file(registry, digest, "pkg/util.py", b"X =")
    with pytest.raises(CorruptObjectError, match=r"pkg/util\.py .*(Submit|submit) the pipeline"):
        local_source(step.source_directory)
    assert not (tmp_path / "worker-cache" / "snapshots" / digest).exists()


def test_a_corrupt_cached_copy_of_a_remote_snapshot_is_fetched_again(
    blob_container, spec, tmp_path, monkeypatch
):
    monkeypatch.setenv("AIRFLOW__AML__CACHE_DIR", str(tmp_path / "worker-cache"))
    registry = Registry(f"wasb://aml_blob@{blob_container}/registry")
    compiled, _ = spec
    step = registry.freeze(compiled.spec, compiled.snapshots).steps[0]
    first = local_source(step.source_directory)
    (first / "pkg" / "util.py").write_text("X =")  # truncated in the cache
    again = local_source(step.source_directory)
    assert again == first and (again / "pkg" / "util.py").read_text() == "X = 1\n"


def test_a_parse_for_one_dag_renders_only_that_pipeline(tmp_path, spec):
    """Airflow's parsing context (a task about to run, a runner's dag.test()) names the
    DAG the loader file is parsed for: the other pipelines are not rendered."""
    from airflow_aml.backends.airflow_compat import parsing_context

    compiled, _ = spec
    registry = Registry(tmp_path / "registry")
    registry.write_spec(compiled.spec)
    registry.write_spec(compiled.spec.with_changes(dag_id="other_pipeline"))
    everything = dags_from_registry(registry.url)
    assert {"aml_dag__registry_check", "aml_dag__other_pipeline"} <= set(everything)
    with parsing_context("other_pipeline"):
        assert sorted(dags_from_registry(registry.url)) == [
            "aml_dag__other_pipeline",
            "aml_registry_dag",
        ]
    with parsing_context("not_a_pipeline"):  # a DAG of another file: no pipeline rendered
        assert sorted(dags_from_registry(registry.url)) == ["aml_registry_dag"]
    assert sorted(dags_from_registry(registry.url)) == sorted(everything)
