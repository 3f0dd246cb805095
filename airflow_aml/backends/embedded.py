"""The embedded backend: runs pipelines on a local Airflow home, no server needed.

``submit`` freezes the spec and source snapshots into the workspace
registry and queues the run for a warm runner process
(:mod:`airflow_aml.backends.runner_pool`) that runs the DAG with Airflow's
own ``dag.test()`` loop against the home's SQLite metadata DB. Reads
(states, XComs) go to that DB read-only; outputs, metrics and logs come from
the artifact store.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_aml._files import atomic_write_text
from airflow_aml.artifacts.snapshot import Snapshot
from airflow_aml.backends import airflow_compat, task_logs
from airflow_aml.backends.airflow_home import airflow_env, prepare_home, ui_url
from airflow_aml.backends.base import RegistryBackend
from airflow_aml.backends.runner_pool import RunnerPool
from airflow_aml.spec import PipelineSpec

if TYPE_CHECKING:
    from airflow_aml.core.workspace import Workspace

__all__ = ["EmbeddedBackend"]


class EmbeddedBackend(RegistryBackend):
    """Submit and observe runs on the workspace's local Airflow home."""

    mode = "embedded"

    def __init__(self, workspace: Workspace):
        super().__init__(workspace.registry_path)
        self.registry: Path = workspace.registry_path
        self.workspace = workspace
        self.airflow_home = workspace.airflow_home
        self.runs_dir = self.registry / "runs"
        self._pool = RunnerPool(self.registry, airflow_env(self.airflow_home, self.registry))

    @property
    def api_url(self) -> str:
        """Where ``airflow-aml ui`` serves this home (the port it last served on)."""
        return ui_url(self.airflow_home)

    # ----------------------------------------------------------------- submit
    def publish(self, spec: PipelineSpec, snapshots: dict[str, Snapshot]) -> PipelineSpec:
        """Freeze ``spec`` and register it as the definition of its DAG."""
        prepare_home(self.airflow_home)
        spec = self.registry_store.freeze(spec, snapshots)
        self.registry_store.write_spec(spec)
        return spec

    def _start(self, spec: PipelineSpec, run_id: str, conf: dict[str, Any], run_key: str) -> None:
        prepare_home(self.airflow_home)
        self._pool.enqueue(run_id, self.registry / run_key)

    def set_enabled(self, dag_id: str, enabled: bool) -> None:
        """Embedded runs ignore pausing; the registry record keeps the status."""

    # ------------------------------------------------------------------ reads
    # The home's metadata DB is read without Airflow (importing it costs seconds); the
    # schema knowledge this needs is in airflow_compat, with a test per query.
    def _db(self) -> sqlite3.Connection | None:
        return airflow_compat.metadata_db(self.airflow_home)

    def _query(self, sql: str, args: tuple[Any, ...]) -> list[sqlite3.Row]:
        return airflow_compat.query_metadata_db(self.airflow_home, sql, args)

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any] | None:
        """The DagRun row (state, dates) or None before it exists."""
        return airflow_compat.read_dag_run(self.airflow_home, dag_id, run_id)

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
        """TaskInstance rows by task id."""
        rows = airflow_compat.read_task_instances(self.airflow_home, dag_id, run_id)
        return {r["task_id"]: r for r in rows}

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str) -> Any:
        """An XCom value of a task in a run (JSON-decoded), or None."""
        value = airflow_compat.read_xcom_value(self.airflow_home, dag_id, run_id, task_id, key)
        if value is None:
            return None
        return json.loads(value) if isinstance(value, str | bytes) else value

    def runner_state(self, run_id: str) -> dict[str, Any]:
        """The runner's own view: alive, error text, canceled flag."""
        err = self.runs_dir / f"{run_id}.error"
        done = self.runs_dir / f"{run_id}.done"
        return {
            "alive": self._alive(run_id),
            "error": err.read_text(encoding="utf-8") if err.exists() else None,
            "done": done.exists(),
            "canceled": (self.runs_dir / f"{run_id}.canceled").exists(),
        }

    def _alive(self, run_id: str) -> bool:
        """Whether ``run_id`` is queued or being run by a live runner."""
        if (self.runs_dir / f"{run_id}.done").exists():
            return False
        if self._pool.is_pending(run_id):
            self._pool.ensure_runners()  # self-healing: a runner died or went idle-exit
            return True
        if self._pool.running(run_id):
            return True
        # Just taken: the runner marks itself busy right after taking the job.
        time.sleep(0.2)
        done = (self.runs_dir / f"{run_id}.done").exists()
        alive = self._pool.running(run_id) and not done
        if not alive and not done:
            self._pool.request_reconcile()  # its runner died: a runner will fail it for real
        return alive

    def shutdown(self) -> None:
        """Stop this workspace's warm runner processes (they also exit when idle)."""
        self._pool.stop_all()

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str | None:
        """The Airflow task log of one try, if the home keeps one.

        The file Airflow's own log reader opens: the run's log file name template
        under the home's ``[logging] base_log_folder``.
        """
        path = task_logs.run_task_log_path(
            self.airflow_home,
            task_logs.base_log_folder(self.airflow_home),
            dag_id,
            run_id,
            task_id,
            try_number,
        )
        if path is None or not os.path.exists(path):
            return None
        return Path(path).read_text(encoding="utf-8", errors="replace")

    def runner_log(self, run_id: str) -> str:
        """Console output of the runner process."""
        path = self.runs_dir / f"{run_id}.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    # ----------------------------------------------------------------- cancel
    def cancel(self, run_id: str) -> None:
        """Ask the runner to stop: running scripts are killed, pending steps skipped."""
        atomic_write_text(self.runs_dir / f"{run_id}.canceled", str(time.time()))

    # ------------------------------------------------------------------ pools
    def pool_status(self, pool_name: str) -> dict[str, Any] | None:
        """Slots of the Airflow pool ``pool_name`` and their use, or None if it does not exist.

        Same figures as Airflow's ``GET /api/v2/pools/{name}``.
        """
        pool = airflow_compat.read_pool(self.airflow_home, pool_name)
        if pool is None:
            return None
        used = airflow_compat.read_pool_usage(self.airflow_home, pool_name)
        slots = int(pool["slots"])
        occupied = used.get("running", 0) + used.get("queued", 0)
        if pool["include_deferred"]:
            occupied += used.get("deferred", 0)
        return {
            "name": pool["pool"],
            "slots": slots,
            "description": pool["description"],
            "include_deferred": bool(pool["include_deferred"]),
            "running_slots": used.get("running", 0),
            "queued_slots": used.get("queued", 0),
            "scheduled_slots": used.get("scheduled", 0),
            "deferred_slots": used.get("deferred", 0),
            "occupied_slots": occupied,
            "open_slots": -1 if slots == -1 else slots - occupied,
        }
