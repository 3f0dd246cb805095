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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from airflow_aml._names import safe_relative_path
from airflow_aml.exceptions import DatastoreException

__all__ = ["ArtifactReference", "ArtifactStore", "RECORD_DIR", "run_prefix"]

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

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form (readable through the Airflow REST API)."""
        return {"kind": "airflow_aml.artifact", **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ArtifactReference:
        """Parse :meth:`to_json` output."""
        fields = {k: v for k, v in data.items() if k != "kind"}
        return cls(**fields)


def _tree_size(path: Path) -> tuple[int, int]:
    if path.is_file():
        return 1, path.stat().st_size
    files = size = 0
    for dirpath, _dirs, names in os.walk(path):
        for n in names:
            files += 1
            size += os.stat(os.path.join(dirpath, n)).st_size
    return files, size


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
        files, size = _tree_size(final)
        return ArtifactReference(datastore, rel, run_id, step, output, files, size)

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
    def resolve(self, ref: ArtifactReference) -> Path:
        """The local path of a committed output; raises if it is gone."""
        path = self.local_path(ref.datastore, ref.path)
        if not path.exists():
            raise DatastoreException(
                f"output {ref.output!r} of step {ref.step!r} (run {ref.run_id}) is missing "
                f"from datastore {ref.datastore!r} at {ref.path}"
            )
        return path
