"""The workspace registry: what Airflow (and later readers) need, stored as files.

Layout under ``<registry>/`` (a folder the dag-processor can read):

* ``specs/<dag_id>.json``        the current spec of every pipeline DAG (the loader renders them)
* ``snapshots/<digest>/``        frozen, content-addressed source snapshots
* ``runs/<run_id>.json``         what was submitted for a run (spec, conf, experiment)
* ``published/<id>.json``        published pipelines
* ``endpoints/<id>.json``        pipeline endpoints and their versions

Every write is atomic (temp file + rename); records that are edited in
place (published pipelines, endpoints) are updated under a file lock.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from airflow_aml.artifacts.snapshot import Snapshot, materialise
from airflow_aml.compiler.spec import PipelineSpec
from airflow_aml.core._jsonstore import JsonDocument, atomic_write_text
from airflow_aml.exceptions import RunNotFound

__all__ = ["Registry"]


class Registry:
    """File-backed registry of specs, snapshots, runs, published pipelines, endpoints."""

    def __init__(self, root: Path):
        self.root = root
        self.runs_dir = root / "runs"

    # ------------------------------------------------------------------ specs
    def freeze(self, spec: PipelineSpec, snapshots: dict[str, Snapshot]) -> PipelineSpec:
        """Copy source folders into content-addressed snapshots; point steps at them."""
        store = self.root / "snapshots"
        frozen = {src: str(materialise(snap, store)) for src, snap in snapshots.items()}
        steps = tuple(
            s.__class__(
                **{
                    **s.__dict__,
                    "source_directory": frozen.get(s.source_directory, s.source_directory),
                    "source_frozen": s.source_directory in frozen,
                }
            )
            for s in spec.steps
        )
        return spec.with_changes(steps=steps)

    def write_spec(self, spec: PipelineSpec) -> Path:
        """Make ``spec`` the current definition of its DAG."""
        path = self.root / "specs" / f"{spec.dag_id}.json"
        atomic_write_text(path, spec.dumps())
        return path

    def read_spec(self, dag_id: str) -> PipelineSpec | None:
        """The current spec of ``dag_id``."""
        path = self.root / "specs" / f"{dag_id}.json"
        try:
            return PipelineSpec.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    # ------------------------------------------------------------------- runs
    def write_run(
        self, run_id: str, *, spec: PipelineSpec, conf: dict[str, Any], experiment_name: str
    ) -> Path:
        """Record what is submitted for ``run_id``."""
        path = self.runs_dir / f"{run_id}.json"
        atomic_write_text(
            path,
            json.dumps(
                {
                    "run_id": run_id,
                    "dag_id": spec.dag_id,
                    "experiment_name": experiment_name,
                    "spec": spec.to_json(),
                    "conf": conf,
                    "submitted": time.time(),
                }
            ),
        )
        return path

    def read_run(self, run_id: str) -> dict[str, Any]:
        """The record of ``run_id``."""
        try:
            return json.loads((self.runs_dir / f"{run_id}.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RunNotFound(f"no run {run_id!r} in this workspace") from None

    def list_runs(self, experiment_name: str) -> list[str]:
        """Run ids of an experiment, newest first."""
        records = []
        for path in self.runs_dir.glob("*.json") if self.runs_dir.is_dir() else ():
            with contextlib.suppress(ValueError, OSError, KeyError):
                data = json.loads(path.read_text(encoding="utf-8"))
                if data.get("experiment_name", data.get("dag_id")) == experiment_name:
                    records.append((data.get("submitted", 0), data["run_id"]))
        return [r for _, r in sorted(records, reverse=True)]

    # --------------------------------------------------- published / endpoints
    def _doc(self, kind: str, record_id: str) -> JsonDocument:
        return JsonDocument(self.root / kind / f"{record_id}.json")

    def save(self, kind: str, record: dict[str, Any]) -> None:
        """Create a record of ``kind`` (``published`` or ``endpoints``)."""
        atomic_write_text(
            self.root / kind / f"{record['id']}.json", json.dumps(record, indent=2, sort_keys=True)
        )

    def get(self, kind: str, record_id: str) -> dict[str, Any] | None:
        """The record ``record_id`` of ``kind``."""
        if not record_id or "/" in record_id or record_id.startswith("."):
            return None
        data = self._doc(kind, record_id).read()
        return data or None

    def all(self, kind: str) -> list[dict[str, Any]]:
        """Every record of ``kind``, oldest first."""
        folder = self.root / kind
        out = []
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
            with contextlib.suppress(ValueError, OSError):
                out.append(json.loads(path.read_text(encoding="utf-8")))
        return sorted(out, key=lambda r: r.get("created", 0))

    @contextlib.contextmanager
    def update(self, kind: str, record_id: str) -> Iterator[dict[str, Any]]:
        """Edit a record under its lock."""
        with self._doc(kind, record_id).update() as data:
            if not data:
                raise KeyError(record_id)
            yield data
