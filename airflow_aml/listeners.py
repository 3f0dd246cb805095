"""Airflow listener (registered by the plugin): task notes for reused steps.

A reuse-check sensor publishes its decision in XCom. Tasks on a remote worker
cannot write task notes (no metadata-DB access in Airflow 3), so when a DAG
run ends, this listener — called where Airflow updates DAG-run state, next
to the metadata DB — writes each reused step's note ("Reused: outputs come
from step ... of run ...") onto the skipped step task.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.listeners import hookimpl

from airflow_aml.runtime.contract import REUSE_XCOM_KEY

__all__ = ["on_dag_run_success", "on_dag_run_failed", "annotate_reused_steps"]

log = logging.getLogger(__name__)
_SUFFIX = "__reuse_check"


def annotate_reused_steps(session: Any, dag_id: str, run_id: str) -> int:
    """Set the note of every reused step of a run in ``session`` (the caller commits);
    returns how many notes were set."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from sqlalchemy import select

    count = 0
    rows = session.scalars(
        select(XComModel).where(
            XComModel.dag_id == dag_id, XComModel.run_id == run_id, XComModel.key == REUSE_XCOM_KEY
        )
    ).all()
    for row in rows:
        decision = (
            row.value
            if isinstance(row.value, dict)
            else XComModel.deserialize_value(_Row(row.value))
        )
        if not isinstance(decision, dict) or not decision.get("hit"):
            continue
        source = decision.get("reused_from") or {}
        note = decision.get("note") or (
            f"Reused: outputs come from step {source.get('step')!r} of run "
            f"{source.get('run_id')} (experiment {source.get('dag_id')})"
        )
        ti = session.scalar(
            select(TaskInstance).where(
                TaskInstance.dag_id == dag_id,
                TaskInstance.run_id == run_id,
                TaskInstance.task_id == row.task_id.removesuffix(_SUFFIX),
                TaskInstance.map_index == -1,
            )
        )
        if ti is not None and ti.note != note:
            ti.note = note[:1000]
            count += 1
    return count


class _Row:
    def __init__(self, value: Any):
        self.value = value


def _annotate(dag_run: Any) -> None:
    from sqlalchemy.orm import object_session

    # Work in the session that is updating the DagRun, and let its owner commit:
    # never open, commit or close Airflow's (thread-scoped) session here.
    session = object_session(dag_run)
    if session is None:
        return
    try:  # plain reads and attribute writes: the scheduler commits them with the run state
        annotate_reused_steps(session, dag_run.dag_id, dag_run.run_id)
    except Exception as exc:  # a listener must never break the scheduler
        log.warning(
            "airflow-aml: could not annotate reused steps of %s/%s: %s",
            dag_run.dag_id,
            dag_run.run_id,
            exc,
        )


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    """A run succeeded: annotate its reused steps."""
    _annotate(dag_run)


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    """A run failed: annotate its reused steps all the same."""
    _annotate(dag_run)
