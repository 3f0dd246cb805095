"""Notes on runs and steps: whether a step was reused, which REST assignments were ignored.

Task code cannot write notes (no metadata-DB access in Airflow 3). These
functions run where the metadata DB is: in the scheduler through the
plugin's listener (:mod:`airflow_aml.listeners`), in the api-server (a
run's note at trigger time) and in the embedded runner after a run.
"""

from __future__ import annotations

from typing import Any

from airflow.models.dagrun import DagRun
from airflow.models.taskinstance import TaskInstance
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session
from sqlalchemy import select

from airflow_aml.runtime.contract import REUSE_XCOM_KEY
from airflow_aml.spec import RESERVED_CONF_KEY

__all__ = ["annotate_reused_steps", "annotate_run", "annotate_finished_run", "run_note"]


def annotate_reused_steps(session: Any, dag_id: str, run_id: str) -> int:
    """Set the note of every step of a run in ``session`` that made a reuse decision (the
    caller commits): "Reused: outputs come from ..." or "Ran: <why it was not reused>";
    returns how many notes were set."""
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
    with create_session() as session:
        dag_run = session.scalar(
            select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
        )
        return 0 if dag_run is None else annotate_run(session, dag_run)


class _Row:
    def __init__(self, value: Any):
        self.value = value
