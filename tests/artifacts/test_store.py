"""ArtifactStore: staged outputs become visible only on commit; references are plain JSON."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from airflow_aml.artifacts.store import (
    ArtifactReference,
    ArtifactStore,
    run_prefix,
    tree_digest,
    tree_signature,
)
from airflow_aml.exceptions import DatastoreException, ValidationError

RUN = "manual__2025-01-01T00:00:00+00:00"
TASK = "Train_model"


@pytest.fixture
def root(tmp_path):
    return tmp_path / "blobstore"


@pytest.fixture
def store(root):
    return ArtifactStore({"workspaceblobstore": {"type": "local", "root": str(root)}})


def _stage_output(store: ArtifactStore, output: str = "model", try_number: int = 1) -> Path:
    staging = store.staging("workspaceblobstore", RUN, TASK, try_number)
    out = staging / output
    (out / "sub").mkdir(parents=True)
    (out / "weights.bin").write_bytes(b"\x00" * 100)
    (out / "sub" / "meta.json").write_text('{"a": 1}', encoding="utf-8")  # 8 bytes
    return out


def test_run_prefix_layout():
    assert run_prefix("r1", "t1") == "azureml/r1_t1"  # azureml/{step run id}, as SDK v1


def test_staging_is_under_the_run_prefix_and_fresh(store, root):
    staging = store.staging("workspaceblobstore", RUN, TASK, 2)
    assert staging == root / "azureml" / f"{RUN}_{TASK}" / ".staging-2"
    assert staging.is_dir()
    (staging / "leftover").write_text("x", encoding="utf-8")
    again = store.staging("workspaceblobstore", RUN, TASK, 2)
    assert again == staging
    assert list(again.iterdir()) == []


def test_commit_output_makes_it_visible(store, root):
    staged = _stage_output(store)
    ref = store.commit_output(
        staged,
        datastore="workspaceblobstore",
        run_id=RUN,
        task_id=TASK,
        step="Train model",
        output="model",
    )
    final = root / "azureml" / f"{RUN}_{TASK}" / "model"
    assert ref == ArtifactReference(
        datastore="workspaceblobstore",
        path=f"azureml/{RUN}_{TASK}/model",
        run_id=RUN,
        step="Train model",
        output="model",
        files=2,
        bytes=108,
        digest=tree_digest(final),
        signature=tree_signature(final)[0],
    )
    assert len(ref.digest) == 32 and ref.digest != ref.signature
    assert (final / "weights.bin").read_bytes() == b"\x00" * 100
    assert (final / "sub" / "meta.json").read_text(encoding="utf-8") == '{"a": 1}'
    assert not staged.exists()
    assert store.resolve(ref) == final


def test_commit_replaces_an_earlier_commit(store, root):
    first = _stage_output(store, try_number=1)
    store.commit_output(
        first, datastore="workspaceblobstore", run_id=RUN, task_id=TASK, step="s", output="model"
    )
    staging = store.staging("workspaceblobstore", RUN, TASK, 2)
    second = staging / "model"
    second.mkdir()
    (second / "only.txt").write_text("v2", encoding="utf-8")
    ref = store.commit_output(
        second, datastore="workspaceblobstore", run_id=RUN, task_id=TASK, step="s", output="model"
    )
    final = root / "azureml" / f"{RUN}_{TASK}" / "model"
    assert sorted(p.name for p in final.iterdir()) == ["only.txt"]
    assert (ref.files, ref.bytes) == (1, 2)


def test_content_digest_ignores_mtime_but_signature_does_not(store, root):
    staged = _stage_output(store)
    ref = store.commit_output(
        staged, datastore="workspaceblobstore", run_id=RUN, task_id=TASK, step="s", output="m"
    )
    final = root / "azureml" / f"{RUN}_{TASK}" / "m"
    os.utime(final / "weights.bin", ns=(1, 1))
    assert tree_digest(final) == ref.digest
    assert tree_signature(final)[0] != ref.signature


def test_check_intact_detects_deleted_and_altered_outputs(store, root):
    staged = _stage_output(store)
    ref = store.commit_output(
        staged, datastore="workspaceblobstore", run_id=RUN, task_id=TASK, step="s", output="m"
    )
    final = root / "azureml" / f"{RUN}_{TASK}" / "m"
    assert store.check_intact(ref) is None
    (final / "weights.bin").write_bytes(b"\x01" * 100)  # same size, new mtime
    assert store.check_intact(ref) == f"output s/m of run {RUN} was altered"
    shutil.rmtree(final)
    assert store.check_intact(ref) == f"output s/m of run {RUN} was deleted"


def test_discard_leaves_nothing_visible(store, root):
    staged = _stage_output(store)
    staging = staged.parent
    store.discard(staging)
    assert not staging.exists()
    task_dir = root / "azureml" / f"{RUN}_{TASK}"
    visible = [p for p in task_dir.rglob("*")] if task_dir.exists() else []
    assert visible == []
    ref = ArtifactReference("workspaceblobstore", f"azureml/{RUN}_{TASK}/model", RUN, "s", "model")
    with pytest.raises(DatastoreException):
        store.resolve(ref)


def test_resolve_deleted_output_raises(store, root):
    staged = _stage_output(store)
    ref = store.commit_output(
        staged,
        datastore="workspaceblobstore",
        run_id=RUN,
        task_id=TASK,
        step="Train",
        output="model",
    )
    shutil.rmtree(store.resolve(ref))
    with pytest.raises(DatastoreException) as info:
        store.resolve(ref)
    msg = str(info.value)
    assert "'model'" in msg and "'Train'" in msg and RUN in msg


def test_unknown_or_remote_datastore_refused(tmp_path):
    store = ArtifactStore(
        {
            "blob": {"type": "azure_blob", "container_name": "c", "wasb_conn_id": "x"},
            "broken": {"type": "azure_blob", "container": "c"},
            "odd": {"type": "ftp"},
        }
    )
    with pytest.raises(DatastoreException, match="not known"):
        store.objects("nope")
    with pytest.raises(DatastoreException, match="is remote"):
        store.local_path("blob", "a")
    with pytest.raises(DatastoreException, match="'broken'.*container_name"):
        store.objects("broken")
    with pytest.raises(DatastoreException, match="'odd' has unknown type 'ftp'"):
        store.objects("odd")


def test_local_path_refuses_traversal(store, root, tmp_path):
    (tmp_path / "secret.txt").write_text("s", encoding="utf-8")
    with pytest.raises(ValidationError):
        store.local_path("workspaceblobstore", "../secret.txt")
    ref = ArtifactReference("workspaceblobstore", "../secret.txt", RUN, "s", "o")
    with pytest.raises(ValidationError):
        store.resolve(ref)
    assert store.local_path("workspaceblobstore", "a/./b") == root / "a" / "b"


def test_commit_record(store, root, tmp_path):
    record = tmp_path / "record"
    record.mkdir()
    (record / "metrics.jsonl").write_text("{}\n", encoding="utf-8")
    rel = store.commit_record(record, datastore="workspaceblobstore", run_id=RUN, task_id=TASK)
    assert rel == f"azureml/{RUN}_{TASK}/.run"
    assert (root / rel / "metrics.jsonl").read_text(encoding="utf-8") == "{}\n"
    assert not record.exists()


# ------------------------------------------------------------------ references
def test_reference_json_round_trip():
    ref = ArtifactReference(
        "workspaceblobstore", "azureml/r/t/o", "r", "Step one", "o", 3, 1234, "d" * 32, "s" * 32
    )
    data = ref.to_json()
    assert data == {
        "kind": "airflow_aml.artifact",
        "datastore": "workspaceblobstore",
        "path": "azureml/r/t/o",
        "run_id": "r",
        "step": "Step one",
        "output": "o",
        "files": 3,
        "bytes": 1234,
        "digest": "d" * 32,
        "signature": "s" * 32,
    }
    text = json.dumps(data)  # plain JSON, no custom encoder needed
    assert ArtifactReference.from_json(json.loads(text)) == ref
    assert ArtifactReference.from_json(data) == ref
    older = {k: v for k, v in data.items() if k not in ("digest", "signature")}
    assert ArtifactReference.from_json(older).digest == ""  # references from before digests
