"""Task notes set from inside a task, where the metadata DB is reachable.

Airflow 3's task SDK has no call for a task to annotate another task
instance. The embedded runner executes tasks in-process next to the
metadata DB, so the note is written there; elsewhere the note is only logged.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["set_task_note"]


def set_task_note(dag_id: str, run_id: str, task_id: str, note: str, *, log: Any = None) -> bool:
    """Set the note of a task instance; returns whether it was stored."""
    log = log or logging.getLogger(__name__)
    try:
        from airflow import settings
        from airflow.models.taskinstance import TaskInstance
        from sqlalchemy import select

        if settings.Session is None:
            return False
        with settings.Session() as session:
            ti = session.scalar(
                select(TaskInstance).where(
                    TaskInstance.dag_id == dag_id,
                    TaskInstance.run_id == run_id,
                    TaskInstance.task_id == task_id,
                    TaskInstance.map_index == -1,
                )
            )
            if ti is None:
                return False
            ti.note = note[:1000]
            session.commit()
        return True
    except Exception as exc:  # no DB access from this worker: the log keeps the note
        log.info("task note not stored (%s): %s", type(exc).__name__, note)
        return False
