"""ArtifactStore on an Azure Blob datastore (a real Azurite container): upload, commit by
manifest, integrity checks against the blob listing, and cached downloads."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient

from airflow_aml._files import cache_root
from airflow_aml.artifacts.store import ArtifactReference, ArtifactStore, run_prefix, tree_digest
from airflow_aml.exceptions import DatastoreException
from tests.azurite import AzuriteBlob

DS = "blobstore"
RUN = "manual__2025-01-01T00:00:00+00:00"
TASK = "Train_model"
PREFIX = run_prefix(RUN, TASK)


@pytest.fixture
def store(blob_container: str) -> ArtifactStore:
    return ArtifactStore(
        {DS: {"type": "azure_blob", "container_name": blob_container, "wasb_conn_id": "aml_blob"}}
    )


@pytest.fixture
def container(azurite_blob: AzuriteBlob, blob_container: str) -> Iterator[ContainerClient]:
    """The test's container, reached directly with the Azure SDK (not through the store)."""
    with BlobServiceClient.from_connection_string(azurite_blob.connection_string) as service:
        yield service.get_container_client(blob_container)


def _names(container: ContainerClient) -> list[str]:
    return sorted(b.name for b in container.list_blobs())


_WORK: dict[str, Path] = {}


@pytest.fixture(autouse=True)
def _work_folder(tmp_path: Path):
    """The step's local work folder that remote staging lives in (the operator's workdir)."""
    _WORK["root"] = tmp_path / "work"
    yield
    _WORK.clear()


def _stage(
    store: ArtifactStore, files: dict[str, bytes], try_number: int = 1, output: str = "model"
) -> Path:
    root = _WORK["root"] / f"try-{try_number}-{output}"
    staging = store.staging(DS, RUN, TASK, try_number, local_root=root)
    assert staging.is_relative_to(root)
    out = staging / output
    for rel, data in files.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
    return out


FILES = {"weights.bin": b"\x00\x01" * 50, "sub/meta.json": b'{"a": 1}'}


def _commit(store: ArtifactStore, staged: Path, output: str = "model") -> ArtifactReference:
    return store.commit_output(
        staged, datastore=DS, run_id=RUN, task_id=TASK, step="Train model", output=output
    )


def _read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_staging_is_local_and_not_on_the_datastore(store: ArtifactStore, container):
    assert not store.is_local(DS)
    staged = _stage(store, FILES)
    assert staged.is_dir()
    assert _names(container) == []
    with pytest.raises(DatastoreException, match="remote"):
        store.local_path(DS, "x")


def test_commit_output_uploads_and_writes_the_manifest(store: ArtifactStore, container):
    staged = _stage(store, FILES)
    digest = tree_digest(staged)
    ref = _commit(store, staged)
    assert ref.datastore == DS
    assert ref.path == f"{PREFIX}/model"
    assert (ref.run_id, ref.step, ref.output) == (RUN, "Train model", "model")
    assert ref.files == 2
    assert ref.bytes == 108
    assert ref.digest == digest
    assert ref.signature and ref.signature != ref.digest
    assert _names(container) == [
        f"{PREFIX}/.outputs/model.json",
        f"{PREFIX}/model/sub/meta.json",
        f"{PREFIX}/model/weights.bin",
    ]
    assert container.download_blob(f"{PREFIX}/model/weights.bin").readall() == FILES["weights.bin"]
    manifest = json.loads(container.download_blob(f"{PREFIX}/.outputs/model.json").readall())
    assert ArtifactReference.from_json(manifest) == ref
    assert store.check_intact(ref) is None
    assert not staged.exists()  # uploaded: the local staging copy is gone (no disk leak)


def test_deleted_blob_is_detected(store: ArtifactStore, container):
    ref = _commit(store, _stage(store, FILES))
    container.delete_blob(f"{PREFIX}/model/weights.bin")
    problem = store.check_intact(ref)
    assert problem is not None
    assert "Train model/model" in problem and RUN in problem
    assert "deleted" in problem or "altered" in problem
    # every file gone (manifest kept): deleted
    container.delete_blob(f"{PREFIX}/model/sub/meta.json")
    problem = store.check_intact(ref)
    assert problem is not None and "deleted" in problem


def test_overwritten_blob_is_altered(store: ArtifactStore, container):
    ref = _commit(store, _stage(store, FILES))
    container.upload_blob(f"{PREFIX}/model/sub/meta.json", b'{"a": 2}', overwrite=True)
    problem = store.check_intact(ref)
    assert problem is not None and "altered" in problem
    with pytest.raises(DatastoreException, match="altered"):
        store.resolve(ref)


def test_added_blob_is_altered(store: ArtifactStore, container):
    ref = _commit(store, _stage(store, FILES))
    container.upload_blob(f"{PREFIX}/model/extra.txt", b"sneaked in")
    problem = store.check_intact(ref)
    assert problem is not None and "altered" in problem


def test_missing_manifest_means_not_committed(store: ArtifactStore, container):
    ref = _commit(store, _stage(store, FILES))
    container.delete_blob(f"{PREFIX}/.outputs/model.json")
    problem = store.check_intact(ref)
    assert problem is not None and "deleted" in problem
    with pytest.raises(DatastoreException, match="Train model"):
        store.resolve(ref)


def test_resolve_downloads_once_into_the_cache(store: ArtifactStore, container):
    staged = _stage(store, FILES)
    ref = _commit(store, staged)
    local = store.resolve(ref)
    assert local.is_dir()
    assert local == cache_root() / "outputs" / ref.digest
    cache = Path(os.environ["AIRFLOW__AML__CACHE_DIR"]).resolve()
    assert local.resolve().is_relative_to(cache)
    assert _read_tree(local) == FILES
    assert tree_digest(local) == ref.digest
    # the second resolve is the same cached folder, even with the datastore copy gone
    container.delete_blob(f"{PREFIX}/model/weights.bin")
    assert store.resolve(ref) == local
    assert _read_tree(local) == FILES


def test_retry_commit_replaces_the_first_try(store: ArtifactStore, container):
    first = _commit(store, _stage(store, {"a.txt": b"a1", "b.txt": b"b1", "d/c.txt": b"c1"}, 1))
    second = _commit(store, _stage(store, {"a.txt": b"a2", "new.txt": b"n2"}, 2))
    assert _names(container) == [
        f"{PREFIX}/.outputs/model.json",
        f"{PREFIX}/model/a.txt",
        f"{PREFIX}/model/new.txt",
    ]
    assert container.download_blob(f"{PREFIX}/model/a.txt").readall() == b"a2"
    assert (second.files, second.bytes) == (2, 4)
    assert second.digest != first.digest
    assert store.check_intact(second) is None
    assert store.check_intact(first) is not None  # the first try's commit no longer stands
    manifest = json.loads(container.download_blob(f"{PREFIX}/.outputs/model.json").readall())
    assert ArtifactReference.from_json(manifest) == second


def test_materialise_file_folder_and_missing(store: ArtifactStore, tmp_path: Path):
    ref = _commit(store, _stage(store, FILES))
    one = store.materialise(DS, f"{ref.path}/sub/meta.json", tmp_path / "one")
    assert one == tmp_path / "one" / "meta.json"
    assert one.is_file() and one.read_bytes() == FILES["sub/meta.json"]

    folder = store.materialise(DS, ref.path, tmp_path / "folder")
    assert folder == tmp_path / "folder"
    assert _read_tree(folder) == FILES

    sub = store.materialise(DS, f"{ref.path}/sub", tmp_path / "sub")
    assert sub is not None and _read_tree(sub) == {"meta.json": FILES["sub/meta.json"]}

    assert store.materialise(DS, f"{PREFIX}/nothing", tmp_path / "none") is None
    # a string prefix of a blob name is not that blob
    assert store.materialise(DS, f"{ref.path}/weights", tmp_path / "partial") is None


def test_content_identity_follows_the_content(store: ArtifactStore, container):
    ref = _commit(store, _stage(store, FILES))
    before = {how: store.content_identity(DS, ref.path, how) for how in ("digest", "signature")}
    assert all(before.values())
    assert before == {how: store.content_identity(DS, ref.path, how) for how in before}
    file_before = store.content_identity(DS, f"{ref.path}/weights.bin", "digest")
    assert file_before is not None

    container.upload_blob(f"{PREFIX}/model/weights.bin", b"\x07" * 100, overwrite=True)
    after = {how: store.content_identity(DS, ref.path, how) for how in before}
    assert after["digest"] != before["digest"]
    assert after["signature"] != before["signature"]
    assert store.content_identity(DS, f"{ref.path}/weights.bin", "digest") != file_before
    assert store.content_identity(DS, f"{PREFIX}/nothing", "digest") is None
    assert store.content_identity(DS, f"{PREFIX}/nothing", "signature") is None


def test_commit_record_and_record_folder_round_trip(
    store: ArtifactStore, container, tmp_path: Path
):
    record = tmp_path / "record"
    (record / "logs").mkdir(parents=True)
    (record / "logs" / "std_log.txt").write_text("hello from the step\n", encoding="utf-8")
    (record / "run.json").write_text('{"status": "Completed"}', encoding="utf-8")
    rel = store.commit_record(record, datastore=DS, run_id=RUN, task_id=TASK)
    assert rel == f"{PREFIX}/.run"
    assert _names(container) == [f"{PREFIX}/.run/logs/std_log.txt", f"{PREFIX}/.run/run.json"]

    local = store.record_folder(DS, RUN, TASK)
    assert _read_tree(local) == _read_tree(record)

    # a second record (a retry) replaces the first, and a fresh copy shows it
    (record / "logs" / "std_log.txt").unlink()
    (record / "run.json").write_text('{"status": "Failed"}', encoding="utf-8")
    store.commit_record(record, datastore=DS, run_id=RUN, task_id=TASK)
    again = store.record_folder(DS, RUN, TASK)
    assert _read_tree(again) == {"run.json": b'{"status": "Failed"}'}
