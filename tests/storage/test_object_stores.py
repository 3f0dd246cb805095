"""The ObjectStore contract, checked on a local folder and on a real Azure Blob
container (Azurite) alike: same keys, same listings, same exclusive writes and locks."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from airflow_aml.exceptions import CorruptObjectError, DatastoreException
from airflow_aml.storage import ObjectStore, open_location
from airflow_aml.storage.blob import BlobStore
from airflow_aml.storage.folder import FolderStore


@pytest.fixture(params=["folder", pytest.param("blob", marks=pytest.mark.azurite)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "folder":
        return FolderStore(tmp_path / "s")
    container = request.getfixturevalue("blob_container")
    found = open_location(f"wasb://aml_blob@{container}/pre/fix")
    assert isinstance(found, BlobStore)
    assert (found.conn_id, found.container, found.prefix) == ("aml_blob", container, "pre/fix")
    return found


def _keys(store: ObjectStore, prefix: str = "") -> list[str]:
    return [o.key for o in store.list(prefix)]


# ----------------------------------------------------------------- objects
def test_bytes_text_json_round_trip(store: ObjectStore):
    data = bytes(range(256)) * 3
    assert store.write_bytes("bin/data.bin", data) is True
    assert store.read_bytes("bin/data.bin") == data
    assert store.write_text("t/hello.txt", "héllo wörld\n") is True
    assert store.read_text("t/hello.txt") == "héllo wörld\n"
    value = {"b": [1, 2.5, None, True], "a": {"nested": "ü"}}
    assert store.write_json("j/v.json", value) is True
    assert store.read_json("j/v.json") == value
    assert store.exists("j/v.json")
    # a rewrite replaces the whole object
    assert store.write_bytes("bin/data.bin", b"short") is True
    assert store.read_bytes("bin/data.bin") == b"short"
    # not JSON: read_json says None rather than raising
    assert store.read_json("t/hello.txt") is None


def test_an_object_that_is_not_utf8_json_is_corrupt_never_a_crash(store: ObjectStore, caplog):
    # Non-UTF-8 bytes used to raise a raw UnicodeDecodeError from read_json (issue #10).
    store.write_bytes("j/bad.json", b"\xff\xfe")
    store.write_bytes("j/cut.json", b'{"a": [1, 2')
    caplog.set_level("WARNING", logger="airflow_aml.storage.base")
    for _ in range(3):  # read as missing, every time
        assert store.read_json("j/bad.json") is None
        assert store.read_json("j/cut.json") is None
    with pytest.raises(CorruptObjectError, match=r"j/bad\.json on .* is corrupt: not UTF-8") as e:
        store.load_json("j/bad.json")
    assert (e.value.location, e.value.key) == (store.url, "j/bad.json")
    with pytest.raises(CorruptObjectError, match=r"j/cut\.json .* not JSON"):
        store.load_json("j/cut.json")
    with pytest.raises(CorruptObjectError, match="not UTF-8"):
        store.read_text("j/bad.json")
    assert isinstance(e.value, DatastoreException)
    # Logged once per object and process, however often it is read.
    logged = [r.getMessage() for r in caplog.records if "is corrupt" in r.getMessage()]
    assert len([m for m in logged if "j/bad.json" in m]) == 1
    assert len([m for m in logged if "j/cut.json" in m]) == 1
    # The others are unaffected; missing is still None, not corrupt.
    store.write_json("j/good.json", {"ok": True})
    assert store.load_json("j/good.json") == {"ok": True}
    assert store.load_json("j/none.json") is None


def test_missing_keys(store: ObjectStore):
    assert store.read_bytes("nope/none.bin") is None
    assert store.read_text("nope.txt") is None
    assert store.read_json("nope.json") is None
    assert store.info("nope.json") is None
    assert not store.exists("nope.json")
    assert store.delete("nope.json") is False
    assert store.touch("nope.json") is False
    assert store.list("nope/") == []


def test_if_absent_write_keeps_the_existing_object(store: ObjectStore):
    assert store.write_bytes("k.bin", b"first", if_absent=True) is True
    assert store.write_bytes("k.bin", b"second", if_absent=True) is False
    assert store.write_json("k.bin", {"x": 1}, if_absent=True) is False
    assert store.read_bytes("k.bin") == b"first"
    assert store.write_bytes("k.bin", b"third") is True  # plain writes overwrite
    assert store.read_bytes("k.bin") == b"third"


def test_info_size_etag_and_modified(store: ObjectStore):
    before = time.time()
    store.write_bytes("d/x.bin", b"12345")
    first = store.info("d/x.bin")
    assert first is not None
    assert first.key == "d/x.bin"
    assert first.size == 5
    assert first.etag
    # Blob mtimes have one-second resolution; allow a little clock slack both ways.
    assert before - 2 <= first.modified <= time.time() + 2
    store.write_bytes("d/x.bin", b"1234567")
    second = store.info("d/x.bin")
    assert second is not None
    assert second.size == 7
    assert second.etag != first.etag
    # a folder is not an object
    assert store.info("d") is None


def test_delete_and_conditional_delete(store: ObjectStore):
    store.write_bytes("a.txt", b"a")
    assert store.delete("a.txt") is True
    assert store.read_bytes("a.txt") is None
    assert store.delete("a.txt") is False

    store.write_bytes("b.txt", b"one")
    old = store.info("b.txt")
    assert old is not None
    time.sleep(0.01)
    store.write_bytes("b.txt", b"two!")  # rewritten by someone else
    assert store.delete("b.txt", if_etag=old.etag) is False
    assert store.read_bytes("b.txt") == b"two!"
    current = store.info("b.txt")
    assert current is not None
    assert store.delete("b.txt", if_etag=current.etag) is True
    assert store.read_bytes("b.txt") is None


# ----------------------------------------------------------------- listing
def _populate(store: ObjectStore) -> None:
    for key in ["a/b/1.txt", "a/b/2.txt", "a/bc/3.txt", "a/z.txt", "ab.txt", "top.txt", "c/d.txt"]:
        store.write_text(key, key)


def test_list_prefixes_are_sorted_and_relative(store: ObjectStore):
    _populate(store)
    every = ["a/b/1.txt", "a/b/2.txt", "a/bc/3.txt", "a/z.txt", "ab.txt", "c/d.txt", "top.txt"]
    assert _keys(store) == every
    assert _keys(store, "a/") == ["a/b/1.txt", "a/b/2.txt", "a/bc/3.txt", "a/z.txt"]
    # a string prefix, not a folder: a/b and a/bc both match, a/z does not
    assert _keys(store, "a/b") == ["a/b/1.txt", "a/b/2.txt", "a/bc/3.txt"]
    assert _keys(store, "a/b/") == ["a/b/1.txt", "a/b/2.txt"]
    assert _keys(store, "a") == ["a/b/1.txt", "a/b/2.txt", "a/bc/3.txt", "a/z.txt", "ab.txt"]
    assert _keys(store, "t") == ["top.txt"]
    assert _keys(store, "top.txt") == ["top.txt"]
    sizes = {o.key: o.size for o in store.list("c/")}
    assert sizes == {"c/d.txt": len("c/d.txt")}


def test_child_store_sees_keys_relative_to_it(store: ObjectStore):
    _populate(store)
    child = store.child("a")
    assert _keys(child) == ["b/1.txt", "b/2.txt", "bc/3.txt", "z.txt"]  # not ab.txt
    assert _keys(child, "b/") == ["b/1.txt", "b/2.txt"]
    assert child.read_text("b/1.txt") == "a/b/1.txt"
    child.write_text("new.txt", "via child")
    assert store.read_text("a/new.txt") == "via child"
    grandchild = child.child("b")
    assert _keys(grandchild) == ["1.txt", "2.txt"]
    assert store.child("missing").list() == []


def test_lock_files_never_listed(store: ObjectStore):
    store.write_text("a/x.txt", "x")
    child = store.child("a")
    with store.lock("some/lock"), child.lock("child-lock"):
        assert _keys(store) == ["a/x.txt"]
        assert _keys(child) == ["x.txt"]
    with store.update_json("a/doc.json") as doc:
        doc["n"] = 1
    with child.update_json("doc2.json") as doc:
        doc["n"] = 2
    assert _keys(store) == ["a/doc.json", "a/doc2.json", "a/x.txt"]
    assert _keys(store, "a/") == ["a/doc.json", "a/doc2.json", "a/x.txt"]
    assert _keys(child) == ["doc.json", "doc2.json", "x.txt"]


# ----------------------------------------------------------------- touch
def test_touch_refreshes_modified_and_etag_not_content(store: ObjectStore):
    store.write_bytes("hb.json", b'{"owner": 1}')
    first = store.info("hb.json")
    assert first is not None
    time.sleep(1.1)  # blob mtimes have one-second resolution
    assert store.touch("hb.json") is True
    second = store.info("hb.json")
    assert second is not None
    assert second.modified > first.modified
    assert second.etag != first.etag
    assert second.size == first.size
    assert store.read_bytes("hb.json") == b'{"owner": 1}'


# ----------------------------------------------------------------- trees
def _make_tree(root: Path) -> dict[str, bytes]:
    files = {
        "top.txt": b"top\n",
        "empty.bin": b"",
        "sub/deeper/data.bin": bytes(range(200)) * 50,
        "sub/ünïcødé name.txt": "grüße\n".encode(),
        "sub/deeper/another/x.json": b'{"a": 1}',
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def _read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_upload_and_download_tree_round_trip(store: ObjectStore, tmp_path: Path):
    files = _make_tree(tmp_path / "src")
    store.write_text("outside/keep.txt", "not part of the tree")
    assert store.upload_tree(tmp_path / "src", "trees/one") == len(files)
    assert _keys(store, "trees/one/") == sorted(f"trees/one/{k}" for k in files)
    empty = store.info("trees/one/empty.bin")
    assert empty is not None and empty.size == 0

    assert store.download_tree("trees/one", tmp_path / "dst") == len(files)
    assert _read_tree(tmp_path / "dst") == files
    # a trailing slash is the same folder
    assert store.download_tree("trees/one/", tmp_path / "dst2") == len(files)
    assert _read_tree(tmp_path / "dst2") == files
    # a sub-folder alone
    assert store.download_tree("trees/one/sub/deeper", tmp_path / "dst3") == 2
    assert _read_tree(tmp_path / "dst3") == {
        "data.bin": files["sub/deeper/data.bin"],
        "another/x.json": files["sub/deeper/another/x.json"],
    }
    # download_file writes one object to a local path
    store.download_file("trees/one/sub/ünïcødé name.txt", tmp_path / "one" / "f.txt")
    assert (tmp_path / "one" / "f.txt").read_bytes() == "grüße\n".encode()


def test_delete_prefix(store: ObjectStore, tmp_path: Path):
    files = _make_tree(tmp_path / "src")
    store.upload_tree(tmp_path / "src", "t")
    store.write_text("tx.txt", "sibling by string prefix")
    store.write_text("other/keep.txt", "keep")
    assert store.delete_prefix("t/sub/") == 3
    assert _keys(store, "t/") == ["t/empty.bin", "t/top.txt"]
    assert store.delete_prefix("t/") == len(files) - 3
    assert _keys(store) == ["other/keep.txt", "tx.txt"]
    assert store.delete_prefix("t/") == 0
    assert store.delete_prefix("t") == 1  # a string prefix: tx.txt
    assert _keys(store) == ["other/keep.txt"]


def test_update_json_creates_and_edits(store: ObjectStore):
    with store.update_json("docs/d.json") as doc:
        assert doc == {}
        doc["count"] = 1
    assert store.read_json("docs/d.json") == {"count": 1}
    with store.update_json("docs/d.json") as doc:
        assert doc == {"count": 1}
        doc["count"] += 1
        doc["name"] = "x"
    assert store.read_json("docs/d.json") == {"count": 2, "name": "x"}
    # a non-object document is replaced by a fresh object
    store.write_json("docs/list.json", [1, 2])
    with store.update_json("docs/list.json") as doc:
        assert doc == {}
        doc["ok"] = True
    assert store.read_json("docs/list.json") == {"ok": True}


def test_a_held_lock_times_out_with_a_typed_error(store: ObjectStore):
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.lock("busy"):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(30)
        start = time.monotonic()
        with pytest.raises(DatastoreException, match="cannot lock"), store.lock("busy", 0.5):
            pass
        assert time.monotonic() - start < 10
    finally:
        release.set()
        holder.join(30)
    with store.lock("busy", 5):  # free again
        pass


def test_lock_is_exclusive_across_threads(store: ObjectStore):
    store.write_json("counter.json", {"n": 0})
    errors: list[BaseException] = []
    inside = [0]
    overlap = [False]

    def work() -> None:
        try:
            for _ in range(20):
                with store.lock("counter"):
                    inside[0] += 1
                    if inside[0] > 1:
                        overlap[0] = True
                    n = store.read_json("counter.json")["n"]
                    time.sleep(0)
                    store.write_json("counter.json", {"n": n + 1})
                    inside[0] -= 1
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert not overlap[0]
    assert store.read_json("counter.json") == {"n": 40}
    assert _keys(store) == ["counter.json"]


# ----------------------------------------------------------------- blob only
def test_unknown_connection_is_named(blob_container: str):
    store = open_location(f"wasb://no_such_conn_xyz@{blob_container}/p")
    with pytest.raises(DatastoreException, match="no_such_conn_xyz"):
        store.read_bytes("k")


def test_missing_container_is_reported(blob_container: str):
    store = open_location("wasb://aml_blob@no-such-container-4711/p")
    for attempt in (
        lambda: store.read_bytes("k"),
        lambda: store.write_bytes("k", b"x"),
        lambda: store.list(),
    ):
        with pytest.raises(DatastoreException, match="no-such-container-4711.*does not exist"):
            attempt()


def test_location_without_container_is_refused():
    with pytest.raises(DatastoreException, match=r"wasb://<conn_id>@<container>"):
        open_location("wasb://nocontainer")
    with pytest.raises(DatastoreException, match=r"wasb://<conn_id>@<container>"):
        open_location("wasb://@container/p")
    with pytest.raises(DatastoreException, match="unsupported location"):
        open_location("s3://bucket/p")


def test_folder_location_opens_a_folder_store(tmp_path: Path):
    found = open_location(tmp_path / "f")
    assert isinstance(found, FolderStore)
    assert found.is_local and found.local_path("a/b") == tmp_path / "f" / "a" / "b"
