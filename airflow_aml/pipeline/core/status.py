"""Airflow states -> SDK v1 run statuses (shared by every backend)."""

from __future__ import annotations

__all__ = ["pipeline_status", "step_status", "TERMINAL_STATUSES"]

TERMINAL_STATUSES = frozenset({"Finished", "Failed", "Canceled"})

_DAG_RUN = {
    None: "NotStarted",
    "queued": "Queued",
    "running": "Running",
    "success": "Finished",
    "failed": "Failed",
}

_TASK = {
    None: "NotStarted",
    "none": "NotStarted",
    "scheduled": "Queued",
    "queued": "Queued",
    "running": "Running",
    "deferred": "Running",
    "up_for_reschedule": "Running",
    "up_for_retry": "Running",
    "restarting": "Running",
    "success": "Finished",
    "failed": "Failed",
    "upstream_failed": "NotStarted",
    "skipped": "Canceled",
    "removed": "Canceled",
}


def pipeline_status(dag_run_state: str | None, *, canceled: bool = False) -> str:
    """v1 status of a pipeline run from its DagRun state."""
    status = _DAG_RUN.get(dag_run_state, "Running")
    if canceled and status in ("Failed", "Finished", "Running", "Queued", "NotStarted"):
        return "Canceled" if status != "Running" else "Canceling"
    return status


def step_status(task_state: str | None) -> str:
    """v1 status of a step run from its TaskInstance state."""
    return _TASK.get(task_state, "Running")
