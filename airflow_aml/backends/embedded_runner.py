"""Runner process of the embedded backend: runs queued pipeline runs with Airflow's own loop.

``python -m airflow_aml.backends.embedded_runner --serve <registry>`` is
started on demand by :class:`~airflow_aml.backends.runner_pool.RunnerPool`
with ``AIRFLOW_HOME`` pointing at the workspace's Airflow home. It takes a
runner slot, migrates the DB on first use, then takes queued runs one at a
time: renders the frozen spec as a DAG and runs it with ``dag.test()`` under
the run id chosen at submit, writing the run's console output to
``runs/<run_id>.log`` and each task try's log to its Airflow task log file
(:mod:`~airflow_aml.backends.task_logs`). The Airflow internals this needs
are in :mod:`~airflow_aml.backends.airflow_compat`. It stays warm between
runs and exits when idle. A ``runs/<run_id>.canceled`` marker cancels the
current run.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from airflow_aml._files import atomic_write_text
from airflow_aml.backends import task_logs
from airflow_aml.backends.airflow_compat import (
    dag_test_with_run_id,
    ensure_pool,
    serialise_dag_writes,
    warm_execution_api,
)
from airflow_aml.backends.airflow_home import DAG_SYNC_LOCK, ensure_database
from airflow_aml.backends.reconcile import reconcile_orphans
from airflow_aml.backends.runner_pool import IDLE_SECONDS, RunnerPool
from airflow_aml.exceptions import ExperimentExecutionException
from airflow_aml.runtime import cancel
from airflow_aml.runtime.workdirs import sweep_abandoned
from airflow_aml.spec import PipelineSpec

__all__ = ["run_pipeline", "serve", "main"]

_MAX_RUNS_PER_PROCESS = 200
#: how often an idle runner looks for runs of dead runners to reconcile (seconds)
_TIDY_SECONDS = 5.0


def _ensure_pools(spec: Any) -> None:
    for step in spec.steps:
        pool = step.compute.get("pool")
        if pool:
            ensure_pool(
                pool,
                slots=int(step.compute.get("max_nodes", 4)),
                description=f"AmlCompute {step.compute['name']}",
            )


def run_pipeline(spec: Any, run_id: str, conf: dict[str, Any]) -> str:
    """Run ``spec`` as DAG run ``run_id`` in this process; return the final DagRun state."""
    # lazy: Airflow (seconds); a runner that finds no free slot exits without it
    from airflow.sdk import timezone

    from airflow_aml.backends.notes import annotate_finished_run  # lazy: imports Airflow
    from airflow_aml.compiler.render import render_dag  # lazy: imports Airflow

    dag = render_dag(spec, embedded=True)
    _ensure_pools(spec)
    dr = dag_test_with_run_id(dag, run_id, run_conf=conf, logical_date=timezone.utcnow())
    try:
        annotate_finished_run(spec.dag_id, run_id)
    except Exception as exc:  # notes are a courtesy: never fail a finished run for them
        print(f"airflow-aml: could not write the run's notes: {exc}", file=sys.stderr)
    return str(dr.state)


@contextlib.contextmanager
def _output_to(path: Path) -> Iterator[None]:
    """Send this process's stdout/stderr (file descriptors too) to ``path``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "ab") as fh:
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _watch_cancel(marker: Path, done: threading.Event) -> None:
    while not done.wait(0.2):
        if marker.exists():
            cancel.request_cancel()
            return


def run_job(run_file: Path) -> None:
    """Run one queued run, recording ``.done`` (and ``.error`` when it could not run)."""
    base = run_file.with_suffix("")
    done = threading.Event()
    watcher = threading.Thread(
        target=_watch_cancel, args=(Path(f"{base}.canceled"), done), daemon=True
    )
    watcher.start()
    try:
        with _output_to(Path(f"{base}.log")):
            try:
                record = json.loads(run_file.read_text(encoding="utf-8"))
                if Path(f"{base}.canceled").exists():
                    raise ExperimentExecutionException("the run was canceled before it started")
                state = run_pipeline(
                    PipelineSpec.from_json(record["spec"]), record["run_id"], record["conf"]
                )
            except Exception as exc:  # report why, so the client never waits forever
                atomic_write_text(
                    Path(f"{base}.error"),
                    f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()}",
                )
                state = "error"
        atomic_write_text(Path(f"{base}.done"), state)
    finally:
        done.set()
        watcher.join()
        cancel.reset()


def _tidy(pool: RunnerPool, orphans: list[dict[str, Any]]) -> None:
    """Reconcile the runs of dead runners, then remove work folders of dead processes."""
    reconcile_orphans(pool, orphans)
    try:
        sweep_abandoned()
    except OSError as exc:
        print(f"airflow-aml: work folder sweep skipped: {exc!r}", file=sys.stderr)


def _warm_execution_api() -> None:
    """Start Airflow's in-process execution API now (~4 s), not inside the first run.

    An idle runner is then really warm. If the Airflow internal this uses
    (``airflow_compat.warm_execution_api``) moves, the first run pays the start-up.
    """
    try:
        warm_execution_api()
    except Exception as exc:
        print(f"airflow-aml: execution API warm-up skipped: {exc!r}", file=sys.stderr)


def serve(registry: Path) -> int:
    """Serve queued runs until idle for ``IDLE_SECONDS``."""
    pool = RunnerPool(registry)
    # The pool this runner serves: if the home is deleted and re-created meanwhile, the
    # folder holds another pool and this runner must not touch it.
    pool_id = os.environ.get("AIRFLOW_AML_POOL_ID") or pool.pool_id()
    if not pool.is_pool(pool_id):
        return 0
    claimed = pool.acquire_slot()
    if claimed is None:
        return 0  # enough runners already
    slot, _lock = claimed
    orphans = pool.orphaned()  # before our state replaces a dead runner's in this slot
    pool.set_state(slot, "starting")
    stop = threading.Event()

    def on_term(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    try:
        _start_up(pool, orphans)
        pool.set_state(slot, "idle")
        _serve_jobs(pool, slot, pool_id, stop, on_term)
    finally:
        if pool.is_pool(pool_id):
            with contextlib.suppress(FileNotFoundError):
                (pool.root / f"slot-{slot}.json").unlink()
    return 0


def _start_up(pool: RunnerPool, orphans: list[dict[str, Any]]) -> None:
    """Migrate the DB, set up Airflow for runs, finish dead runners' runs, warm up."""
    home = Path(os.environ["AIRFLOW_HOME"])
    ensure_database(home)
    serialise_dag_writes(home / DAG_SYNC_LOCK)
    task_logs.try_install(home)
    _tidy(pool, orphans)
    _warm_execution_api()


def _serve_jobs(
    pool: RunnerPool, slot: int, pool_id: str, stop: threading.Event, on_term: Any
) -> None:
    """Take and run jobs until idle for ``IDLE_SECONDS`` (reconciling dead runners' runs
    meanwhile), told to stop, or the home is no longer this pool's."""
    idle_since, runs, tidied = time.monotonic(), 0, time.monotonic()
    while not stop.is_set() and runs < _MAX_RUNS_PER_PROCESS:
        # Airflow's task runner installs its own handlers during a run: take SIGTERM back.
        signal.signal(signal.SIGTERM, on_term)
        if not pool.is_pool(pool_id):
            return  # the home was deleted (and maybe re-created): not ours any more
        run_file = pool.take(slot, pool_id)
        if run_file is None:
            if time.monotonic() - idle_since > IDLE_SECONDS:
                return
            if time.monotonic() - tidied > _TIDY_SECONDS:
                _tidy(pool, pool.orphaned())
                tidied = time.monotonic()
            stop.wait(0.1)
            continue
        pool.set_state(slot, "busy", run_file)
        run_job(run_file)
        runs += 1
        if not pool.is_pool(pool_id):
            return
        pool.set_state(slot, "idle")
        idle_since = time.monotonic()


def main(argv: list[str]) -> int:
    """Entry point: ``embedded_runner --serve <registry>``."""
    if len(argv) != 2 or argv[0] != "--serve":
        print(
            "usage: python -m airflow_aml.backends.embedded_runner --serve <registry>",
            file=sys.stderr,
        )
        return 2
    return serve(Path(argv[1]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
