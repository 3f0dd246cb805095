"""Source snapshots: ignore rules, digest stability, materialisation."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from airflow_aml.artifacts.snapshot import local_source, manifest_path, materialise, take_snapshot
from airflow_aml.exceptions import CorruptObjectError, UserErrorException


def _write(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


@pytest.fixture
def src(tmp_path):
    return _write(
        tmp_path / "src",
        {
            "train.py": "print('train')\n",
            "pkg/__init__.py": "",
            "pkg/util.py": "X = 1\n",
            "data/big.csv": "1,2,3\n",
            "notes.log": "log line\n",
        },
    )


# ----------------------------------------------------------------- ignore rules
def test_files_use_forward_slashes_and_are_sorted(src):
    snap = take_snapshot(src)
    assert snap.files == ("data/big.csv", "notes.log", "pkg/__init__.py", "pkg/util.py", "train.py")
    assert all("\\" not in f and not f.startswith("/") for f in snap.files)
    assert len(snap.file_digests) == len(snap.files)
    assert snap.directory == str(src.resolve())


def test_amlignore_patterns_exclude_files(src):
    _write(src, {".amlignore": "data/\n*.log\n"})
    snap = take_snapshot(src)
    assert snap.files == (".amlignore", "pkg/__init__.py", "pkg/util.py", "train.py")


def test_amlignore_negation(src):
    _write(src, {".amlignore": "*.log\n!keep.log\n", "keep.log": "k\n"})
    snap = take_snapshot(src)
    assert "keep.log" in snap.files
    assert "notes.log" not in snap.files


def test_gitignore_used_without_amlignore(src):
    _write(src, {".gitignore": "data/\n"})
    snap = take_snapshot(src)
    assert "data/big.csv" not in snap.files
    assert "notes.log" in snap.files
    assert ".gitignore" in snap.files


def test_amlignore_wins_over_gitignore(src):
    _write(src, {".gitignore": "*.log\n", ".amlignore": "data/\n"})
    snap = take_snapshot(src)
    assert "data/big.csv" not in snap.files  # .amlignore applies
    assert "notes.log" in snap.files  # .gitignore does not


def test_bytecode_and_vcs_always_excluded(src):
    _write(
        src,
        {
            "__pycache__/train.cpython-312.pyc": b"\x00bytecode",
            "pkg/__pycache__/util.cpython-312.pyc": b"\x00bytecode",
            "stray.pyc": b"\x00bytecode",
            ".git/HEAD": "ref: refs/heads/main\n",
            ".git/objects/ab/cdef": b"\x00",
            "pkg/sub/.git/config": "[core]\n",
        },
    )
    snap = take_snapshot(src)
    assert snap.files == ("data/big.csv", "notes.log", "pkg/__init__.py", "pkg/util.py", "train.py")


# ------------------------------------------------------------------ digest
def test_digest_is_stable(src):
    assert take_snapshot(src).digest == take_snapshot(src).digest


def test_digest_changes_with_content(src):
    before = take_snapshot(src)
    (src / "pkg" / "util.py").write_text("X = 2\n", encoding="utf-8")  # same size
    after = take_snapshot(src)
    assert after.digest != before.digest
    i = after.files.index("pkg/util.py")
    assert after.file_digests[i] != before.file_digests[i]
    j = after.files.index("train.py")
    assert after.file_digests[j] == before.file_digests[j]


def test_digest_changes_when_file_added_or_renamed(src):
    before = take_snapshot(src)
    _write(src, {"extra.py": "pass\n"})
    added = take_snapshot(src)
    assert added.digest != before.digest
    (src / "extra.py").rename(src / "renamed.py")
    renamed = take_snapshot(src)
    assert renamed.digest not in (before.digest, added.digest)


def test_digest_ignores_mtime(src):
    before = take_snapshot(src)
    for f in src.rglob("*"):
        if f.is_file():
            os.utime(f, (1_000_000_000, 1_000_000_000))
    assert take_snapshot(src).digest == before.digest


def test_digest_ignores_ignored_files(src):
    _write(src, {".amlignore": "data/\n*.log\n"})
    before = take_snapshot(src)
    (src / "data" / "big.csv").write_text("changed,a,lot\n" * 50, encoding="utf-8")
    (src / "notes.log").write_text("new log\n", encoding="utf-8")
    _write(
        src,
        {
            "data/new.csv": "x\n",
            "__pycache__/m.cpython-312.pyc": b"\x01",
            ".git/index": b"\x02",
        },
    )
    assert take_snapshot(src).digest == before.digest


def test_same_tree_elsewhere_has_same_digest(src, tmp_path):
    copy = tmp_path / "copy"
    for rel in take_snapshot(src).files:
        _write(copy, {rel: (src / rel).read_bytes()})
    assert take_snapshot(copy).digest == take_snapshot(src).digest


# ---------------------------------------------------------------- materialise
def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_materialise_copies_exactly_the_snapshot_files(src, tmp_path):
    _write(src, {".amlignore": "*.log\n", "__pycache__/x.pyc": b"\x00"})
    snap = take_snapshot(src)
    store = tmp_path / "snapshots"
    target = materialise(snap, store)
    assert target == store / snap.digest
    copied = _tree(target)
    assert tuple(sorted(copied)) == snap.files
    assert copied == {rel: (src / rel).read_bytes() for rel in snap.files}
    assert take_snapshot(target).digest == snap.digest


def test_materialise_is_idempotent(src, tmp_path):
    snap = take_snapshot(src)
    store = tmp_path / "snapshots"
    first = materialise(snap, store)
    before = _tree(first)
    second = materialise(snap, store)
    assert second == first
    assert _tree(second) == before
    # Only the snapshot folder is visible: no half-written temporary copies.
    visible = sorted(p.name for p in store.iterdir() if not p.name.startswith("."))
    assert visible == [snap.digest, f"{snap.digest}.manifest.json"]
    manifest = json.loads(manifest_path(first).read_text(encoding="utf-8"))
    assert manifest == dict(zip(snap.files, snap.file_digests, strict=True))
    assert not any(p.name.endswith(".tmp") for p in store.iterdir())


def test_materialise_keeps_existing_copy_when_source_changes(src, tmp_path):
    snap = take_snapshot(src)
    store = tmp_path / "snapshots"
    target = materialise(snap, store)
    (src / "train.py").write_text("print('edited')\n", encoding="utf-8")
    assert materialise(snap, store) == target
    assert (target / "train.py").read_text(encoding="utf-8") == "print('train')\n"


def test_materialise_after_source_edit_does_not_store_other_content(src, tmp_path):
    snap = take_snapshot(src)
    (src / "train.py").write_text("print('EDITED after snapshot')\n", encoding="utf-8")
    store = tmp_path / "snapshots"
    # The source no longer matches the snapshot: refused, naming the file, nothing stored.
    with pytest.raises(
        UserErrorException,
        match=r"train\.py changed while the pipeline was being submitted; submit again",
    ):
        materialise(snap, store)
    assert not (store / snap.digest).exists()
    assert not (store / f".{snap.digest}.tmp").exists()
    assert not manifest_path(store / snap.digest).exists()


# ------------------------------------------------------------------- symlinks
def test_dangling_symlink_is_not_a_bare_traceback(src):
    # An editor's lock link points nowhere: it has no content and is left out.
    os.symlink("user@host.12345:1700000000", src / ".#train.py")
    snap = take_snapshot(src)
    assert ".#train.py" not in snap.files
    assert "train.py" in snap.files


def test_symlinked_folder_is_part_of_the_snapshot(src, tmp_path):
    # A symlinked folder is followed: its files are part of the snapshot.
    shared = _write(tmp_path / "shared", {"lib.py": "X = 1\n"})
    os.symlink(shared, src / "shared")
    before = take_snapshot(src)
    assert "shared/lib.py" in before.files
    (shared / "lib.py").write_text("X = 2\n", encoding="utf-8")
    assert take_snapshot(src).digest != before.digest


# ------------------------------------------------- checked before use (issue #10)
def _age(root: Path, seconds: float = 60) -> None:
    """Date every file back, out of the digest cache's racy window."""
    past = time.time() - seconds
    for p in root.rglob("*"):
        if p.is_file():
            os.utime(p, (past, past))


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda t: (t / "train.py").write_text("print("), id="truncated"),
        pytest.param(lambda t: (t / "pkg" / "util.py").unlink(), id="deleted"),
        pytest.param(lambda t: manifest_path(t).write_bytes(b"\xff\xfe"), id="manifest-not-utf8"),
        pytest.param(lambda t: manifest_path(t).unlink(), id="manifest-deleted"),
    ],
)
def test_materialise_rebuilds_a_copy_that_no_longer_matches(src, tmp_path, damage):
    # An existing folder used to be trusted as it was: a truncated file stayed truncated.
    snap = take_snapshot(src)
    store = tmp_path / "snapshots"
    target = materialise(snap, store)
    damage(target)
    assert materialise(snap, store) == target
    assert _tree(target) == {rel: (src / rel).read_bytes() for rel in snap.files}
    assert json.loads(manifest_path(target).read_text()) == dict(
        zip(snap.files, snap.file_digests, strict=True)
    )
    assert sorted(p.name for p in store.iterdir() if not p.name.endswith(".lock")) == [
        snap.digest,
        f"{snap.digest}.manifest.json",
    ]


def test_a_worker_refuses_a_frozen_copy_that_no_longer_matches(src, tmp_path):
    snap = take_snapshot(src)
    target = materialise(snap, tmp_path / "snapshots")
    assert local_source(str(target)) == target
    (target / "pkg" / "util.py").write_text("X = 2\n")
    with pytest.raises(CorruptObjectError, match=r"file pkg/util\.py does not match") as err:
        local_source(str(target))
    assert str(target) in str(err.value) and "Submit the pipeline again" in str(err.value)
    # files a step writes where it runs are no part of the snapshot
    (target / "pkg" / "util.py").write_text("X = 1\n")
    (target / "outputs").mkdir()
    (target / "outputs" / "model.pkl").write_text("m")
    assert local_source(str(target)) == target
    # a plain (not frozen) source folder is used as it is
    assert local_source(str(src)) == src


def test_checking_an_unchanged_snapshot_costs_stats_not_reads(src, tmp_path, monkeypatch):
    from airflow_aml.artifacts import digest_cache

    _age(src)
    snap = take_snapshot(src)
    target = materialise(snap, tmp_path / "snapshots")
    reads: list[str] = []
    real = digest_cache.hash_file
    monkeypatch.setattr(digest_cache, "hash_file", lambda p: reads.append(str(p)) or real(p))
    for _ in range(3):
        assert materialise(snap, tmp_path / "snapshots") == target
        assert local_source(str(target)) == target
    assert reads == []
