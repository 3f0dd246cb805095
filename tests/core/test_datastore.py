"""Datastore factory, local data moves, references and path-traversal refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_aml.core import Datastore, Workspace
from airflow_aml.core.datastore import AzureBlobDatastore, LocalDatastore
from airflow_aml.data import DataReference
from airflow_aml.exceptions import (
    DatastoreException,
    NotSupportedError,
    UserErrorException,
    ValidationError,
)


@pytest.fixture
def fresh_ws(tmp_path):
    return Workspace("sub", "rg", "ds_ws", home=tmp_path / "ws_home")


@pytest.fixture
def store(fresh_ws, tmp_path):
    return Datastore.register_local_folder(fresh_ws, "teststore", str(tmp_path / "store_root"))


@pytest.fixture
def src_tree(tmp_path):
    root = tmp_path / "src_tree"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a.txt").write_text("alpha", encoding="utf-8")
    (root / "sub" / "b.csv").write_text("1,2\n", encoding="utf-8")
    (root / "sub" / "deeper" / "c.bin").write_bytes(b"\x00\x01\x02")
    return root


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# --------------------------------------------------------------------- factory
def test_factory_returns_local_datastore(fresh_ws):
    store = Datastore(fresh_ws, "workspacefilestore")
    assert type(store) is LocalDatastore
    assert store.name == "workspacefilestore"
    assert store.datastore_type == "LocalFolder"
    assert store.root == fresh_ws.home / "datastores" / "workspacefilestore"


def test_factory_without_name_returns_default(fresh_ws, store):
    assert Datastore(fresh_ws).name == "workspaceblobstore"
    assert Datastore.get_default(fresh_ws).name == "workspaceblobstore"
    store.set_as_default()
    default = Datastore(fresh_ws)
    assert isinstance(default, LocalDatastore)
    assert default.name == "teststore"
    assert default == store


def test_factory_unknown_name_names_known_ones(fresh_ws):
    with pytest.raises(DatastoreException) as info:
        Datastore(fresh_ws, "nope")
    msg = str(info.value)
    assert "'nope'" in msg
    assert "workspaceblobstore" in msg and "workspacefilestore" in msg
    with pytest.raises(DatastoreException, match="nope"):
        Datastore.get(fresh_ws, "nope")


# ---------------------------------------------------------------------- upload
def test_upload_copies_tree(store, src_tree):
    ref = store.upload(str(src_tree), target_path="data/v1", show_progress=False)
    assert _tree(store.root / "data" / "v1") == {
        "a.txt": b"alpha",
        "sub/b.csv": b"1,2\n",
        "sub/deeper/c.bin": b"\x00\x01\x02",
    }
    assert isinstance(ref, DataReference)
    assert ref.datastore.name == "teststore"
    assert ref.path_on_datastore == "data/v1"
    assert ref.mode == "mount"


def test_upload_without_target_path_goes_to_root(store, src_tree):
    ref = store.upload(str(src_tree), show_progress=False)
    assert ref.path_on_datastore is None
    assert _tree(store.root) == _tree(src_tree)


def test_upload_skips_existing_unless_overwrite(store, src_tree, capsys):
    store.upload(str(src_tree), target_path="t", show_progress=False)
    (src_tree / "a.txt").write_text("alpha v2", encoding="utf-8")
    (src_tree / "new.txt").write_text("new", encoding="utf-8")

    store.upload(str(src_tree), target_path="t", overwrite=False, show_progress=True)
    out = capsys.readouterr().out
    assert "Skipping a.txt" in out
    assert "Uploaded 1 file(s)" in out
    assert (store.root / "t" / "a.txt").read_text(encoding="utf-8") == "alpha"
    assert (store.root / "t" / "new.txt").read_text(encoding="utf-8") == "new"

    store.upload(str(src_tree), target_path="t", overwrite=True, show_progress=False)
    assert (store.root / "t" / "a.txt").read_text(encoding="utf-8") == "alpha v2"
    # No temporary upload files are left behind.
    assert sorted(_tree(store.root / "t")) == [
        "a.txt",
        "new.txt",
        "sub/b.csv",
        "sub/deeper/c.bin",
    ]


def test_upload_missing_source_folder(store, tmp_path):
    with pytest.raises(DatastoreException, match="does not exist"):
        store.upload(str(tmp_path / "missing"), show_progress=False)


def test_upload_files_with_relative_root(store, src_tree):
    files = [str(src_tree / "sub" / "b.csv"), str(src_tree / "sub" / "deeper" / "c.bin")]
    ref = store.upload_files(
        files, relative_root=str(src_tree), target_path="up", show_progress=False
    )
    assert ref.path_on_datastore == "up"
    assert _tree(store.root / "up") == {
        "sub/b.csv": b"1,2\n",
        "sub/deeper/c.bin": b"\x00\x01\x02",
    }


def test_upload_files_without_relative_root_uses_common_folder(store, src_tree):
    files = [str(src_tree / "sub" / "b.csv"), str(src_tree / "sub" / "deeper" / "c.bin")]
    store.upload_files(files, target_path="up", show_progress=False)
    assert _tree(store.root / "up") == {"b.csv": b"1,2\n", "deeper/c.bin": b"\x00\x01\x02"}


def test_upload_files_single_file_lands_by_name(store, src_tree):
    store.upload_files([str(src_tree / "sub" / "deeper" / "c.bin")], show_progress=False)
    assert _tree(store.root) == {"c.bin": b"\x00\x01\x02"}


def test_upload_files_outside_relative_root_refused(store, src_tree, tmp_path):
    other = tmp_path / "other.txt"
    other.write_text("x", encoding="utf-8")
    with pytest.raises(DatastoreException, match="not under relative_root"):
        store.upload_files(
            [str(other)], relative_root=str(src_tree), target_path="up", show_progress=False
        )


def test_upload_files_missing_file(store, tmp_path):
    with pytest.raises(DatastoreException, match="no such file"):
        store.upload_files([str(tmp_path / "ghost.txt")], show_progress=False)


# -------------------------------------------------------------------- download
def test_download_keeps_datastore_paths_and_counts(store, src_tree, tmp_path):
    store.upload(str(src_tree), target_path="data/v1", show_progress=False)
    (store.root / "other").mkdir()
    (store.root / "other" / "z.txt").write_text("z", encoding="utf-8")
    target = tmp_path / "dl"
    count = store.download(str(target), prefix="data/v1", show_progress=False)
    assert count == 3
    assert _tree(target) == {
        "data/v1/a.txt": b"alpha",
        "data/v1/sub/b.csv": b"1,2\n",
        "data/v1/sub/deeper/c.bin": b"\x00\x01\x02",
    }


def test_download_without_prefix_gets_everything(store, src_tree, tmp_path):
    store.upload(str(src_tree), target_path="x", show_progress=False)
    count = store.download(str(tmp_path / "all"), show_progress=False)
    assert count == 3
    assert set(_tree(tmp_path / "all")) == {"x/a.txt", "x/sub/b.csv", "x/sub/deeper/c.bin"}


def test_download_single_file_prefix(store, src_tree, tmp_path):
    store.upload(str(src_tree), target_path="x", show_progress=False)
    count = store.download(str(tmp_path / "one"), prefix="x/sub/b.csv", show_progress=False)
    assert count == 1
    assert _tree(tmp_path / "one") == {"x/sub/b.csv": b"1,2\n"}


def test_download_string_prefix_matches_names(store, tmp_path):
    for name in ("file1.txt", "file2.txt", "other.txt"):
        (store.root / "logs").mkdir(parents=True, exist_ok=True)
        (store.root / "logs" / name).write_text(name, encoding="utf-8")
    count = store.download(str(tmp_path / "pre"), prefix="logs/file", show_progress=False)
    assert count == 2
    assert set(_tree(tmp_path / "pre")) == {"logs/file1.txt", "logs/file2.txt"}


def test_download_keeps_existing_unless_overwrite(store, src_tree, tmp_path):
    store.upload(str(src_tree), target_path="d", show_progress=False)
    target = tmp_path / "dl"
    (target / "d").mkdir(parents=True)
    (target / "d" / "a.txt").write_text("local edit", encoding="utf-8")
    assert store.download(str(target), prefix="d", show_progress=False) == 2
    assert (target / "d" / "a.txt").read_text(encoding="utf-8") == "local edit"
    assert store.download(str(target), prefix="d", overwrite=True, show_progress=False) == 3
    assert (target / "d" / "a.txt").read_text(encoding="utf-8") == "alpha"


def test_download_missing_prefix_is_zero(store, tmp_path):
    assert store.download(str(tmp_path / "none"), prefix="nothing/here", show_progress=False) == 0


# ------------------------------------------------------------------ references
def test_path_gives_data_reference(store):
    ref = store.path("data/v1", data_reference_name="raw")
    assert isinstance(ref, DataReference)
    assert ref.datastore is store
    assert ref.path_on_datastore == "data/v1"
    assert ref.data_reference_name == "raw"
    assert ref.mode == "mount"
    assert str(ref) == "$AZUREML_DATAREFERENCE_raw"


def test_path_default_reference_name_is_datastore_name(store):
    ref = store.path("a/b")
    assert ref.data_reference_name == "teststore"
    nested = ref.path("c")
    assert nested.path_on_datastore == "a/b/c"


def test_as_download_and_as_mount(store):
    dl = store.as_download(path_on_compute="/tmp/in")
    assert dl.mode == "download"
    assert dl.path_on_compute == "/tmp/in"
    assert dl.path_on_datastore is None
    mnt = store.as_mount()
    assert mnt.mode == "mount"
    assert mnt.path_on_datastore is None
    sub = store.path("x/y").as_download()
    assert (sub.mode, sub.path_on_datastore) == ("download", "x/y")
    cfg = sub.to_config()
    assert (cfg.data_store_name, cfg.mode, cfg.path_on_datastore) == (
        "teststore",
        "download",
        "x/y",
    )


# ------------------------------------------------------------- path traversal
@pytest.fixture
def outside(tmp_path):
    """A folder next to the datastore root holding data that must stay untouched."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text("do not touch", encoding="utf-8")
    return folder


def _assert_untouched(outside: Path) -> None:
    assert _tree(outside) == {"secret.txt": b"do not touch"}


BAD_PATHS = ["../outside", "../../x", "a/../../outside", "/abs/path", "..\\outside", "C:/x"]


@pytest.mark.parametrize("bad", BAD_PATHS)
def test_upload_target_path_traversal_refused(store, src_tree, outside, bad):
    (src_tree / "secret.txt").write_text("overwritten!", encoding="utf-8")
    with pytest.raises((ValidationError, DatastoreException)):
        store.upload(str(src_tree), target_path=bad, overwrite=True, show_progress=False)
    with pytest.raises((ValidationError, DatastoreException)):
        store.upload_files(
            [str(src_tree / "secret.txt")], target_path=bad, overwrite=True, show_progress=False
        )
    _assert_untouched(outside)
    assert not store.root.exists() or _tree(store.root) == {}


@pytest.mark.parametrize("bad", BAD_PATHS)
def test_download_prefix_traversal_refused(store, outside, tmp_path, bad):
    target = tmp_path / "dl"
    with pytest.raises((ValidationError, DatastoreException)):
        store.download(str(target), prefix=bad, show_progress=False)
    assert not target.exists()
    _assert_untouched(outside)


@pytest.mark.parametrize("bad", BAD_PATHS)
def test_path_on_datastore_traversal_refused(store, bad):
    with pytest.raises((ValidationError, DatastoreException)) as info:
        store.path(bad)
    assert isinstance(info.value, UserErrorException)
    with pytest.raises((ValidationError, DatastoreException)):
        DataReference(store, path_on_datastore=bad)
    with pytest.raises((ValidationError, DatastoreException)):
        store.path("ok").path("../../" + bad.lstrip("/"))


def test_traversal_error_names_the_field(store, src_tree, tmp_path):
    with pytest.raises(ValidationError) as info:
        store.upload(str(src_tree), target_path="../x", show_progress=False)
    assert info.value.field == "target_path"
    with pytest.raises(ValidationError) as info:
        store.download(str(tmp_path / "never"), prefix="../x", show_progress=False)
    assert info.value.field == "prefix"


# ---------------------------------------------------------------- registration
def test_register_local_folder_and_unregister(fresh_ws, tmp_path):
    root = tmp_path / "shared"
    store = Datastore.register_local_folder(fresh_ws, "shared", str(root))
    assert isinstance(store, LocalDatastore)
    assert store.root == root.resolve()
    assert "shared" in fresh_ws.datastores
    assert Datastore(fresh_ws, "shared") == store

    with pytest.raises(DatastoreException, match="already exists"):
        Datastore.register_local_folder(fresh_ws, "shared", str(tmp_path / "elsewhere"))
    again = Datastore.register_local_folder(
        fresh_ws, "shared", str(tmp_path / "elsewhere"), overwrite=True
    )
    assert again.root == (tmp_path / "elsewhere").resolve()

    again.upload_files([str(_file(tmp_path, "kept.txt", "k"))], show_progress=False)
    again.unregister()
    assert "shared" not in fresh_ws.datastores
    with pytest.raises(DatastoreException):
        Datastore.get(fresh_ws, "shared")
    assert (tmp_path / "elsewhere" / "kept.txt").read_text(encoding="utf-8") == "k"


def test_unregister_default_refused(fresh_ws):
    with pytest.raises(DatastoreException, match="default"):
        fresh_ws.get_default_datastore().unregister()
    assert "workspaceblobstore" in fresh_ws.datastores


def test_register_azure_blob_container_refuses_secrets(fresh_ws):
    for secret in ({"account_key": "S3CRET-KEY"}, {"sas_token": "sv=S3CRET-SAS"}):
        with pytest.raises(DatastoreException, match="wasb_conn_id='blob'") as info:
            Datastore.register_azure_blob_container(
                fresh_ws, "blob", container_name="c", account_name="acct", **secret
            )
        assert "S3CRET" not in str(info.value)
    assert "blob" not in fresh_ws.datastores
    assert "acct" not in (fresh_ws.home / "datastores.json").read_text()


def test_azure_blob_datastore_round_trip(fresh_ws, blob_container, src_tree, tmp_path):
    blob = Datastore.register_azure_blob_container(
        fresh_ws, "blob", blob_container, "devstoreaccount1", wasb_conn_id="aml_blob"
    )
    assert isinstance(Datastore(fresh_ws, "blob"), AzureBlobDatastore)
    assert blob.datastore_type == "AzureBlob" and blob.container_name == blob_container
    saved = (fresh_ws.home / "datastores.json").read_text()
    assert "AccountKey" not in saved and "aml_blob" in saved
    ref = blob.upload(str(src_tree), target_path="in", show_progress=False)
    assert ref.path_on_datastore == "in"
    (src_tree / "a.txt").write_text("changed", encoding="utf-8")
    blob.upload(str(src_tree), target_path="in", show_progress=False)  # overwrite=False keeps
    assert blob.download(str(tmp_path / "dl"), prefix="in", show_progress=False) == 3
    assert _tree(tmp_path / "dl" / "in") == {**_tree(src_tree), "a.txt": b"alpha"}
    # v1: the prefix is a prefix of blob names, not only of folders
    assert blob.download(str(tmp_path / "dl2"), prefix="in/su", show_progress=False) == 2
    blob.set_as_default()
    assert fresh_ws.get_default_datastore() == blob


def test_azure_blob_datastore_errors_are_clear(fresh_ws, blob_container):
    with pytest.raises(DatastoreException, match="'no_such_conn'"):
        Datastore.register_azure_blob_container(
            fresh_ws, "x", blob_container, "acct", wasb_conn_id="no_such_conn"
        )
    with pytest.raises(DatastoreException, match="'missing-container' does not exist"):
        Datastore.register_azure_blob_container(
            fresh_ws, "x", "missing-container", "acct", wasb_conn_id="aml_blob"
        )
    assert "x" not in fresh_ws.datastores
    made = Datastore.register_azure_blob_container(
        fresh_ws,
        "x",
        "made-on-demand",
        "acct",
        wasb_conn_id="aml_blob",
        create_if_not_exists=True,
    )
    assert made.container_name == "made-on-demand"
    with pytest.raises(DatastoreException, match="already exists"):
        Datastore.register_azure_blob_container(
            fresh_ws, "x", "other", "acct", wasb_conn_id="aml_blob", skip_validation=True
        )


def _file(folder: Path, name: str, text: str) -> Path:
    path = folder / "files" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "method", ["register_azure_file_share", "register_azure_data_lake_gen2", "register_dbfs"]
)
def test_other_azure_datastore_kinds_name_the_alternative(fresh_ws, method):
    with pytest.raises(NotSupportedError, match="'files'.*not supported"):
        getattr(Datastore, method)(fresh_ws, "files", "share", "acct")
    assert "files" not in fresh_ws.datastores
