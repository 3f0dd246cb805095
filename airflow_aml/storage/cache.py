"""Content-addressed local copies of remote folders (snapshots, step outputs).

A worker that reads a remote folder whose content is identified by a digest
downloads it once into ``<cache>/<kind>/<digest>`` (into a temporary folder,
renamed into place), and later readers on the same machine reuse it.

A cached copy is trusted only while it still holds what was downloaded: next
to it, ``<digest>.files.json`` records the size, mtime and xxh3-128 digest of
every file. Before each use the copy is checked against that record (a ``stat``
per file; a file whose stat changed is re-hashed); a copy with a file missing
or changed since, or without a record, is deleted and fetched again. Files added
to a copy are left alone (a step runs in its snapshot folder and may write there).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import xxhash

from airflow_aml._files import atomic_write_text, cache_root, file_lock
from airflow_aml.exceptions import CorruptObjectError
from airflow_aml.storage.base import ObjectStore

__all__ = ["fetch_folder", "describe_tree"]

log = logging.getLogger(__name__)
_CHUNK = 1 << 20

#: ``rel path -> [size, mtime_ns, xxh3-128]`` of the files of a folder.
Description = dict[str, list[Any]]


def _xxh3(path: Path) -> str:
    h = xxhash.xxh3_128()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _files(root: Path) -> dict[str, os.stat_result]:
    """Every file under ``root`` (``/``-separated relative path -> stat)."""
    found: dict[str, os.stat_result] = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            full = Path(dirpath) / name
            with contextlib.suppress(FileNotFoundError):  # removed meanwhile: missing
                found[full.relative_to(root).as_posix()] = full.stat()
    return found


def describe_tree(root: Path) -> Description:
    """Size, mtime and xxh3-128 of every file under ``root`` (reads every file)."""
    return {
        rel: [st.st_size, st.st_mtime_ns, _xxh3(root / rel)] for rel, st in _files(root).items()
    }


def _copy_problem(target: Path, record: Path) -> str | None:
    """Why the cached copy ``target`` no longer holds the files its ``record`` lists (files
    added since are ignored: a step may write into the folder it runs in)."""
    try:
        known = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "it has no readable record of its files"
    if not isinstance(known, dict):
        return "its record of files is corrupt"
    for rel, entry in sorted(known.items()):
        if not isinstance(entry, list) or len(entry) != 3:
            return "its record of files is corrupt"
        try:
            st = (target / rel).stat()
        except OSError:
            return f"{rel} is missing"
        if [st.st_size, st.st_mtime_ns] == entry[:2]:
            continue  # unchanged since it was downloaded: a stat, not a read
        if st.st_size != entry[0] or _xxh3(target / rel) != entry[2]:
            return f"{rel} was changed"
    return None


def _expected_problem(files: Description, expected: dict[str, str]) -> str | None:
    """Why downloaded ``files`` are not exactly ``expected`` (rel path -> xxh3-128)."""
    for rel in sorted(set(files) | set(expected)):
        if rel not in files:
            return f"{rel} is missing"
        if rel not in expected:
            return f"{rel} is not in its manifest"
        if files[rel][2] != expected[rel]:
            return f"{rel} does not match its manifest (xxh3 {files[rel][2]}, not {expected[rel]})"
    return None


def _discard(target: Path, record: Path) -> None:
    """Remove a cached copy: its record first, then the folder (renamed away first, so a
    half-removed copy is never seen under its name)."""
    record.unlink(missing_ok=True)
    trash = target.with_name(f".{target.name}.discarded-{time.time_ns()}")
    with contextlib.suppress(FileNotFoundError):
        os.replace(target, trash)
    shutil.rmtree(trash, ignore_errors=True)


def fetch_folder(
    store: ObjectStore,
    prefix: str,
    *,
    kind: str,
    key: str,
    before_download: Callable[[], None] | None = None,
    expected: Callable[[], dict[str, str]] | None = None,
) -> Path:
    """A local copy of the folder ``prefix`` of ``store``, cached as ``kind/key``.

    ``before_download`` runs only when the copy is not cached yet (e.g. to check
    that the remote folder is complete; it raises to refuse). ``expected`` gives
    what the remote folder must hold (relative path -> xxh3-128, a snapshot's
    manifest); a download that differs is refused with a
    :class:`~airflow_aml.exceptions.CorruptObjectError` naming the file, and not kept.
    """
    target = cache_root() / kind / key
    record = target.with_name(f"{key}.files.json")
    if target.is_dir() and _copy_problem(target, record) is None:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(target.with_name(f".{key}.lock")):
        if target.is_dir():
            problem = _copy_problem(target, record)
            if problem is None:
                return target  # another process fetched it meanwhile
            log.warning(
                "airflow-aml: cached copy %s of %s/%s is not intact (%s); fetching it again",
                target,
                store.url,
                prefix,
                problem,
            )
            _discard(target, record)
        if before_download is not None:
            before_download()
        _download(store, prefix, target, record, expected() if expected is not None else None)
    return target


def _download(
    store: ObjectStore, prefix: str, target: Path, record: Path, expected: dict[str, str] | None
) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        store.download_tree(prefix, tmp)
        files = describe_tree(tmp)
        if expected is not None:
            problem = _expected_problem(files, expected)
            if problem is not None:
                raise CorruptObjectError(
                    f"{prefix} on {store.url} is corrupt: {problem}; it was not used "
                    "(submit the pipeline again from its source folder to store it anew)",
                    location=store.url,
                    key=prefix,
                    reason=problem,
                )
        try:  # renaming the folder keeps every file's size and mtime
            os.replace(tmp, target)
        except OSError:  # put there by a process that takes no lock: ours is checked
            _discard(target, record)
            os.replace(tmp, target)
        atomic_write_text(record, json.dumps(files, sort_keys=True))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
