"""Per-task log files for the embedded runner.

``dag.test()`` logs tasks to the console only. The Airflow UI (and
``StepRun.get_job_log``) read task logs from
``<base_log_folder>/dag_id=…/run_id=…/task_id=…/attempt=N.log`` as JSON
lines, so while a task runs in the embedded runner every structlog event is
also appended to that file.
"""

from __future__ import annotations

import datetime
import json
import os
import traceback
from typing import IO, Any

__all__ = ["install", "task_log_path"]

_current: dict[str, IO[str] | None] = {"fh": None}


def task_log_path(
    base: str, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1
) -> str:
    """Airflow's default task log location for one try."""
    mi = f"map_index={map_index}/" if map_index >= 0 else ""
    return os.path.join(
        base,
        f"dag_id={dag_id}",
        f"run_id={run_id}",
        f"task_id={task_id}",
        f"{mi}attempt={try_number}.log",
    )


def _tee(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    fh = _current["fh"]
    if fh is not None:
        rec: dict[str, Any] = {}
        for key, value in event_dict.items():
            if key == "exc_info" and value:
                exc = value if isinstance(value, BaseException) else None
                rec["error_detail"] = (
                    "".join(traceback.format_exception(exc)) if exc else traceback.format_exc()
                )
            elif not key.startswith("_"):
                rec[key] = value
        rec.setdefault("level", method_name)
        rec.setdefault("timestamp", datetime.datetime.now(datetime.UTC).isoformat())
        fh.write(json.dumps(rec, default=str) + "\n")
        fh.flush()
    return event_dict


def install(base_log_folder: str) -> None:
    """Tee task log events into per-try files under ``base_log_folder`` (call once)."""
    import structlog
    from airflow.sdk.execution_time import supervisor

    if getattr(supervisor.run_task_in_process, "_aml_task_logs", False):
        return
    config = structlog.get_config()
    processors = list(config["processors"])
    processors.insert(max(len(processors) - 1, 0), _tee)  # just before the renderer
    structlog.configure(processors=processors)

    original = supervisor.run_task_in_process

    def run_task_in_process(ti: Any, task: Any, client: Any = None) -> Any:
        map_index = ti.map_index if ti.map_index is not None else -1
        path = task_log_path(
            base_log_folder, ti.dag_id, ti.run_id, ti.task_id, ti.try_number, map_index
        )
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            previous, _current["fh"] = _current["fh"], fh
            try:
                return original(ti=ti, task=task, client=client)
            finally:
                _current["fh"] = previous

    run_task_in_process._aml_task_logs = True  # type: ignore[attr-defined]
    supervisor.run_task_in_process = run_task_in_process
