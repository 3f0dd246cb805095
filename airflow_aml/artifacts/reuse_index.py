"""The reuse index: fingerprint -> outputs of a successful execution.

It lives on the artifact datastore under ``azureml/.reuse/`` (not in XCom,
which Airflow clears with the task):

* ``index/<fp[:2]>/<fp>.json``   one entry per fingerprint (components, outputs)
* ``latest/<dag_id>/<task_id>.json``  the last entry of a step, to explain misses
* ``snapshots/<digest>.json``    file list + digests of a source snapshot
* ``inflight/<fp>.json``         a claim: some run is computing this fingerprint

It is an object store (a local folder or an Azure Blob container). Every
object is written whole, so concurrent writers (parallel runs, parallel
steps) never corrupt an entry or lose one; a claim is taken with an
exclusive create under the claim's lock, so exactly one run computes a
fingerprint at a time. The claim's mtime is its owner's heartbeat, and the
claim names its owner's process (:mod:`airflow_aml._processes`): a claim
whose process is known to be dead is abandoned at once, not after the
heartbeat goes stale.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from airflow_aml._processes import owner_alive
from airflow_aml.exceptions import CorruptObjectError
from airflow_aml.storage.base import ObjectStore

__all__ = [
    "ReuseIndex",
    "STALE_CLAIM_SECONDS",
    "HEARTBEAT_SECONDS",
    "same_owner",
    "claim_abandoned",
]

#: A claim whose owner has not heartbeated for this long is abandoned (its owner beats
#: every :data:`HEARTBEAT_SECONDS`, so this is six missed beats).
STALE_CLAIM_SECONDS = 60.0
HEARTBEAT_SECONDS = 10.0


class ReuseIndex:
    """The reuse index in ``store`` (``<artifact datastore>/azureml/.reuse``)."""

    def __init__(self, store: ObjectStore):
        self.store = store
        #: Why entries read by this index were unusable (corrupt), one phrase each:
        #: a miss explanation can name them.
        self.problems: list[str] = []

    # ----------------------------------------------------------------- entries
    @staticmethod
    def _entry_key(fp: str) -> str:
        return f"index/{fp[:2]}/{fp}.json"

    @staticmethod
    def _latest_key(dag_id: str, task_id: str) -> str:
        return f"latest/{dag_id}/{task_id}.json"

    def _read_entry(self, key: str) -> dict[str, Any] | None:
        """The JSON object at ``key``; a corrupt one (not UTF-8 JSON, not an object) reads
        as missing, is logged once per process, and its reason is kept in :attr:`problems`."""
        try:
            entry = self.store.load_json(key)
            if entry is None or isinstance(entry, dict):
                return entry
            raise self.store.corrupt_error(key, f"not a JSON object but {type(entry).__name__}")
        except CorruptObjectError as exc:
            problem = f"index entry {key} is corrupt ({exc.reason}): read as a miss"
            if problem not in self.problems:
                self.problems.append(problem)
            return None

    def lookup(self, fp: str) -> dict[str, Any] | None:
        """The entry recorded for fingerprint ``fp``; None when there is none or it is
        corrupt (a miss; the reason is in :attr:`problems`, and the next successful
        execution of ``fp`` replaces the entry)."""
        return self._read_entry(self._entry_key(fp))

    def latest(self, dag_id: str, task_id: str) -> dict[str, Any] | None:
        """The last entry recorded by a step (for miss explanations); None when there is
        none or it is corrupt."""
        return self._read_entry(self._latest_key(dag_id, task_id))

    def record(self, entry: dict[str, Any]) -> None:
        """Record a successful execution (entry has ``fingerprint``, ``dag_id``, ``task_id``)."""
        self.store.write_json(self._entry_key(entry["fingerprint"]), entry)
        self.store.write_json(self._latest_key(entry["dag_id"], entry["task_id"]), entry)

    def forget(self, fp: str) -> None:
        """Drop the entry of ``fp`` (its outputs are gone or altered)."""
        self.store.delete(self._entry_key(fp))

    # --------------------------------------------------------------- snapshots
    def save_manifest(self, digest: str, files: dict[str, str]) -> None:
        """Keep a source snapshot's file list (once per digest)."""
        self.store.write_json(f"snapshots/{digest}.json", files, if_absent=True)

    def manifest(self, digest: str) -> dict[str, str] | None:
        """The file list of a source snapshot, if kept (None when it is corrupt)."""
        files = self._read_entry(f"snapshots/{digest}.json")
        return files if files is not None and _is_file_list(files) else None

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
    @staticmethod
    def _claim_key(fp: str) -> str:
        return f"inflight/{fp}.json"

    def claim(self, fp: str, owner: dict[str, Any]) -> bool:
        """Try to become the one run computing ``fp``; True on success."""
        with self.store.lock(f"inflight/{fp}"):
            return self.store.write_json(
                self._claim_key(fp), {**owner, "claimed_at": time.time()}, if_absent=True
            )

    def claim_owner(self, fp: str) -> tuple[dict[str, Any], float] | None:
        """The current claim of ``fp`` and the age of its last heartbeat.

        A claim whose owner cannot be read (corrupt: claims are written whole, so never
        half-written) names no one who could finish or release it: it is reported as
        ``({}, inf)``, abandoned, so it is broken instead of waited for."""
        info = self.store.info(self._claim_key(fp))
        if info is None:
            return None
        age = max(0.0, time.time() - info.modified)
        owner = self._read_entry(self._claim_key(fp))
        if owner is None and self.store.exists(self._claim_key(fp)):
            return {}, math.inf
        return (owner, age) if owner is not None else None

    def heartbeat(self, fp: str) -> None:
        """Show that the claim's owner is still working."""
        self.store.touch(self._claim_key(fp))

    def release(self, fp: str, owner: dict[str, Any]) -> None:
        """Drop the claim of ``fp`` if ``owner`` holds it."""
        with self.store.lock(f"inflight/{fp}"):
            current = self.claim_owner(fp)
            if current is not None and same_owner(current[0], owner):
                self.store.delete(self._claim_key(fp))

    def release_run(self, run_id: str) -> list[str]:
        """Drop every claim held by a step of run ``run_id`` (its runner died); returns
        their fingerprints."""
        released = []
        for obj in self.store.list("inflight/"):
            if not obj.key.endswith(".json"):
                continue
            fp = obj.key[len("inflight/") : -len(".json")]
            held = self.claim_owner(fp)
            if held is not None and held[0].get("run_id") == run_id:
                self.release(fp, held[0])
                released.append(fp)
        return released

    def break_claim(self, fp: str, expected: dict[str, Any]) -> None:
        """Remove an abandoned claim (only if it is still the one we judged abandoned)."""
        with self.store.lock(f"inflight/{fp}"):
            current = self.claim_owner(fp)
            if current is not None and current[0] == expected:
                self.store.delete(self._claim_key(fp))


def _is_file_list(files: dict[str, Any]) -> bool:
    return all(isinstance(v, str) for v in files.values())


def same_owner(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two claim owners are the same step of the same run of the same DAG."""
    keys = ("dag_id", "run_id", "task_id")
    return all(a.get(k) == b.get(k) for k in keys)


def claim_abandoned(
    claim: dict[str, Any], age: float, owner_finished: Callable[[dict[str, Any]], bool]
) -> bool:
    """Whether nobody will finish or release ``claim`` (heartbeat ``age`` seconds old).

    Its owner's process is known to be dead (same machine), its heartbeat is
    stale, or ``owner_finished(claim)`` says the owner's task has ended.
    """
    if owner_alive(claim) is False or age > STALE_CLAIM_SECONDS:
        return True
    return owner_finished(claim)
