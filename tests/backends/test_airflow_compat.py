"""One test per Airflow hook of ``airflow_aml.backends.airflow_compat``.

Each fails, naming its hook, when Airflow moves or changes the internal the
hook uses. The runner-side hooks are exercised in a fresh process (as in a
runner: Airflow's own logging set-up, no pytest environment) on a freshly
migrated temporary Airflow home, running a one-task DAG with ``dag.test()``;
the metadata DB readers then read that home.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from airflow_aml.backends import airflow_compat, task_logs
from airflow_aml.backends.airflow_home import airflow_env, prepare_home

ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "aml_compat_probe"
POOL = "aml_probe_pool"
HELLO = "probe task says hello"

_PROBE_DAG = f'''
"""A one-task DAG for tests/backends/test_airflow_compat.py."""
import json
import os

from airflow.sdk import DAG, BaseOperator


class Probe(BaseOperator):
    def execute(self, context):
        from airflow_aml.backends.airflow_compat import read_pool_usage

        self.log.info("{HELLO}")
        usage = read_pool_usage(os.environ["AIRFLOW_HOME"], "{POOL}")
        with open(os.environ["AML_PROBE_USAGE"], "w") as fh:
            json.dump(usage, fh)
        return {{"answer": 42}}


with DAG("{DAG_ID}", schedule=None) as dag:
    Probe(task_id="probe", pool="{POOL}")
'''

_PROBE = f"""
import contextlib, inspect, json, os, sys, time, types, uuid
from pathlib import Path

home = Path(os.environ["AIRFLOW_HOME"])
out = {{}}
from airflow_aml.backends.airflow_home import ensure_database
ensure_database(home)

import structlog
from airflow.models.dagrun import DagRun
from airflow.models.pool import Pool
from airflow.sdk import DAG, conf, timezone
import airflow.sdk.definitions.dag as sdk_dag
from airflow.sdk.execution_time import supervisor

from airflow_aml.backends import airflow_compat, task_logs

out["static"] = {{
    "generate_run_id_kind": type(inspect.getattr_static(DagRun, "generate_run_id")).__name__,
    "generate_run_id_params": list(inspect.signature(DagRun.generate_run_id).parameters),
    "dag_test_params": list(inspect.signature(DAG.test).parameters),
    "dag_test_names_run": "run_id=DagRun.generate_run_id(" in inspect.getsource(DAG.test),
    "run_task_in_process_params": list(
        inspect.signature(supervisor.run_task_in_process).parameters
    ),
    "run_task_looks_it_up": "from airflow.sdk.execution_time.supervisor import "
    "run_task_in_process" in inspect.getsource(sdk_dag._run_task),
    "api_cached": hasattr(supervisor.in_process_api_server, "cache_info"),
    "api_client_uses_it": "in_process_api_server()"
    in inspect.getsource(supervisor.InProcessTestSupervisor._api_client),
    "create_or_update_pool_params": list(inspect.signature(Pool.create_or_update_pool).parameters),
}}

# add_log_processor (through task_logs.install) and a processor of our own
seen = []
def probe_processor(logger, method_name, event_dict):
    if event_dict.get("event") == "{HELLO}":
        seen.append({{k: str(v) for k, v in event_dict.items() if not k.startswith("_")}})
    return event_dict

task_logs.install(home)
airflow_compat.add_log_processor(probe_processor)
airflow_compat.add_log_processor(probe_processor)  # twice: once in the chain
procs = structlog.get_config()["processors"]
rendered = procs[-1](None, "info", {{"event": "x", "timestamp": "t", "level": "info"}})
out["processors"] = {{
    "count": len(procs),
    "tee": procs.index(task_logs._tee),
    "probe": procs.index(probe_processor),
    "probe_count": procs.count(probe_processor),
    "last_renders": isinstance(rendered, (str, bytes)),
    "last": type(procs[-1]).__name__,
}}

# wrap_in_process_task_runs
tis = []
@contextlib.contextmanager
def record(ti):
    tis.append({{k: getattr(ti, k) for k in ("dag_id", "run_id", "task_id", "try_number",
                                             "map_index")}})
    yield
airflow_compat.wrap_in_process_task_runs(record)
airflow_compat.wrap_in_process_task_runs(record)

# warm_execution_api
start = time.perf_counter()
airflow_compat.warm_execution_api()
out["warm_s"] = time.perf_counter() - start
start = time.perf_counter()
supervisor.InProcessTestSupervisor._api_client().get("health")
out["client_after_warm_s"] = time.perf_counter() - start
out["api_instances"] = supervisor.in_process_api_server.cache_info().currsize

# ensure_pool
airflow_compat.ensure_pool("{POOL}", 3, "probe pool")

# dag_test_with_run_id
sys.path.insert(0, str(home / "dags"))
import aml_compat_probe_dag as probe_dag
run_id = str(uuid.uuid4())
original = inspect.getattr_static(DagRun, "generate_run_id")
dr = airflow_compat.dag_test_with_run_id(
    probe_dag.dag, run_id, run_conf={{"probe": 1}}, logical_date=timezone.utcnow()
)
out["run"] = {{
    "expected": run_id,
    "got": dr.run_id,
    "state": str(dr.state),
    "restored": inspect.getattr_static(DagRun, "generate_run_id") is original,
}}
out["tis"] = tis
out["seen"] = seen

class NotNamingDag:  # a dag.test() that does not name its run with generate_run_id
    dag_id = "not_naming"
    def test(self, **kwargs):
        return types.SimpleNamespace(run_id="manual__not_ours")
try:
    airflow_compat.dag_test_with_run_id(NotNamingDag(), "ours", run_conf={{}}, logical_date=None)
    out["mismatch_error"] = None
except Exception as exc:
    out["mismatch_error"] = f"{{type(exc).__name__}}: {{exc}}"
out["restored_after_mismatch"] = inspect.getattr_static(DagRun, "generate_run_id") is original

# where Airflow itself writes and reads this try's log
from sqlalchemy import select
from airflow.models.taskinstance import TaskInstance
from airflow.utils.helpers import log_filename_template_renderer
from airflow.utils.log.file_task_handler import FileTaskHandler
from airflow.utils.session import create_session

base = conf.get("logging", "base_log_folder")
with create_session() as session:
    ti = session.scalars(
        select(TaskInstance).where(TaskInstance.dag_id == "{DAG_ID}",
                                   TaskInstance.run_id == run_id)
    ).one()
    out["airflow_log"] = {{
        "reader": os.path.join(
            base, FileTaskHandler(base)._render_filename(ti, ti.try_number, session=session)
        ),
        "writer": os.path.join(base, log_filename_template_renderer()(ti=ti)),
    }}
out["conf"] = {{
    "base_log_folder": base,
    "log_filename_template": conf.get("logging", "log_filename_template"),
}}
with open(sys.argv[1], "w") as fh:
    json.dump(out, fh)
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run the probe in a fresh process on a freshly migrated home; its findings + the home."""
    root = tmp_path_factory.mktemp("compat")
    home = root / "airflow"
    prepare_home(home)
    (home / "dags" / "aml_compat_probe_dag.py").write_text(_PROBE_DAG, encoding="utf-8")
    env = airflow_env(home, root / "registry")
    for key in [k for k in env if k.startswith("PYTEST")]:
        env.pop(key)  # as in a runner: Airflow caches its loggers outside pytest
    env["AML_PROBE_USAGE"] = str(root / "usage.json")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    report = root / "probe.json"
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(report)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, (
        f"the Airflow probe failed:\n{out.stdout[-3000:]}{out.stderr[-5000:]}"
    )
    found = json.loads(report.read_text(encoding="utf-8"))
    found["home"] = home
    found["usage"] = json.loads((root / "usage.json").read_text(encoding="utf-8"))
    return found


# ----------------------------------------------------------- runner hooks
def test_hook_dag_test_with_run_id(probe):
    static = probe["static"]
    hook = "airflow_compat.dag_test_with_run_id"
    assert static["generate_run_id_kind"] == "staticmethod", f"{hook}: {static}"
    assert {"run_type", "logical_date", "run_after"} <= set(static["generate_run_id_params"]), (
        f"{hook}: DagRun.generate_run_id changed: {static['generate_run_id_params']}"
    )
    assert {"run_conf", "logical_date"} <= set(static["dag_test_params"]), (
        f"{hook}: DAG.test() changed: {static['dag_test_params']}"
    )
    assert static["dag_test_names_run"], f"{hook}: DAG.test() no longer names its run with it"
    run = probe["run"]
    assert run["got"] == run["expected"], f"{hook}: dag.test() ran as {run['got']}"
    assert run["state"] == "success" and run["restored"], f"{hook}: {run}"
    # a dag.test() that names its run otherwise is reported, naming the hook
    assert probe["mismatch_error"] and "dag_test_with_run_id" in probe["mismatch_error"]
    assert "ExperimentExecutionException" in probe["mismatch_error"]
    assert probe["restored_after_mismatch"]


def test_hook_warm_execution_api(probe):
    static = probe["static"]
    hook = "airflow_compat.warm_execution_api"
    assert static["api_cached"], f"{hook}: supervisor.in_process_api_server is no longer cached"
    assert static["api_client_uses_it"], (
        f"{hook}: InProcessTestSupervisor._api_client no longer uses in_process_api_server()"
    )
    assert probe["api_instances"] == 1, f"{hook}: dag.test()'s API is not the warmed one"
    # the start-up (~4 s cold) happened in the warm-up, not in the first task's client
    assert probe["client_after_warm_s"] < 1.0, (
        f"{hook}: the execution API was not warm ({probe['client_after_warm_s']:.2f} s after a "
        f"{probe['warm_s']:.2f} s warm-up)"
    )


def test_hook_wrap_in_process_task_runs(probe):
    static = probe["static"]
    hook = "airflow_compat.wrap_in_process_task_runs"
    assert static["run_task_in_process_params"][:3] == ["ti", "task", "client"], (
        f"{hook}: supervisor.run_task_in_process changed: {static['run_task_in_process_params']}"
    )
    assert static["run_task_looks_it_up"], (
        f"{hook}: dag.test()'s _run_task no longer imports run_task_in_process at each call"
    )
    expected = {
        "dag_id": DAG_ID,
        "run_id": probe["run"]["expected"],
        "task_id": "probe",
        "try_number": 1,
        "map_index": -1,
    }
    assert probe["tis"] == [expected], f"{hook}: the wrapper saw {probe['tis']}"


def test_hook_add_log_processor(probe):
    procs = probe["processors"]
    hook = "airflow_compat.add_log_processor"
    assert procs["last_renders"], f"{hook}: the last structlog processor is not a renderer: {procs}"
    assert procs["probe_count"] == 1, f"{hook}: added twice: {procs}"
    assert procs["tee"] < procs["probe"] == procs["count"] - 2, f"{hook}: {procs}"
    # the task's own log event passed through it, with Airflow's fields added
    assert len(probe["seen"]) == 1, f"{hook}: the task's log event was not seen: {probe['seen']}"
    event = probe["seen"][0]
    assert event["level"] == "info" and event.get("timestamp"), f"{hook}: {event}"
    assert "logger" in event, f"{hook}: Airflow's logger name missing: {event}"


def test_hook_ensure_pool(probe):
    hook = "airflow_compat.ensure_pool"
    params = probe["static"]["create_or_update_pool_params"]
    assert {"name", "slots", "description", "include_deferred"} <= set(params), (
        f"{hook}: Pool.create_or_update_pool changed: {params}"
    )
    pool = airflow_compat.read_pool(probe["home"], POOL)
    assert pool == {"pool": POOL, "slots": 3, "description": "probe pool", "include_deferred": 0}


# ------------------------------------------------------ metadata DB readers
def test_metadata_schema_has_every_column_the_readers_use(probe):
    conn = airflow_compat.metadata_db(probe["home"])
    assert conn is not None
    with conn:
        missing = {
            table: sorted(
                set(columns) - {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
            )
            for table, columns in airflow_compat.METADATA_SCHEMA.items()
        }
    conn.close()
    missing = {table: cols for table, cols in missing.items() if cols}
    assert not missing, f"airflow_compat.METADATA_SCHEMA: missing in Airflow's DB: {missing}"


def test_read_dag_run(probe):
    row = airflow_compat.read_dag_run(probe["home"], DAG_ID, probe["run"]["expected"])
    assert row is not None, "airflow_compat.read_dag_run: the run is not found"
    assert row["state"] == "success" and row["start_date"] and row["end_date"]
    assert json.loads(row["conf"]) == {"probe": 1}
    assert airflow_compat.read_dag_run(probe["home"], DAG_ID, "no-such-run") is None


def test_read_task_instances(probe):
    rows = airflow_compat.read_task_instances(probe["home"], DAG_ID, probe["run"]["expected"])
    assert [(r["task_id"], r["state"], r["try_number"]) for r in rows] == [
        ("probe", "success", 1)
    ], f"airflow_compat.read_task_instances: {rows}"
    assert rows[0]["id"] and rows[0]["start_date"] and rows[0]["end_date"]


def test_read_xcom_value(probe):
    value = airflow_compat.read_xcom_value(
        probe["home"], DAG_ID, probe["run"]["expected"], "probe", "return_value"
    )
    assert value is not None, "airflow_compat.read_xcom_value: the task's XCom is not found"
    assert json.loads(value) == {"answer": 42}, f"airflow_compat.read_xcom_value: {value!r}"


def test_read_pool_usage(probe):
    # read inside the running task: its slot is taken
    assert probe["usage"] == {"running": 1}, f"airflow_compat.read_pool_usage: {probe['usage']}"
    assert airflow_compat.read_pool_usage(probe["home"], POOL) == {}  # finished: free again


def test_read_log_template_and_task_log_path(probe):
    home, run_id = probe["home"], probe["run"]["expected"]
    row = airflow_compat.read_log_template(home, DAG_ID, run_id)
    assert row is not None, "airflow_compat.read_log_template: no template for the run"
    assert row["filename"] == probe["conf"]["log_filename_template"]
    assert task_logs.base_log_folder(home) == Path(probe["conf"]["base_log_folder"])
    # the client's path is the one Airflow's log reader and writer use
    ours = task_logs.run_task_log_path(
        home, task_logs.base_log_folder(home), DAG_ID, run_id, "probe", 1
    )
    assert ours == probe["airflow_log"]["reader"] == probe["airflow_log"]["writer"]
    # and the runner wrote the task's log there, as JSON lines
    lines = [json.loads(line) for line in Path(ours).read_text(encoding="utf-8").splitlines()]
    assert any(rec.get("event") == HELLO and rec.get("level") == "info" for rec in lines)


def test_query_before_migration_is_empty_and_a_missing_table_after_it_raises(tmp_path):
    assert airflow_compat.query_metadata_db(tmp_path, "SELECT 1 FROM dag_run", ()) == []  # no DB
    sqlite3.connect(tmp_path / airflow_compat.METADATA_DB).close()
    assert airflow_compat.read_dag_run(tmp_path, "d", "r") is None  # not migrated yet
    with sqlite3.connect(tmp_path / airflow_compat.METADATA_DB) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32))")
    conn.close()
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        airflow_compat.read_dag_run(tmp_path, "d", "r")  # migrated, yet no dag_run: loud


# ------------------------------------------------------------ the module
def test_render_log_filename_follows_airflows_two_template_kinds():
    kwargs = dict(dag_id="d", run_id="r", task_id="t", try_number=2)
    assert (
        task_logs.render_log_filename(
            "{dag_id}/{task_id}/{run_id}/{logical_date}/{try_number}.log",
            logical_date="2026-01-02 03:04:05.000006",
            **kwargs,
        )
        == "d/t/r/2026-01-02T03:04:05.000006+00:00/2.log"
    )
    jinja = (
        "dag_id={{ ti.dag_id }}/run_id={{ ti.run_id }}/task_id={{ ti.task_id }}/"
        "{% if ti.map_index >= 0 %}map_index={{ ti.map_index }}/{% endif %}"
        "attempt={{ try_number|default(ti.try_number) }}.log"
    )
    assert task_logs.render_log_filename(jinja, map_index=3, **kwargs) == (
        "dag_id=d/run_id=r/task_id=t/map_index=3/attempt=2.log"
    )


def test_the_client_modules_import_no_airflow():
    code = textwrap.dedent(
        """
        import sys
        import airflow_aml.backends.embedded, airflow_aml.backends.airflow_compat
        import airflow_aml.backends.task_logs
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("airflow", "jinja2")))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_no_unittest_mock_in_product_code():
    uses = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "airflow_aml").rglob("*.py")
        if re.search(
            r"^\s*(from unittest import mock|import unittest\.mock|from unittest\.mock)",
            path.read_text(encoding="utf-8"),
            re.M,
        )
    ]
    assert uses == []


def test_every_airflow_import_of_the_embedded_backend_is_public_or_in_the_compat_module():
    """Private Airflow names (``_x``, ``execution_time``, ``airflow.models``) appear only here."""
    private = re.compile(
        r"^\s*(from airflow(\.\w+)*\.(_\w+|execution_time|models)\b|import airflow\.models)"
        r"|\._api_client\b|generate_run_id",
        re.M,
    )
    offenders = {
        name: [m.group(0).strip() for m in private.finditer(text)]
        for name in ("embedded.py", "embedded_runner.py", "task_logs.py")
        if private.search(text := (ROOT / "airflow_aml" / "backends" / name).read_text("utf-8"))
    }
    assert offenders == {}


# -------------------------------------------- concurrent dag.test() of a new DAG
RACE_DAG_ID = "aml_compat_race"

_RACE_DAG = f'''
"""A new one-task DAG that two processes run with dag.test() at once."""
from airflow.sdk import DAG, BaseOperator


class Noop(BaseOperator):
    def execute(self, context):
        return None


with DAG("{RACE_DAG_ID}", schedule=None) as dag:
    Noop(task_id="noop")
'''

# One racer, as a runner runs a run: dag_test_with_run_id after serialise_dag_writes.
# Airflow's DAG sync finds the DAG rows that exist (SELECT), then inserts the missing
# ones (_create_orm_dags): each racer waits there, having found no row for the new DAG,
# until the other one got there too (or 8 s passed), so both insert unless a lock keeps
# the second out of the sync until the first committed.
_RACER = f"""
import os, sys, time, uuid
from pathlib import Path

home = Path(os.environ["AIRFLOW_HOME"])
from airflow_aml.backends.airflow_home import ensure_database
ensure_database(home)

import airflow.dag_processing.collection as collection
from airflow.sdk import timezone

barrier, me = Path(sys.argv[1]), sys.argv[2]
create = collection._create_orm_dags

def racing_create(*args, dags, **kwargs):
    dags = list(dags)
    if any(d.dag_id == "{RACE_DAG_ID}" for d in dags):
        (barrier / me).write_text("found no row")
        deadline = time.monotonic() + 8
        while len(list(barrier.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.005)
    yield from create(*args, dags=dags, **kwargs)

collection._create_orm_dags = racing_create
start = Path(sys.argv[3])
while not start.exists():
    time.sleep(0.01)

from airflow_aml.backends import airflow_compat
airflow_compat.serialise_dag_writes(home / "dag-sync.lock")
sys.path.insert(0, str(home / "dags"))
import aml_compat_race_dag as race_dag

dr = airflow_compat.dag_test_with_run_id(
    race_dag.dag, str(uuid.uuid4()), run_conf={{}}, logical_date=timezone.utcnow()
)
print("state:", dr.state)
"""


def test_hook_serialise_dag_writes_two_runners_run_one_new_dag_at_once(probe, tmp_path):
    """Issue #10 item 4: two runners' dag.test() of one NEW DAG at once both succeed
    (without the hook, one fails with ``UNIQUE constraint failed: dag.dag_id``)."""
    home = probe["home"]
    (home / "dags" / "aml_compat_race_dag.py").write_text(_RACE_DAG, encoding="utf-8")
    env = airflow_env(home, home.parent / "registry")
    for key in [k for k in env if k.startswith("PYTEST")]:
        env.pop(key)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    barrier, start = tmp_path / "barrier", tmp_path / "start"
    barrier.mkdir()
    racers = [
        subprocess.Popen(  # noqa: S603 - fixed argument list
            [sys.executable, "-c", _RACER, str(barrier), name, str(start)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    try:
        start.write_text("go")
        outs = [r.communicate(timeout=300) for r in racers]
    finally:
        for r in racers:
            if r.poll() is None:
                r.kill()
    hook = "airflow_compat.serialise_dag_writes"
    for racer, (out, err) in zip(racers, outs, strict=True):
        assert racer.returncode == 0 and "state: success" in out, (
            f"{hook}: a runner's dag.test() of the new DAG failed:\n{err[-4000:]}"
        )
    # The race was really set up: a racer reached Airflow's insert of the new DAG. (With
    # the lock, the second racer finds the first one's row and inserts nothing.)
    assert {p.name for p in barrier.iterdir()} & {"a", "b"}


def test_hook_parsing_context():
    """The block's DAG is what ``airflow.sdk.get_parsing_context()`` reports, and the
    context before it is back afterwards (also after an exception)."""
    from airflow.sdk import get_parsing_context

    hook = "airflow_compat.parsing_context"
    assert get_parsing_context().dag_id is None
    with airflow_compat.parsing_context("outer"):
        assert get_parsing_context().dag_id == "outer", f"{hook}: Airflow reads another variable"
        with pytest.raises(RuntimeError), airflow_compat.parsing_context("inner"):
            assert get_parsing_context().dag_id == "inner"
            raise RuntimeError("boom")
        assert get_parsing_context().dag_id == "outer"
    assert get_parsing_context().dag_id is None
