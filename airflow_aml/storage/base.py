"""The object-store interface shared by local folders and Azure Blob containers.

Keys are ``/``-separated paths relative to the store's root. Every write of an
object is whole (readers never see half of it); ``if_absent`` writes are
exclusive creates, ``if_etag`` deletes are conditional, and :meth:`lock` is a
short-lived exclusive lock. That is all the reuse index and the registry need
to stay consistent with concurrent writers on either kind of store.

An object that exists but cannot be decoded (not UTF-8, not JSON) is *corrupt*:
:meth:`ObjectStore.load_json` raises :class:`~airflow_aml.exceptions.CorruptObjectError`
naming it, :meth:`ObjectStore.read_json` reads it as missing. Either way it is
logged once per object and process (not on every read).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_aml.exceptions import CorruptObjectError

__all__ = ["ObjectInfo", "ObjectStore", "join_key", "report_corrupt"]

log = logging.getLogger(__name__)
_reported: set[tuple[str, str]] = set()
_reported_lock = threading.Lock()


def report_corrupt(location: str, key: str, reason: str) -> bool:
    """Log that the object ``key`` of ``location`` is corrupt, once per object and process
    (later reports of the same object are silent); True when this call logged it."""
    with _reported_lock:
        if (location, key) in _reported:
            return False
        _reported.add((location, key))
    log.warning(
        "airflow-aml: %s on %s is corrupt (%s); it is not used (reported once per process)",
        key,
        location,
        reason,
    )
    return True


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object: key (relative to the store root), size, etag, mtime, MD5."""

    key: str
    size: int
    etag: str
    modified: float
    md5: str = ""


def join_key(*parts: str) -> str:
    """Join key parts with ``/``, dropping empty parts and stray slashes."""
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


class ObjectStore(ABC):
    """A place holding objects by key (see the module docstring)."""

    #: A string naming the store (a folder path, or ``wasb://conn@container/prefix``).
    url: str

    #: Whether objects are plain local files (:meth:`local_path` works, nothing is copied).
    is_local: bool = False

    # ---------------------------------------------------------------- objects
    @abstractmethod
    def read_bytes(self, key: str) -> bytes | None:
        """The content of ``key``, or None when it does not exist."""

    @abstractmethod
    def write_bytes(self, key: str, data: bytes, *, if_absent: bool = False) -> bool:
        """Store ``data`` at ``key`` whole; with ``if_absent`` only if ``key`` does not
        exist yet (returns False then, True when written)."""

    @abstractmethod
    def info(self, key: str) -> ObjectInfo | None:
        """Size, etag and mtime of ``key``; None when it does not exist."""

    @abstractmethod
    def delete(self, key: str, *, if_etag: str | None = None) -> bool:
        """Delete ``key`` (only if its etag is still ``if_etag``, when given)."""

    @abstractmethod
    def list(self, prefix: str = "") -> list[ObjectInfo]:
        """Every object whose key starts with ``prefix``, sorted by key."""

    @abstractmethod
    def touch(self, key: str) -> bool:
        """Refresh the mtime of ``key`` (a heartbeat); False when it does not exist."""

    @abstractmethod
    def upload_file(self, local: Path, key: str) -> None:
        """Store the local file ``local`` at ``key``."""

    @abstractmethod
    def download_file(self, key: str, local: Path) -> None:
        """Write ``key`` to the local file ``local`` (whole: temp file + rename)."""

    @abstractmethod
    @contextlib.contextmanager
    def lock(self, key: str, timeout: float = 120.0) -> Iterator[None]:
        """Hold an exclusive lock named ``key`` (never for long)."""

    @abstractmethod
    def child(self, prefix: str) -> ObjectStore:
        """The store rooted at ``prefix`` of this one."""

    def fail_fast(self) -> ObjectStore:
        """This store, with listings that fail at once instead of retrying (for callers
        that retry anyway, like the loader at the next parse)."""
        return self

    def local_path(self, key: str) -> Path:
        """Where ``key`` is on this machine (local stores only)."""
        raise NotImplementedError(f"{self.url} is not a local folder")

    # ------------------------------------------------------------ conveniences
    def corrupt_error(self, key: str, reason: str) -> CorruptObjectError:
        """The error saying that ``key`` exists but is unusable (``reason``); logged once."""
        report_corrupt(self.url, key, reason)
        return CorruptObjectError(
            f"{key} on {self.url} is corrupt: {reason}",
            location=self.url,
            key=key,
            reason=reason,
        )

    def read_text(self, key: str) -> str | None:
        """The content of ``key`` as UTF-8 text (:class:`CorruptObjectError` if it is not)."""
        data = self.read_bytes(key)
        if data is None:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self.corrupt_error(key, f"not UTF-8 text: byte {exc.start} is invalid") from None

    def write_text(self, key: str, text: str, *, if_absent: bool = False) -> bool:
        """Store ``text`` (UTF-8) at ``key`` (see :meth:`write_bytes`)."""
        return self.write_bytes(key, text.encode("utf-8"), if_absent=if_absent)

    def load_json(self, key: str) -> Any:
        """The JSON content of ``key``; None when missing; :class:`CorruptObjectError`
        (naming ``key``) when it is not UTF-8 JSON."""
        text = self.read_text(key)
        if text is None:
            return None
        try:
            return json.loads(text)
        except ValueError as exc:
            raise self.corrupt_error(key, f"not JSON: {exc}") from None

    def read_json(self, key: str) -> Any:
        """The JSON content of ``key``; None when missing or corrupt (not UTF-8 JSON: then
        logged once per object and process)."""
        try:
            return self.load_json(key)
        except CorruptObjectError:
            return None

    def write_json(self, key: str, value: Any, *, if_absent: bool = False) -> bool:
        """Store ``value`` as JSON at ``key`` (see :meth:`write_bytes`)."""
        return self.write_text(
            key, json.dumps(value, indent=1, sort_keys=True), if_absent=if_absent
        )

    def exists(self, key: str) -> bool:
        """Whether ``key`` exists."""
        return self.info(key) is not None

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under ``prefix``; returns how many."""
        found = self.list(prefix)
        for obj in found:
            self.delete(obj.key)
        return len(found)

    @contextlib.contextmanager
    def update_json(self, key: str) -> Iterator[dict[str, Any]]:
        """Edit the JSON object at ``key`` under its lock (created when missing; an object
        that is not a JSON object is replaced by a fresh one)."""
        with self.lock(key + ".lock"):
            data = self.read_json(key)
            doc: dict[str, Any] = data if isinstance(data, dict) else {}
            yield doc
            self.write_json(key, doc)

    def upload_tree(self, local: Path, prefix: str) -> int:
        """Store every file under the local folder ``local`` below ``prefix``; returns how many."""
        files = []
        for dirpath, _dirs, names in os.walk(local):
            for name in names:
                full = Path(dirpath) / name
                files.append((full, join_key(prefix, full.relative_to(local).as_posix())))
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda item: self.upload_file(*item), files))
        return len(files)

    def download_tree(self, prefix: str, local: Path) -> int:
        """Write every object under ``prefix`` (a folder) below the local folder ``local``."""
        base = prefix.strip("/")
        objects = self.list(base + "/" if base else "")
        local.mkdir(parents=True, exist_ok=True)

        def fetch(obj: ObjectInfo) -> None:
            rel = obj.key[len(base) :].lstrip("/") if base else obj.key
            self.download_file(obj.key, local / rel)

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(fetch, objects))
        return len(objects)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"
