"""Runner process of the embedded backend: one pipeline run, by Airflow's own loop.

Started by :class:`EmbeddedBackend.submit` as
``python -m airflow_aml.backends.embedded_runner <run file>`` with
``AIRFLOW_HOME`` pointing at the workspace's Airflow home. It migrates the
DB on first use, renders the frozen spec as a DAG, and runs it with
``dag.test()`` under the run id chosen at submit. SIGTERM cancels the run.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Any
from unittest import mock

from airflow_aml.core._jsonstore import atomic_write_text
from airflow_aml.runtime import cancel

__all__ = ["run_pipeline", "main"]


def _ensure_pools(spec: Any) -> None:
    from airflow.models.pool import Pool

    for step in spec.steps:
        pool = step.compute.get("pool")
        if pool:
            Pool.create_or_update_pool(
                pool,
                slots=int(step.compute.get("max_nodes", 4)),
                description=f"AmlCompute {step.compute['name']}",
                include_deferred=False,
            )


def run_pipeline(spec: Any, run_id: str, conf: dict[str, Any]) -> str:
    """Run ``spec`` as DAG run ``run_id`` in this process; return the final DagRun state."""
    from airflow.models.dagrun import DagRun
    from airflow.sdk import timezone

    from airflow_aml.compiler.render import render_dag

    dag = render_dag(spec)
    _ensure_pools(spec)
    with mock.patch.object(DagRun, "generate_run_id", return_value=run_id):
        dr = dag.test(run_conf=conf, logical_date=timezone.utcnow())
    return str(dr.state)


def main(argv: list[str]) -> int:
    """Entry point: ``embedded_runner <run file>``."""
    run_file = Path(argv[0])
    record = json.loads(run_file.read_text(encoding="utf-8"))
    run_id = record["run_id"]
    base = run_file.with_suffix("")

    def on_term(signum: int, frame: Any) -> None:
        cancel.request_cancel()

    signal.signal(signal.SIGTERM, on_term)
    try:
        from airflow.configuration import conf as airflow_conf

        from airflow_aml.backends.airflow_home import ensure_database
        from airflow_aml.backends.task_logs import install as install_task_logs
        from airflow_aml.compiler.spec import PipelineSpec

        ensure_database(Path(os.environ["AIRFLOW_HOME"]))
        install_task_logs(airflow_conf.get("logging", "base_log_folder"))
        spec = PipelineSpec.from_json(record["spec"])
        state = run_pipeline(spec, run_id, record["conf"])
    except BaseException as exc:  # report why, so the client never waits forever
        atomic_write_text(
            Path(f"{base}.error"), f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()}"
        )
        atomic_write_text(Path(f"{base}.done"), "error")
        return 1
    atomic_write_text(Path(f"{base}.done"), state)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
