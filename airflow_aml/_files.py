"""Local files written whole, locked with ``filelock``, and this machine's cache folder.

Used for workspace-level registries (datastores, compute targets) that live
in the workspace home, the embedded Airflow home and the runner pool.
Concurrent writers serialise on a lock file (portable: ``filelock``).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from airflow_aml.exceptions import DatastoreException, WorkspaceException
from airflow_aml.provider import aml_setting

__all__ = ["JsonDocument", "atomic_write_text", "file_lock", "cache_root"]


def atomic_write_text(path: Path, text: str, *, durable: bool = False) -> None:
    """Write ``text`` to ``path`` atomically (temp file in the same folder + rename): readers
    see the old content or the new, never half of it. ``durable`` also flushes the new
    content to disk before the rename (for files a crash must not leave empty)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def file_lock(path: Path, timeout: float = -1) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) across processes; waits at
    most ``timeout`` seconds (negative: for as long as it takes), then raises
    :class:`~airflow_aml.exceptions.DatastoreException`."""
    from filelock import FileLock, Timeout  # lazy: ~40 ms; keeps import airflow_aml.core fast

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        lock = FileLock(str(path), timeout=timeout)
        lock.acquire()
    except Timeout:
        raise DatastoreException(f"cannot lock {path}: held for over {timeout:g}s") from None
    try:
        yield
    finally:
        lock.release()


def cache_root() -> Path:
    """This machine's airflow-aml cache: the ``[aml] cache_dir`` setting, else
    ``~/.cache/airflow_aml``.

    In an Airflow process (a worker) the setting comes from Airflow's config
    (``airflow.cfg`` or ``AIRFLOW__AML__CACHE_DIR``); in a client, where no Airflow
    config is loaded, from ``AIRFLOW__AML__CACHE_DIR``. Airflow is never imported
    here. ``AIRFLOW_AML_CACHE`` (earlier releases) is still read when the setting
    is unset, with a ``DeprecationWarning``.
    """
    folder = aml_setting("cache_dir") or str(Path.home() / ".cache" / "airflow_aml")
    return Path(folder)


class JsonDocument:
    """One JSON object on disk, read fresh each time, updated under a lock.

    A document that is not a UTF-8 JSON object raises
    :class:`~airflow_aml.exceptions.WorkspaceException` naming the file and how to
    repair it (``repair``: what removing it does); an update never overwrites it.
    """

    def __init__(self, path: Path, repair: str = ""):
        self.path = path
        self.repair = repair

    def read(self) -> dict[str, Any]:
        """The document (``{}`` when the file does not exist)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
            raise self._corrupt(f"{type(exc).__name__}: {exc}") from None
        except OSError as exc:
            raise WorkspaceException(f"cannot read {self.path}: {exc}") from None
        if not isinstance(data, dict):
            raise self._corrupt(f"it holds {type(data).__name__}, not a JSON object")
        return data

    def section(self, name: str) -> dict[str, dict[str, Any]]:
        """The object ``name`` of the document, whose values are objects (``{}`` if absent)."""
        value = self.read().get(name, {})
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
            raise self._corrupt(f"{name!r} must be an object of objects")
        return value

    def _corrupt(self, reason: str) -> WorkspaceException:
        return WorkspaceException(
            f"workspace file {self.path} is corrupt ({reason}). Repair it: it must hold a "
            f"JSON object (UTF-8); or delete it{self.repair or ''}"
        )

    @contextlib.contextmanager
    def update(self) -> Iterator[dict[str, Any]]:
        """Edit the document under its lock; written whole (temp file + rename)."""
        with file_lock(self.path.with_name(self.path.name + ".lock")):
            doc = self.read()
            yield doc
            atomic_write_text(self.path, json.dumps(doc, indent=2, sort_keys=True), durable=True)
