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
from sqlalchemy.orm import object_session

from airflow_aml.backends.notes import annotate_run

__all__ = ["on_dag_run_success", "on_dag_run_failed"]

log = logging.getLogger(__name__)


def _annotate(dag_run: Any) -> None:
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
