"""The artifact store: step outputs and run records on a datastore.

Layout on the datastore (DESIGN §4)::

    azureml/{run_id}/{task_id}/{output_name}/     committed outputs
    azureml/{run_id}/{task_id}/.run/              the step's run record
    azureml/{run_id}/{task_id}/.staging-{try}/    in-flight outputs (never read)

A step writes into the staging prefix; outputs become visible only by an
atomic rename on success, so a failed or killed step never leaves a
visible, reusable output. XCom carries only :class:`ArtifactReference`
dicts. On a local datastore, handing an output to the next step copies
nothing: the consumer reads the committed folder in place.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import xxhash

from airflow_aml._names import safe_relative_path
from airflow_aml.artifacts.digest_cache import hash_file
from airflow_aml.exceptions import DatastoreException

__all__ = [
    "ArtifactReference",
    "ArtifactStore",
    "RECORD_DIR",
    "run_prefix",
    "tree_digest",
    "tree_signature",
]

RECORD_DIR = ".run"
ARTIFACT_ROOT = "azureml"


def run_prefix(run_id: str, task_id: str) -> str:
    """Datastore prefix of one step's artifacts in one run."""
    return f"{ARTIFACT_ROOT}/{run_id}/{task_id}"


@dataclass(frozen=True)
class ArtifactReference:
    """What XCom carries for an output: where it is and how big, never the data."""

    datastore: str
    path: str
    run_id: str
    step: str
    output: str
    files: int = 0
    bytes: int = 0
    digest: str = ""
    signature: str = ""

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form (readable through the Airflow REST API)."""
        return {"kind": "airflow_aml.artifact", **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ArtifactReference:
        """Parse :meth:`to_json` output."""
        fields = {k: v for k, v in data.items() if k != "kind"}
        return cls(**fields)


def _tree_files(path: Path) -> list[tuple[str, str]]:
    """(relative path, absolute path) of every file under ``path``, sorted."""
    if path.is_file():
        return [("", str(path))]
    found = []
    for dirpath, _dirs, names in os.walk(path):
        for n in names:
            full = os.path.join(dirpath, n)
            found.append((os.path.relpath(full, path).replace(os.sep, "/"), full))
    return sorted(found)


def tree_signature(path: Path) -> tuple[str, int, int]:
    """A cheap identity of a tree: hash of (path, size, mtime) of every file; and counts."""
    h = xxhash.xxh3_128()
    files = size = 0
    for rel, full in _tree_files(path):
        st = os.stat(full)
        h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        files += 1
        size += st.st_size
    return h.hexdigest(), files, size


def tree_digest(path: Path) -> str:
    """Content digest of a tree: hash of (path, xxh3 of bytes) of every file."""
    entries = _tree_files(path)
    with ThreadPoolExecutor(max_workers=4) as pool:
        digests = list(pool.map(hash_file, [full for _, full in entries]))
    h = xxhash.xxh3_128()
    for (rel, _), d in zip(entries, digests, strict=True):
        h.update(f"{rel}\0{d}\n".encode())
    return h.hexdigest()


class ArtifactStore:
    """Artifact operations on the datastores named in a pipeline spec."""

    def __init__(self, datastores: dict[str, dict[str, Any]]):
        self._datastores = datastores

    def root(self, datastore: str) -> Path:
        """Local root folder of ``datastore``."""
        definition = self._datastores.get(datastore)
        if definition is None:
            raise DatastoreException(f"datastore {datastore!r} is not known to this pipeline")
        if definition.get("type") != "local":
            raise DatastoreException(
                f"datastore {datastore!r} of type {definition.get('type')!r} cannot be used "
                "by this worker"
            )
        return Path(definition["root"])

    def local_path(self, datastore: str, path: str) -> Path:
        """Where ``path`` on ``datastore`` is on this machine (no copy)."""
        rel = safe_relative_path(path, field="path")
        root = self.root(datastore)
        return root / rel if rel else root

    # ------------------------------------------------------------- staging
    def staging(self, datastore: str, run_id: str, task_id: str, try_number: int) -> Path:
        """A fresh staging folder for one try of a step."""
        path = self.local_path(datastore, f"{run_prefix(run_id, task_id)}/.staging-{try_number}")
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        return path

    def commit_output(
        self, staged: Path, *, datastore: str, run_id: str, task_id: str, step: str, output: str
    ) -> ArtifactReference:
        """Atomically publish a staged output; return its reference."""
        rel = f"{run_prefix(run_id, task_id)}/{output}"
        final = self.local_path(datastore, rel)
        if final.exists():
            shutil.rmtree(final) if final.is_dir() else final.unlink()
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, final)
        signature, files, size = tree_signature(final)
        return ArtifactReference(
            datastore, rel, run_id, step, output, files, size, tree_digest(final), signature
        )

    def commit_record(self, record: Path, *, datastore: str, run_id: str, task_id: str) -> str:
        """Publish a step's run record folder (on success or failure)."""
        rel = f"{run_prefix(run_id, task_id)}/{RECORD_DIR}"
        final = self.local_path(datastore, rel)
        if final.exists():
            shutil.rmtree(final)
        final.parent.mkdir(parents=True, exist_ok=True)
        if record.resolve() != final.resolve():
            shutil.move(str(record), str(final))
        return rel

    def discard(self, staged: Path) -> None:
        """Remove a staging folder (after a failed try)."""
        shutil.rmtree(staged, ignore_errors=True)

    # --------------------------------------------------------------- reading
    def check_intact(self, ref: ArtifactReference) -> str | None:
        """Why a committed output cannot be trusted any more (None when intact)."""
        path = self.local_path(ref.datastore, ref.path)
        if not path.exists():
            return f"output {ref.step}/{ref.output} of run {ref.run_id} was deleted"
        if ref.signature and tree_signature(path)[0] != ref.signature:
            return f"output {ref.step}/{ref.output} of run {ref.run_id} was altered"
        return None

    def resolve(self, ref: ArtifactReference) -> Path:
        """The local path of a committed output; raises if it is gone."""
        path = self.local_path(ref.datastore, ref.path)
        if not path.exists():
            raise DatastoreException(
                f"output {ref.output!r} of step {ref.step!r} (run {ref.run_id}) is missing "
                f"from datastore {ref.datastore!r} at {ref.path}"
            )
        return path
