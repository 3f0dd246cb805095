"""A persistent cache of file digests, keyed by path, size, mtime and inode.

An unchanged file is never re-read: a warm reuse check of a large source
folder costs one ``stat`` per file. The cache is a SQLite file (WAL mode,
safe for concurrent processes) under ``[aml] cache_dir`` or
``~/.cache/airflow_aml``; if it cannot be opened, hashing still works,
uncached.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import xxhash

from airflow_aml._files import cache_root

__all__ = ["DigestCache", "hash_file", "default_cache"]

_CHUNK = 1 << 20
# A file modified this recently may be modified again within the same mtime tick
# without its size changing ("racy git"): hash it every time, never cache it.
_RACY_SECONDS = 2.0
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS digests (path TEXT PRIMARY KEY, size INTEGER, "
    "mtime_ns INTEGER, ino INTEGER, digest TEXT)"
)


def hash_file(path: str | os.PathLike[str]) -> str:
    """xxh3-128 of a file's bytes."""
    h = xxhash.xxh3_128()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


class DigestCache:
    """File digests cached across processes."""

    def __init__(self, path: str | os.PathLike[str] | None):
        self.path = Path(path) if path else None
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection | None:
        if self.path is None:
            return None
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute(_SCHEMA)
            except (sqlite3.Error, OSError):  # unusable cache: hash without it
                self.path = None
                return None
            self._local.conn = conn
        return conn

    def _known(self, conn: sqlite3.Connection | None, paths: list[str]) -> dict[str, tuple]:
        """Cached (size, mtime_ns, inode, digest) of the files in ``paths``' key range."""
        if conn is None or not paths:
            return {}
        try:
            rows = conn.execute(
                "SELECT path, size, mtime_ns, ino, digest FROM digests "
                "WHERE path >= ? AND path <= ?",
                (min(paths), max(paths)),
            )
            return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}
        except sqlite3.Error:
            return {}

    @staticmethod
    def _remember(conn: sqlite3.Connection | None, rows: list[tuple]) -> None:
        """Store digests of files that did not change during the racy window."""
        if conn is None:
            return
        try:
            conn.execute("BEGIN")
            conn.executemany("INSERT OR REPLACE INTO digests VALUES (?, ?, ?, ?, ?)", rows)
            conn.execute("COMMIT")
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")

    def digests(self, paths: Iterable[str], *, workers: int = 4) -> list[str]:
        """Digests of ``paths`` (absolute), reading only files whose stat changed."""
        paths = list(paths)
        stats = [os.stat(p) for p in paths]
        conn = self._conn()
        known = self._known(conn, paths)
        out: list[str | None] = []
        todo: list[int] = []
        for i, (p, st) in enumerate(zip(paths, stats, strict=True)):
            hit = known.get(p)
            fresh = hit is not None and hit[:3] == (st.st_size, st.st_mtime_ns, st.st_ino)
            out.append(hit[3] if fresh and hit is not None else None)
            if not fresh:
                todo.append(i)
        if todo:
            with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
                hashed = pool.map(lambda j: hash_file(paths[j]), todo)
                for i, digest in zip(todo, hashed, strict=True):
                    out[i] = digest
            racy_after = (time.time() - _RACY_SECONDS) * 1e9
            self._remember(
                conn,
                [
                    (paths[i], stats[i].st_size, stats[i].st_mtime_ns, stats[i].st_ino, out[i])
                    for i in todo
                    if stats[i].st_mtime_ns < racy_after
                ],
            )
        return [d for d in out if d is not None]

    def remember(self, known: Iterable[tuple[str, str]]) -> None:
        """Record digests already computed (``(absolute path, digest)``, e.g. of files just
        copied and checked), so that checking those files later costs a ``stat``, not a
        read. Files modified within the racy window are not recorded, as in :meth:`digests`."""
        conn = self._conn()
        if conn is None:
            return
        racy_after = (time.time() - _RACY_SECONDS) * 1e9
        rows = []
        for path, digest in known:
            try:
                st = os.stat(path)
            except OSError:
                continue
            if st.st_mtime_ns < racy_after:
                rows.append((path, st.st_size, st.st_mtime_ns, st.st_ino, digest))
        self._remember(conn, rows)


_default: tuple[Path, DigestCache] | None = None


def default_cache() -> DigestCache:
    """The process-wide cache at ``[aml] cache_dir`` (or ``~/.cache/airflow_aml``)."""
    global _default
    target = cache_root() / "file-digests.sqlite"
    if _default is None or _default[0] != target:
        _default = (target, DigestCache(target))
    return _default[1]
