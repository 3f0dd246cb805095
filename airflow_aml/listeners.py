"""Airflow listener (registered by the plugin): task notes saying whether a step was reused.

A reused step publishes its reuse decision in XCom. Task code cannot write
task notes (no metadata-DB access in Airflow 3), so when a DAG run ends,
this listener — called where Airflow updates DAG-run state, next to the
metadata DB — writes each step's note onto its task instance: "Reused:
outputs come from step ... of run ..." or "Ran: <why it was not reused>".
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.listeners import hookimpl

from airflow_aml.runtime.contract import REUSE_XCOM_KEY
from airflow_aml.spec import RESERVED_CONF_KEY

__all__ = [
    "on_dag_run_success",
    "on_dag_run_failed",
    "annotate_reused_steps",
    "annotate_run",
    "run_note",
]

log = logging.getLogger(__name__)


def annotate_reused_steps(session: Any, dag_id: str, run_id: str) -> int:
    """Set the note of every step of a run in ``session`` that made a reuse decision (the
    caller commits): "Reused: outputs come from ..." or "Ran: <why it was not reused>";
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
        if not isinstance(decision, dict):
            continue
        source = decision.get("reused_from") or {}
        if decision.get("hit"):
            note = decision.get("note") or (
                f"Reused: outputs come from step {source.get('step')!r} of run "
                f"{source.get('run_id')} (experiment {source.get('dag_id')})"
            )
        else:
            note = decision.get("note") or "Ran: " + "; ".join(decision.get("reasons") or [])
        ti = session.scalar(
            select(TaskInstance).where(
                TaskInstance.dag_id == dag_id,
                TaskInstance.run_id == run_id,
                TaskInstance.task_id == row.task_id,
                TaskInstance.map_index == -1,
            )
        )
        if ti is not None and ti.note != note:
            ti.note = note[:1000]
            count += 1
    return count


def run_note(conf: Any) -> str | None:
    """The DAG-run note a run's conf calls for (ignored REST parameter assignments)."""
    options = (conf or {}).get(RESERVED_CONF_KEY) if isinstance(conf, dict) else None
    ignored = options.get("ignored_parameters") if isinstance(options, dict) else None
    if not ignored:
        return None
    return (
        "airflow-aml: ParameterAssignments not declared by this pipeline were ignored: "
        + ", ".join(str(n) for n in ignored)
    )[:1000]


def annotate_run(session: Any, dag_run: Any) -> int:
    """Notes of a finished run in ``session`` (the caller commits): each reused step's
    note, and the run's own note (see :func:`run_note`); returns how many step notes."""
    note = run_note(dag_run.conf)
    if note and not dag_run.note:
        dag_run.note = note
    return annotate_reused_steps(session, dag_run.dag_id, dag_run.run_id)


def annotate_finished_run(dag_id: str, run_id: str) -> int:
    """:func:`annotate_run` in a session of its own (the embedded runner, after a run)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        dag_run = session.scalar(
            select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
        )
        return 0 if dag_run is None else annotate_run(session, dag_run)


class _Row:
    def __init__(self, value: Any):
        self.value = value


def _annotate(dag_run: Any) -> None:
    from sqlalchemy.orm import object_session

    # Work in the session that is updating the DagRun, and let its owner commit:
    # never open, commit or close Airflow's (thread-scoped) session here.
    session = object_session(dag_run)
    if session is None:  # dag.test(): the embedded runner annotates after the run
        return
    try:  # plain reads and attribute writes: the scheduler commits them with the run state
        annotate_run(session, dag_run)
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
