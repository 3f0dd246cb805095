"""The worker-side cache of remote folders (snapshots, step outputs by digest): a cached
copy is used only while it still holds what was downloaded, checked with a stat per
file; a copy that was changed is deleted and fetched again (issue #10)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from airflow_aml.exceptions import CorruptObjectError
from airflow_aml.storage import ObjectStore, open_location
from airflow_aml.storage import cache as cache_module
from airflow_aml.storage.cache import fetch_folder
from airflow_aml.storage.folder import FolderStore

KEY = "f" * 32
FILES = {"result.txt": "the right result\n", "sub/more.txt": "more\n"}


@pytest.fixture(params=["folder", pytest.param("blob", marks=pytest.mark.azurite)])
def remote(request, tmp_path, monkeypatch) -> ObjectStore:
    monkeypatch.setenv("AIRFLOW__AML__CACHE_DIR", str(tmp_path / "cache"))
    if request.param == "folder":
        store: ObjectStore = FolderStore(tmp_path / "remote")
    else:
        container = request.getfixturevalue("blob_container")
        store = open_location(f"wasb://aml_blob@{container}/remote")
    for rel, text in FILES.items():
        store.write_text(f"out/{rel}", text)
    return store


@pytest.fixture
def downloads(monkeypatch) -> list[str]:
    """The prefixes downloaded from now on."""
    seen: list[str] = []
    real = ObjectStore.download_tree

    def counting(self, prefix, local):
        seen.append(prefix)
        return real(self, prefix, local)

    monkeypatch.setattr(ObjectStore, "download_tree", counting)
    return seen


def _fetch(remote: ObjectStore, **kwargs) -> Path:
    return fetch_folder(remote, "out", kind="outputs", key=KEY, **kwargs)


def _read(folder: Path) -> dict[str, str]:
    return {rel: (folder / rel).read_text() for rel in FILES}


def test_an_intact_copy_is_reused_for_stats_only(remote, downloads, monkeypatch):
    first = _fetch(remote)
    assert _read(first) == FILES and downloads == ["out"]
    hashed: list[Path] = []
    real = cache_module._xxh3
    monkeypatch.setattr(cache_module, "_xxh3", lambda p: hashed.append(p) or real(p))
    assert _fetch(remote) == first
    assert downloads == ["out"] and hashed == []  # no download, and no file read


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda f: (f / "result.txt").write_text("the"), id="truncated"),
        pytest.param(lambda f: (f / "sub" / "more.txt").unlink(), id="file-deleted"),
        pytest.param(lambda f: (f / "result.txt").write_text("THE RIGHT RESULT\n"), id="same-size"),
        pytest.param(lambda f: f.with_name(f.name + ".files.json").unlink(), id="no-record"),
        pytest.param(
            lambda f: f.with_name(f.name + ".files.json").write_bytes(b"\xff"), id="bad-rec"
        ),
    ],
)
def test_a_changed_copy_is_deleted_and_fetched_again(remote, downloads, damage):
    # The cache used to trust any existing folder: a truncated copy was used as it was.
    folder = _fetch(remote)
    damage(folder)
    again = _fetch(remote)
    assert again == folder
    assert _read(again) == FILES
    assert downloads == ["out", "out"]
    assert not [p for p in folder.parent.iterdir() if ".discarded-" in p.name]


def test_files_added_to_a_copy_are_left_alone(remote, downloads):
    folder = _fetch(remote)
    (folder / "outputs").mkdir()
    (folder / "outputs" / "model.pkl").write_text("written by a step running here")
    assert _fetch(remote) == folder
    assert downloads == ["out"]
    assert (folder / "outputs" / "model.pkl").exists()


def test_a_download_that_differs_from_its_manifest_is_refused(remote, downloads):
    import xxhash

    expected = {rel: xxhash.xxh3_128_hexdigest(text.encode()) for rel, text in FILES.items()}
    remote.write_text("out/result.txt", "tampered\n")
    with pytest.raises(CorruptObjectError, match=r"out on .* is corrupt: result\.txt does not"):
        _fetch(remote, expected=lambda: expected)
    target = Path(os.environ["AIRFLOW__AML__CACHE_DIR"]) / "outputs" / KEY
    assert not target.exists()  # nothing kept
    remote.write_text("out/result.txt", FILES["result.txt"])
    assert _read(_fetch(remote, expected=lambda: expected)) == FILES
    remote.write_text("out/extra.py", "import os\n")  # not in the manifest
    target_copy = _fetch(remote, expected=lambda: expected)  # the cached copy is intact
    assert _read(target_copy) == FILES
