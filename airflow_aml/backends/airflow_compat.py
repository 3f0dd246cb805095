"""Every use of Airflow internals by airflow-aml, each behind one small named function.

Embedded mode runs pipelines with Airflow's own ``dag.test()`` loop and reads
what happened from the home's metadata DB. Airflow 3.3's public API covers
most of that (``DAG.test()``, ``airflow.sdk.conf``, ``[logging]
log_filename_template``); what it does not cover is done here, and only here:

==============================  =====================================================
hook                            Airflow internal it relies on
==============================  =====================================================
``dag_test_with_run_id``        ``dag.test()`` names its DagRun with ``DagRun.generate_run_id``;
                                it runs in the parsing context of its DAG
``parsing_context``             the variable behind ``get_parsing_context()``
``warm_execution_api``          ``supervisor.in_process_api_server`` (the cached in-process API)
``wrap_in_process_task_runs``   ``dag.test()`` runs each try via ``supervisor.run_task_in_process``
``add_log_processor``           Airflow's structlog chain ends with its renderer
``ensure_pool``                 ``airflow.models.pool.Pool.create_or_update_pool``
``serialise_dag_writes``        ``dag.test()`` writes DAG rows via ``dagbag.sync_bag_to_db``
``fail_unfinished_run``         the ``DagRun`` / ``TaskInstance`` ORM models and states
``read_dag_run`` and the other  the metadata DB schema: the tables and columns
``read_*`` functions            of :data:`METADATA_SCHEMA`
==============================  =====================================================

``tests/backends/test_airflow_compat.py`` has one test per hook; each fails,
naming its hook, when Airflow moves or changes what the hook uses.

Nothing here imports Airflow at module import time: the embedded client
imports this module for the DB readers and never imports Airflow (that costs
seconds).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from airflow_aml.exceptions import ExperimentExecutionException

__all__ = [
    "METADATA_DB",
    "METADATA_SCHEMA",
    "dag_test_with_run_id",
    "parsing_context",
    "warm_execution_api",
    "wrap_in_process_task_runs",
    "add_log_processor",
    "ensure_pool",
    "serialise_dag_writes",
    "fail_unfinished_run",
    "metadata_db",
    "query_metadata_db",
    "read_dag_run",
    "read_task_instances",
    "read_xcom_value",
    "read_pool",
    "read_pool_usage",
    "read_log_template",
]

#: the metadata DB file of an embedded home (``[database] sql_alchemy_conn`` of its config)
METADATA_DB = "airflow.db"

#: every table and column of Airflow's metadata DB that the ``read_*`` functions use
METADATA_SCHEMA: dict[str, tuple[str, ...]] = {
    "dag_run": (
        "dag_id",
        "run_id",
        "state",
        "start_date",
        "end_date",
        "conf",
        "logical_date",
        "run_after",
        "data_interval_start",
        "data_interval_end",
        "log_template_id",
    ),
    "task_instance": (
        "id",
        "dag_id",
        "run_id",
        "task_id",
        "map_index",
        "state",
        "start_date",
        "end_date",
        "try_number",
        "pool",
        "pool_slots",
    ),
    "xcom": ("dag_id", "run_id", "task_id", "key", "map_index", "value"),
    "slot_pool": ("pool", "slots", "description", "include_deferred"),
    "log_template": ("id", "filename"),
}

_run_id_lock = threading.Lock()


# --------------------------------------------------------------- the runner
def dag_test_with_run_id(
    dag: Any, run_id: str, *, run_conf: dict[str, Any], logical_date: Any
) -> Any:
    """Run ``dag.test(run_conf=..., logical_date=...)`` as the DagRun ``run_id``; return it.

    Airflow internal: ``DAG.test()`` (3.3) has no ``run_id`` argument and names
    the run it creates with ``airflow.models.dagrun.DagRun.generate_run_id``
    (``manual__<date>``); creating the run beforehand does not help, as
    ``dag.test()`` deletes a run at the same logical date and makes its own.
    So, for the duration of the call, the first ``generate_run_id`` call
    returns ``run_id`` (later ones go to Airflow's). The call runs in the DAG
    parsing context of ``dag`` (Airflow's private
    ``_airflow_parsing_context_manager``, which the task runner uses the same
    way), so the loader file renders only this pipeline when ``dag.test()``
    re-parses the dags folder. If Airflow stops naming
    the run that way, the run gets Airflow's id and this raises
    :class:`~airflow_aml.exceptions.ExperimentExecutionException` naming this
    hook (the client never sees its run id); if ``generate_run_id`` moves,
    it raises before running anything.
    """
    from airflow.models.dagrun import DagRun

    original = inspect.getattr_static(DagRun, "generate_run_id", None)
    if not isinstance(original, staticmethod):
        raise ExperimentExecutionException(
            "airflow-aml hook dag_test_with_run_id: DagRun.generate_run_id is not a "
            f"staticmethod in this Airflow ({original!r}); cannot run dag.test() as {run_id}"
        )
    airflow_generate = original.__func__
    pending = [run_id]

    @functools.wraps(airflow_generate)
    def generate_run_id(*args: Any, **kwargs: Any) -> str:
        return pending.pop() if pending else airflow_generate(*args, **kwargs)

    with _run_id_lock:
        DagRun.generate_run_id = staticmethod(generate_run_id)  # type: ignore[method-assign]
        try:
            # dag.test() re-parses its bundle (the home's dags folder, hence the loader
            # file): in the parsing context of this DAG, the loader renders only it.
            with parsing_context(dag.dag_id):
                dr = dag.test(run_conf=run_conf, logical_date=logical_date)
        finally:
            DagRun.generate_run_id = original  # type: ignore[method-assign]
    if dr is None or dr.run_id != run_id:
        raise ExperimentExecutionException(
            "airflow-aml hook dag_test_with_run_id: dag.test() ran DagRun "
            f"{getattr(dr, 'run_id', None)!r} instead of {run_id!r} (this Airflow no longer "
            "names the run with DagRun.generate_run_id)"
        )
    return dr


@contextlib.contextmanager
def parsing_context(dag_id: str) -> Iterator[None]:
    """Parse DAG files for ``dag_id`` only while in this block (as a task runner does);
    the context before the block is restored after it, also on an exception.

    Airflow internal: the environment variable behind the public
    ``airflow.sdk.get_parsing_context()`` (``_AIRFLOW_PARSING_CONTEXT_DAG_ID``, in
    ``airflow.sdk.definitions.context``), which the task runner sets through
    ``_airflow_parsing_context_manager`` (that one does not unset it afterwards).
    """
    from airflow.sdk.definitions.context import _AIRFLOW_PARSING_CONTEXT_DAG_ID as VAR

    old = os.environ.get(VAR)
    os.environ[VAR] = dag_id
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(VAR, None)
        else:
            os.environ[VAR] = old


def warm_execution_api() -> None:
    """Start Airflow's in-process execution API now (~4 s), not inside the first task.

    Airflow internal: ``dag.test()`` talks to the execution API through
    ``airflow.sdk.execution_time.supervisor.in_process_api_server()``, an
    ``lru_cache``'d ``InProcessExecutionAPI``; its first request starts the
    app. This makes that first request (``GET /health``). If it moves, this
    raises and the caller carries on: the first task pays the start-up.
    """
    import httpx
    from airflow.sdk.execution_time.supervisor import in_process_api_server

    api = in_process_api_server()
    response = api.transport.handle_request(
        httpx.Request("GET", "http://in-process.invalid./health")
    )
    response.read()
    if response.status_code != 200:
        raise ExperimentExecutionException(
            "airflow-aml hook warm_execution_api: the in-process execution API answered "
            f"GET /health with {response.status_code}"
        )


def wrap_in_process_task_runs(around: Callable[[Any], AbstractContextManager[Any]]) -> None:
    """Enter ``around(ti)`` around every task try that ``dag.test()`` runs in this process.

    ``ti`` is the Task SDK ``TaskInstance`` (``dag_id``, ``run_id``,
    ``task_id``, ``try_number``, ``map_index``). Adding the same ``around``
    again does nothing; several are entered in the order they were added.

    Airflow internal: ``dag.test()`` runs every try through
    ``airflow.sdk.execution_time.supervisor.run_task_in_process(ti, task,
    client=None)``, importing it from that module at each call, so replacing
    the module attribute reaches it. Airflow's listeners
    (``on_task_instance_running`` …) would be the public way to know the task,
    but they start after template rendering (a rendering failure is not seen)
    and have no hook for deferral, so a try's log would miss lines. If the
    function moves, this raises ``AttributeError``.
    """
    from airflow.sdk.execution_time import supervisor

    current = supervisor.run_task_in_process
    arounds: list[Callable[[Any], AbstractContextManager[Any]]] | None = getattr(
        current, "_aml_arounds", None
    )
    if arounds is not None:
        if around not in arounds:
            arounds.append(around)
        return
    arounds = [around]

    @functools.wraps(current)
    def run_task_in_process(ti: Any, task: Any, client: Any = None) -> Any:
        with contextlib.ExitStack() as stack:
            for enter in list(arounds):
                stack.enter_context(enter(ti))
            return current(ti=ti, task=task, client=client)

    run_task_in_process._aml_arounds = arounds  # type: ignore[attr-defined]
    supervisor.run_task_in_process = run_task_in_process


def add_log_processor(processor: Callable[[Any, str, Any], Any]) -> None:
    """Add ``processor`` to this process's structlog chain, just before Airflow's renderer.

    It then sees every log event (task logs included) with Airflow's fields
    (``timestamp``, ``level``, ``logger``) added, before it becomes text.
    Adding the same processor again does nothing.

    Airflow internal: Airflow 3 configures structlog
    (``airflow._shared.logging.configure_logging``) with its renderer as the
    last processor. If that changes, ``processor`` may run before some of
    Airflow's fields are added, or after the renderer (so it must accept an
    event that is already text).
    """
    import structlog

    processors = list(structlog.get_config()["processors"])
    if processor in processors:
        return
    processors.insert(max(len(processors) - 1, 0), processor)
    structlog.configure(processors=processors)


def ensure_pool(name: str, slots: int, description: str) -> None:
    """Create the Airflow pool ``name`` with ``slots`` slots, or update it.

    Airflow internal: the core model method
    ``airflow.models.pool.Pool.create_or_update_pool``; the public ways (REST
    ``PATCH /api/v2/pools``, ``airflow pools set``) need an api-server or a
    new Airflow process. If it moves, this raises ``ImportError`` /
    ``AttributeError`` and the run reports it.
    """
    from airflow.models.pool import Pool

    Pool.create_or_update_pool(name, slots=slots, description=description, include_deferred=False)


#: how long a runner waits for another runner's DAG sync before it gives up (seconds)
DAG_SYNC_LOCK_TIMEOUT = 300.0


def serialise_dag_writes(lock_path: Path, timeout: float = DAG_SYNC_LOCK_TIMEOUT) -> None:
    """Hold the file lock ``lock_path`` around every DAG sync this process makes.

    Every ``dag.test()`` re-syncs its bundle (the home's ``dags`` folder, hence
    every pipeline DAG of the registry) into the metadata DB: Airflow selects
    the DAG rows that exist, then inserts the missing ones. Two runners doing
    that at once for a DAG that is new to the DB both insert, and one fails
    with ``UNIQUE constraint failed: dag.dag_id`` (its run is lost). With the
    lock, one process's sync commits before the next one reads. Calling this
    again with the same path does nothing; a sync that cannot get the lock in
    ``timeout`` seconds raises :class:`~airflow_aml.exceptions.ExperimentExecutionException`
    naming the lock file.

    Airflow internal: ``DAG.test()`` imports ``sync_bag_to_db`` from
    ``airflow.dag_processing.dagbag`` at each call, so replacing the module
    attribute reaches it. If it moves, this raises ``AttributeError``.
    """
    from airflow.dag_processing import dagbag
    from filelock import FileLock, Timeout

    current = dagbag.sync_bag_to_db
    if getattr(current, "_aml_lock_path", None) == str(lock_path):
        return
    airflow_sync = getattr(current, "_aml_airflow_sync", current)
    lock = FileLock(str(lock_path), timeout=timeout, thread_local=False)

    @functools.wraps(airflow_sync)
    def sync_bag_to_db(*args: Any, **kwargs: Any) -> Any:
        try:
            lock.acquire()
        except Timeout as exc:
            raise ExperimentExecutionException(
                f"airflow-aml: another process held the DAG sync lock {lock_path} for over "
                f"{timeout:.0f} s; the run's DAG could not be written to the metadata DB"
            ) from exc
        try:
            return airflow_sync(*args, **kwargs)
        finally:
            lock.release()

    sync_bag_to_db._aml_lock_path = str(lock_path)  # type: ignore[attr-defined]
    sync_bag_to_db._aml_airflow_sync = airflow_sync  # type: ignore[attr-defined]
    dagbag.sync_bag_to_db = sync_bag_to_db


def fail_unfinished_run(dag_id: str, run_id: str, note: str) -> dict[str, str] | None:
    """Mark a DagRun that nobody will finish (its runner died) failed; None if no such run.

    Its running (or deferred) task instances become ``failed``, those that had
    not started ``upstream_failed`` (SDK v1's NotStarted); the run gets
    ``note``. Returns ``{task_id: state it had}`` of the task instances
    changed. A run already finished is left as it is (``{}``).

    Airflow internal: the ``DagRun`` and ``TaskInstance`` ORM models
    (``set_state``) and ``airflow.utils.state``; Airflow's own public way
    (``PATCH .../dagRuns/{id}``) needs an api-server, and the embedded home
    has none. If they move, this raises ``ImportError`` / ``AttributeError``.
    """
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, State, TaskInstanceState
    from sqlalchemy import select

    started = {TaskInstanceState.RUNNING, TaskInstanceState.DEFERRED, TaskInstanceState.RESTARTING}
    with create_session() as session:
        dr = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
        if dr is None:
            return None
        if dr.state in State.finished_dr_states:
            return {}
        changed: dict[str, str] = {}
        tis = session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
        ).all()
        for ti in tis:
            if ti.state in State.finished:
                continue
            changed[ti.task_id] = str(ti.state)
            new = (
                TaskInstanceState.FAILED
                if ti.state in started
                else TaskInstanceState.UPSTREAM_FAILED
            )
            ti.set_state(new, session=session)
        dr.set_state(DagRunState.FAILED)
        dr.note = note[:1000]
        return changed


# ------------------------------------------------- metadata DB (the client)
def metadata_db(airflow_home: Path) -> sqlite3.Connection | None:
    """A read-only connection to the home's SQLite metadata DB, or None before it exists.

    Airflow internal: the metadata DB and its schema (see :data:`METADATA_SCHEMA`).
    The public read path is the REST API, which needs a running api-server; the
    embedded client has none and does not import Airflow.
    """
    path = Path(airflow_home) / METADATA_DB
    if not path.exists():
        return None
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    conn.row_factory = sqlite3.Row
    return conn


def query_metadata_db(airflow_home: Path, sql: str, args: tuple[Any, ...]) -> list[sqlite3.Row]:
    """Rows of ``sql`` on the home's metadata DB; none before the DB is created/migrated."""
    conn = metadata_db(airflow_home)
    if conn is None:
        return []
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc) and _schema_missing(conn):
            return []  # the runner has not migrated the DB yet
        raise
    finally:
        conn.close()


def _schema_missing(conn: sqlite3.Connection) -> bool:
    """Whether the DB is not migrated yet (then a missing table is no schema change)."""
    row = conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
    ).fetchone()
    return not row[0]


def read_dag_run(airflow_home: Path, dag_id: str, run_id: str) -> dict[str, Any] | None:
    """The DagRun's ``state``, ``start_date``, ``end_date``, ``conf`` (raw), or None."""
    rows = query_metadata_db(
        airflow_home,
        "SELECT state, start_date, end_date, conf FROM dag_run WHERE dag_id = ? AND run_id = ?",
        (dag_id, run_id),
    )
    return dict(rows[0]) if rows else None


def read_task_instances(airflow_home: Path, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    """The run's unmapped TaskInstances: ``task_id``, ``state``, dates, ``try_number``, ``id``."""
    rows = query_metadata_db(
        airflow_home,
        "SELECT task_id, state, start_date, end_date, try_number, id FROM task_instance "
        "WHERE dag_id = ? AND run_id = ? AND map_index = -1",
        (dag_id, run_id),
    )
    return [dict(r) for r in rows]


def read_xcom_value(airflow_home: Path, dag_id: str, run_id: str, task_id: str, key: str) -> Any:
    """The stored value of an unmapped task's XCom (JSON text, as the XCom backend wrote it)."""
    rows = query_metadata_db(
        airflow_home,
        "SELECT value FROM xcom WHERE dag_id = ? AND run_id = ? AND "
        "task_id = ? AND key = ? AND map_index = -1",
        (dag_id, run_id, task_id, key),
    )
    return rows[0]["value"] if rows else None


def read_pool(airflow_home: Path, pool: str) -> dict[str, Any] | None:
    """The pool's ``pool``, ``slots``, ``description``, ``include_deferred``, or None."""
    rows = query_metadata_db(
        airflow_home,
        "SELECT pool, slots, description, include_deferred FROM slot_pool WHERE pool = ?",
        (pool,),
    )
    return dict(rows[0]) if rows else None


def read_pool_usage(airflow_home: Path, pool: str) -> dict[str, int]:
    """Slots the pool's running/queued/scheduled/deferred task instances take, by state."""
    rows = query_metadata_db(
        airflow_home,
        "SELECT state, SUM(pool_slots) AS n FROM task_instance WHERE pool = ? AND "
        "state IN ('running', 'queued', 'scheduled', 'deferred') GROUP BY state",
        (pool,),
    )
    return {r["state"]: int(r["n"] or 0) for r in rows}


def read_log_template(airflow_home: Path, dag_id: str, run_id: str) -> dict[str, Any] | None:
    """The log file name template the DagRun was created with, and the dates it may use.

    ``filename`` (the ``[logging] log_filename_template`` in force then),
    ``logical_date``, ``run_after``, ``data_interval_start``,
    ``data_interval_end``; None before the run exists. Airflow's own log
    reader (``FileTaskHandler``) renders this template, not the current config.
    """
    rows = query_metadata_db(
        airflow_home,
        "SELECT log_template.filename AS filename, dag_run.logical_date AS logical_date, "
        "dag_run.run_after AS run_after, dag_run.data_interval_start AS data_interval_start, "
        "dag_run.data_interval_end AS data_interval_end FROM dag_run "
        "JOIN log_template ON log_template.id = dag_run.log_template_id "
        "WHERE dag_run.dag_id = ? AND dag_run.run_id = ?",
        (dag_id, run_id),
    )
    return dict(rows[0]) if rows else None
