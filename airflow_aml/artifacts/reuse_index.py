"""The reuse index: fingerprint -> outputs of a successful execution.

It lives on the artifact datastore under ``azureml/.reuse/`` (not in XCom,
which Airflow clears with the task):

* ``index/<fp[:2]>/<fp>.json``   one entry per fingerprint (components, outputs)
* ``latest/<dag_id>/<task_id>.json``  the last entry of a step, to explain misses
* ``snapshots/<digest>.json``    file list + digests of a source snapshot
* ``inflight/<fp>.json``         a claim: some run is computing this fingerprint

Every file is written whole and renamed into place, so concurrent writers
(parallel runs, parallel steps) never corrupt an entry or lose one; a claim
is taken with an exclusive create, so exactly one run computes a fingerprint
at a time. The claim's mtime is its owner's heartbeat.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

from airflow_aml.core._jsonstore import atomic_write_text, file_lock

__all__ = ["ReuseIndex", "STALE_CLAIM_SECONDS", "same_owner"]

# A claim whose owner has not heartbeated for this long is abandoned.
STALE_CLAIM_SECONDS = 300.0


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


class ReuseIndex:
    """The reuse index under ``root`` (``<artifact datastore>/azureml/.reuse``)."""

    def __init__(self, root: Path):
        self.root = root

    # ----------------------------------------------------------------- entries
    def _entry_path(self, fp: str) -> Path:
        return self.root / "index" / fp[:2] / f"{fp}.json"

    def _latest_path(self, dag_id: str, task_id: str) -> Path:
        return self.root / "latest" / dag_id / f"{task_id}.json"

    def lookup(self, fp: str) -> dict[str, Any] | None:
        """The entry recorded for fingerprint ``fp``."""
        return _read(self._entry_path(fp))

    def latest(self, dag_id: str, task_id: str) -> dict[str, Any] | None:
        """The last entry recorded by a step (for miss explanations)."""
        return _read(self._latest_path(dag_id, task_id))

    def record(self, entry: dict[str, Any]) -> None:
        """Record a successful execution (entry has ``fingerprint``, ``dag_id``, ``task_id``)."""
        text = json.dumps(entry, sort_keys=True)
        atomic_write_text(self._entry_path(entry["fingerprint"]), text)
        atomic_write_text(self._latest_path(entry["dag_id"], entry["task_id"]), text)

    def forget(self, fp: str) -> None:
        """Drop the entry of ``fp`` (its outputs are gone or altered)."""
        with contextlib.suppress(FileNotFoundError):
            self._entry_path(fp).unlink()

    # --------------------------------------------------------------- snapshots
    def save_manifest(self, digest: str, files: dict[str, str]) -> None:
        """Keep a source snapshot's file list (once per digest)."""
        path = self.root / "snapshots" / f"{digest}.json"
        if not path.exists():
            atomic_write_text(path, json.dumps(files, sort_keys=True))

    def manifest(self, digest: str) -> dict[str, str] | None:
        """The file list of a source snapshot, if kept."""
        return _read(self.root / "snapshots" / f"{digest}.json")

    def source_diff(self, old: str, new: str) -> list[str]:
        """Files added, removed or changed between two snapshots (names only)."""
        a, b = self.manifest(old), self.manifest(new)
        if a is None or b is None:
            return []
        changed = [f for f in sorted(set(a) | set(b)) if a.get(f) != b.get(f)]
        return [
            f + (" (added)" if f not in a else " (removed)" if f not in b else "") for f in changed
        ]

    # ------------------------------------------------------------------ claims
    def _claim_path(self, fp: str) -> Path:
        return self.root / "inflight" / f"{fp}.json"

    def _claim_lock(self, fp: str) -> Any:
        """Serialises taking and breaking the claim of ``fp`` (never held while waiting)."""
        return file_lock(self.root / "inflight" / f".{fp}.lock")

    def claim(self, fp: str, owner: dict[str, Any]) -> bool:
        """Try to become the one run computing ``fp``; True on success."""
        path = self._claim_path(fp)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._claim_lock(fp):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({**owner, "claimed_at": time.time()}, fh)
        return True

    def claim_owner(self, fp: str) -> tuple[dict[str, Any], float] | None:
        """The current claim of ``fp`` and the age of its last heartbeat."""
        path = self._claim_path(fp)
        try:
            age = time.time() - path.stat().st_mtime
        except FileNotFoundError:
            return None
        owner = _read(path)
        return (owner, age) if owner is not None else ({}, age)

    def heartbeat(self, fp: str) -> None:
        """Show that the claim's owner is still working."""
        with contextlib.suppress(FileNotFoundError):
            os.utime(self._claim_path(fp))

    def release(self, fp: str, owner: dict[str, Any]) -> None:
        """Drop the claim of ``fp`` if ``owner`` holds it."""
        with self._claim_lock(fp):
            current = self.claim_owner(fp)
            if current is not None and same_owner(current[0], owner):
                with contextlib.suppress(FileNotFoundError):
                    self._claim_path(fp).unlink()

    def break_claim(self, fp: str, expected: dict[str, Any]) -> None:
        """Remove an abandoned claim (only if it is still the one we judged abandoned)."""
        with self._claim_lock(fp):
            current = self.claim_owner(fp)
            if current is not None and current[0] == expected:
                with contextlib.suppress(FileNotFoundError):
                    self._claim_path(fp).unlink()


def same_owner(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two claim owners are the same step of the same run of the same DAG."""
    keys = ("dag_id", "run_id", "task_id")
    return all(a.get(k) == b.get(k) for k in keys)
