"""The persistent file-digest cache: correct digests, real cache hits, safe misses."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import xxhash

from airflow_aml.artifacts import digest_cache
from airflow_aml.artifacts.digest_cache import DigestCache, default_cache, hash_file

OLD = time.time() - 3600  # well outside the racy window


def _write(path: Path, data: bytes, mtime: float | None = OLD) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def _rewrite_in_place(path: Path, data: bytes) -> None:
    """Replace a file's bytes keeping its inode, size and timestamps.

    The cache key is (path, size, mtime_ns, inode): after this the key is
    unchanged but the bytes are not, so a digest of the *old* bytes can only
    come from the cache, and a digest of the new bytes only from reading the
    file. That tells a cache hit from a re-read without instrumenting anything.
    """
    st = path.stat()
    assert len(data) == st.st_size
    with open(path, "r+b") as fh:
        fh.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        st.st_size,
        st.st_mtime_ns,
        st.st_ino,
    )


def _rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return sorted(conn.execute("SELECT path, size, mtime_ns, ino, digest FROM digests"))


def _xxh(data: bytes) -> str:
    return xxhash.xxh3_128_hexdigest(data)


# ------------------------------------------------------------------- digests
def test_digests_are_xxh3_128_of_the_file_bytes_in_order(tmp_path: Path):
    datas = {
        "empty": b"",
        "small": b"hello world\n",
        # Spans the 1 MiB read chunk, so chunked hashing must equal one-shot hashing.
        "big": os.urandom((1 << 20) * 2 + 123),
        "exact": b"z" * (1 << 20),
    }
    paths = [str(_write(tmp_path / "f" / name, data)) for name, data in datas.items()]
    expected = [_xxh(d) for d in datas.values()]
    cache = DigestCache(tmp_path / "cache.sqlite")
    assert cache.digests(paths) == expected
    assert cache.digests(list(reversed(paths))) == list(reversed(expected))
    assert cache.digests(paths, workers=1) == expected
    assert cache.digests([]) == []
    assert [hash_file(p) for p in paths] == expected
    assert DigestCache(None).digests(paths) == expected


def test_a_missing_file_raises(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        DigestCache(tmp_path / "cache.sqlite").digests([str(tmp_path / "nope")])


def test_first_call_stores_path_size_mtime_inode_and_digest(tmp_path: Path):
    f = _write(tmp_path / "a.txt", b"abc")
    g = _write(tmp_path / "b.txt", b"defg")
    db = tmp_path / "cache.sqlite"
    DigestCache(db).digests([str(f), str(g)])
    sf, sg = f.stat(), g.stat()
    assert _rows(db) == [
        (str(f), 3, sf.st_mtime_ns, sf.st_ino, _xxh(b"abc")),
        (str(g), 4, sg.st_mtime_ns, sg.st_ino, _xxh(b"defg")),
    ]


def test_an_unchanged_file_is_not_read_again(tmp_path: Path):
    f = _write(tmp_path / "a.txt", b"version-1")
    cache = DigestCache(tmp_path / "cache.sqlite")
    assert cache.digests([str(f)]) == [_xxh(b"version-1")]
    _rewrite_in_place(f, b"version-2")
    # Not re-read: the digest is still that of the bytes seen the first time.
    assert cache.digests([str(f)]) == [_xxh(b"version-1")]
    assert hash_file(f) == _xxh(b"version-2")  # (the file really did change)


def test_a_file_with_a_new_mtime_is_hashed_again(tmp_path: Path):
    f = _write(tmp_path / "a.txt", b"version-1")
    db = tmp_path / "cache.sqlite"
    cache = DigestCache(db)
    assert cache.digests([str(f)]) == [_xxh(b"version-1")]
    _write(f, b"version-2", mtime=OLD + 10)  # same size, new mtime
    assert cache.digests([str(f)]) == [_xxh(b"version-2")]
    assert [r[4] for r in _rows(db)] == [_xxh(b"version-2")]  # and the row replaced


def test_a_file_with_a_new_size_or_inode_is_hashed_again(tmp_path: Path):
    f = _write(tmp_path / "a.txt", b"version-1")
    cache = DigestCache(tmp_path / "cache.sqlite")
    assert cache.digests([str(f)]) == [_xxh(b"version-1")]
    st = f.stat()
    f.write_bytes(b"version-10")  # one byte longer, same timestamps
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert cache.digests([str(f)]) == [_xxh(b"version-10")]
    # Replaced by another file (new inode) with the same size and timestamps.
    st = f.stat()
    other = _write(tmp_path / "other.txt", b"version-20")
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(other, f)  # both existed at once, so the inode differs
    assert f.stat().st_ino != st.st_ino
    assert (f.stat().st_size, f.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    assert cache.digests([str(f)]) == [_xxh(b"version-20")]


def test_a_recently_modified_file_is_never_cached(tmp_path: Path):
    f = _write(tmp_path / "a.txt", b"version-1", mtime=None)  # mtime: now
    db = tmp_path / "cache.sqlite"
    cache = DigestCache(db)
    assert cache.digests([str(f)]) == [_xxh(b"version-1")]
    assert _rows(db) == []
    # Same size and mtime tick, new bytes: must be read again, not taken from a cache.
    _rewrite_in_place(f, b"version-2")
    assert cache.digests([str(f)]) == [_xxh(b"version-2")]
    assert _rows(db) == []
    # Once it is old enough, it is cached.
    os.utime(f, (OLD, OLD))
    assert cache.digests([str(f)]) == [_xxh(b"version-2")]
    assert [r[0] for r in _rows(db)] == [str(f)]


def test_a_file_with_an_mtime_in_the_future_is_never_cached(tmp_path: Path):
    future = time.time() + 3600
    f = _write(tmp_path / "a.txt", b"version-1", mtime=future)
    db = tmp_path / "cache.sqlite"
    cache = DigestCache(db)
    assert cache.digests([str(f)]) == [_xxh(b"version-1")]
    _rewrite_in_place(f, b"version-2")
    assert cache.digests([str(f)]) == [_xxh(b"version-2")]
    assert _rows(db) == []


def test_only_the_racy_files_of_a_batch_are_left_out(tmp_path: Path):
    old = _write(tmp_path / "old.txt", b"o")
    new = _write(tmp_path / "new.txt", b"n", mtime=None)
    db = tmp_path / "cache.sqlite"
    assert DigestCache(db).digests([str(old), str(new)]) == [_xxh(b"o"), _xxh(b"n")]
    assert [r[0] for r in _rows(db)] == [str(old)]


_CHILD = textwrap.dedent(
    """
    import sys
    from airflow_aml.artifacts.digest_cache import DigestCache
    print(DigestCache(sys.argv[1]).digests(sys.argv[2:])[0])
    """
)


def test_the_cache_persists_across_processes(tmp_path: Path):
    f = _write(tmp_path / "a.txt", b"version-1")
    db = tmp_path / "cache.sqlite"
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(db), str(f)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.strip() == _xxh(b"version-1")
    _rewrite_in_place(f, b"version-2")
    # A fresh cache in this process answers from the row the other process wrote.
    assert DigestCache(db).digests([str(f)]) == [_xxh(b"version-1")]
    # And the other way round: a row written here is used by a new process.
    g = _write(tmp_path / "b.txt", b"other-1")
    assert DigestCache(db).digests([str(g)]) == [_xxh(b"other-1")]
    _rewrite_in_place(g, b"other-2")
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(db), str(g)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.strip() == _xxh(b"other-1")


# ------------------------------------------------------------------ unopenable
def test_a_cache_path_that_is_a_directory_degrades_to_uncached(tmp_path: Path):
    f = _write(tmp_path / "a.txt", b"version-1")
    folder = tmp_path / "cache.sqlite"
    folder.mkdir()
    cache = DigestCache(folder)
    assert cache.digests([str(f)]) == [_xxh(b"version-1")]
    assert cache.path is None
    _rewrite_in_place(f, b"version-2")
    assert cache.digests([str(f)]) == [_xxh(b"version-2")]  # uncached: read again
    assert list(folder.iterdir()) == []


def test_a_cache_file_that_is_not_a_database_degrades_and_is_left_alone(tmp_path: Path):
    f = _write(tmp_path / "a.txt", b"version-1")
    junk = tmp_path / "cache.sqlite"
    junk.write_bytes(b"this is not an SQLite database, " * 64)
    before = junk.read_bytes()
    cache = DigestCache(junk)
    assert cache.digests([str(f)]) == [_xxh(b"version-1")]
    _rewrite_in_place(f, b"version-2")
    assert cache.digests([str(f)]) == [_xxh(b"version-2")]
    assert junk.read_bytes() == before


def test_a_cache_path_under_a_regular_file_degrades_to_uncached(tmp_path: Path):
    f = _write(tmp_path / "a.txt", b"version-1")
    blocker = _write(tmp_path / "blocker", b"a file, not a folder")
    cache = DigestCache(blocker / "cache" / "file-digests.sqlite")
    assert cache.digests([str(f)]) == [_xxh(b"version-1")]
    assert cache.path is None


# --------------------------------------------------------------- default_cache
@pytest.fixture
def fresh_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start without a process-wide cache; the session's one is restored afterwards."""
    monkeypatch.setattr(digest_cache, "_default", None)


@pytest.mark.usefixtures("fresh_default")
def test_default_cache_honours_airflow_aml_cache(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("AIRFLOW__AML__CACHE_DIR", str(tmp_path / "one"))
    first = default_cache()
    assert first.path == tmp_path / "one" / "file-digests.sqlite"
    assert default_cache() is first  # one per process while the setting holds

    f = _write(tmp_path / "a.txt", b"data")
    assert first.digests([str(f)]) == [_xxh(b"data")]
    assert [r[4] for r in _rows(tmp_path / "one" / "file-digests.sqlite")] == [_xxh(b"data")]

    monkeypatch.setenv("AIRFLOW__AML__CACHE_DIR", str(tmp_path / "two"))
    second = default_cache()
    assert second.path == tmp_path / "two" / "file-digests.sqlite"
    assert second is not first


@pytest.mark.usefixtures("fresh_default")
@pytest.mark.parametrize("setting", [None, ""])
def test_default_cache_falls_back_to_the_home_cache_folder(tmp_path, monkeypatch, setting):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    if setting is None:
        monkeypatch.delenv("AIRFLOW__AML__CACHE_DIR", raising=False)
    else:
        monkeypatch.setenv("AIRFLOW__AML__CACHE_DIR", setting)
    cache = default_cache()
    expected = tmp_path / "home" / ".cache" / "airflow_aml" / "file-digests.sqlite"
    assert cache.path == expected
    f = _write(tmp_path / "a.txt", b"data")
    assert cache.digests([str(f)]) == [_xxh(b"data")]
    assert expected.is_file()


@pytest.mark.usefixtures("fresh_default")
def test_default_cache_follows_a_new_setting_after_a_failed_one(tmp_path, monkeypatch):
    bad = tmp_path / "bad"
    (bad / "file-digests.sqlite").mkdir(parents=True)  # a folder: sqlite cannot open it
    monkeypatch.setenv("AIRFLOW__AML__CACHE_DIR", str(bad))
    f = _write(tmp_path / "a.txt", b"data")
    assert default_cache().digests([str(f)]) == [_xxh(b"data")]  # degraded, no error
    monkeypatch.setenv("AIRFLOW__AML__CACHE_DIR", str(tmp_path / "good"))
    assert default_cache().path == tmp_path / "good" / "file-digests.sqlite"
