"""The deployed topology works end to end: parse, reparse, auth, trigger, run, logs."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
import time

import pytest

pytestmark = pytest.mark.deployed

DAG_ID = "deployed_smoke"
SMOKE_DAG = textwrap.dedent(
    '''\
    """A one-task DAG written by the deployed smoke test."""
    import pendulum

    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG

    with DAG(
        dag_id="{dag_id}",
        schedule=None,
        start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
        catchup=False,
        description="{description}",
    ):
        BashOperator(task_id="say_hi", bash_command="echo hi-from-$AIRFLOW_CTX_DAG_ID")
    '''
)


def test_components_listen_on_loopback_only(deployed_airflow):
    """DESIGN §9: every server binds 127.0.0.1; no log server listens on any interface."""
    sockets = deployed_airflow.listening_sockets()
    by_component: dict[str, set[tuple[str, int]]] = {}
    for name, _, ip, port in sockets:
        by_component.setdefault(name, set()).add((ip, port))
    api_port = int(deployed_airflow.api_url.rsplit(":", 1)[1])
    assert by_component.get("api-server") == {("127.0.0.1", api_port)}, sockets
    assert by_component.get("postgresql") == {("127.0.0.1", deployed_airflow.postgres.port)}
    assert set(by_component) <= {"api-server", "postgresql"}, sockets  # no log servers
    if shutil.which("ss"):  # the same, as the system sees it (shown with -s)
        pids = {pid for pids in deployed_airflow.pids().values() for pid in pids}
        out = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True).stdout
        ours = [line for line in out.splitlines() if any(f"pid={p}," in line for p in pids)]
        print("\n" + "\n".join(ours))
        assert ours and all(" 127.0.0.1:" in line for line in ours), ours


def test_loader_file_parsed_without_errors(deployed_airflow):
    resp = deployed_airflow.request("GET", "/api/v2/importErrors")
    assert resp.status_code == 200, resp.text
    assert resp.json()["total_entries"] == 0, resp.text
    assert (
        (deployed_airflow.dags_folder / "airflow_aml_loader.py")
        .read_text()
        .startswith("from airflow_aml.compiler.loader import dags_from_registry")
    )


def test_auth(deployed_airflow):
    """SimpleAuthManager: POST /auth/token {"username", "password"} -> 201 {"access_token"}."""
    d = deployed_airflow
    assert d.request("GET", "/api/v2/dags", user=None).status_code == 401
    for user in ("admin", "viewer", "editor"):
        assert d.request("GET", "/api/v2/dags", user=user).status_code == 200
    good = d.http.post("/auth/token", json={"username": "viewer", "password": d.users["viewer"]})
    assert good.status_code == 201 and good.json()["access_token"], good.text
    bad = d.http.post("/auth/token", json={"username": "admin", "password": "wrong"})
    assert bad.status_code == 401, bad.text
    # Passwords are the ones the fixture wrote, not generated ones; all_admins is off.
    assert d.http.get("/auth/token").status_code == 403


def test_hand_written_dag_end_to_end(deployed_airflow, record_property):
    d = deployed_airflow
    path = d.dags_folder / f"{DAG_ID}.py"
    t0 = time.monotonic()
    path.write_text(SMOKE_DAG.format(dag_id=DAG_ID, description="v1"), encoding="utf-8")
    dag = d.wait_for_dag(DAG_ID, timeout=60)
    t_parse = time.monotonic() - t0
    assert dag["is_paused"] is True

    # Reparse on request: change the file, then PUT /api/v2/parseDagFile/{file_token}.
    # The new text differs in length on purpose: Python trusts cached bytecode whose source
    # has the same size and the same mtime in whole seconds, so a same-size edit within the
    # second of the last parse would be read as the old DAG (not what this test is about).
    path.write_text(SMOKE_DAG.format(dag_id=DAG_ID, description="version 2"), encoding="utf-8")
    token = dag["file_token"]
    assert d.request("PUT", f"/api/v2/parseDagFile/{token}", user=None).status_code == 401
    assert d.request("PUT", f"/api/v2/parseDagFile/{token}", user="viewer").status_code == 403
    t1 = time.monotonic()
    resp = d.request("PUT", f"/api/v2/parseDagFile/{token}", user="editor")
    assert resp.status_code == 201, resp.text
    while d.request("GET", f"/api/v2/dags/{DAG_ID}").json()["description"] != "version 2":
        assert time.monotonic() - t1 < 30, "reparse request not honoured\n" + d.log_tail()
        time.sleep(0.1)
    t_reparse = time.monotonic() - t1

    # Unpause: viewer may not, admin may.
    unpause = {"is_paused": False}
    dag_url = f"/api/v2/dags/{DAG_ID}"
    assert d.request("PATCH", dag_url, user="viewer", json=unpause).status_code == 403
    resp = d.request("PATCH", dag_url, user="admin", json=unpause)
    assert resp.status_code == 200, resp.text
    assert resp.json()["is_paused"] is False

    # Trigger: no token 401, viewer 403, admin 200.
    body = {"logical_date": None, "conf": {}}
    runs = f"/api/v2/dags/{DAG_ID}/dagRuns"
    assert d.request("POST", runs, user=None, json=body).status_code == 401
    assert d.request("POST", runs, user="viewer", json=body).status_code == 403
    t2 = time.monotonic()
    resp = d.request("POST", runs, user="admin", json=body)
    assert resp.status_code == 200, resp.text
    run_id = resp.json()["dag_run_id"]
    run = d.wait_for_run(DAG_ID, run_id, timeout=120)
    t_run = time.monotonic() - t2
    assert run["state"] == "success", d.log_tail()

    # A second run, by the editor (the "op" role may trigger too).
    t3 = time.monotonic()
    resp = d.request("POST", runs, user="editor", json=body)
    assert resp.status_code == 200, resp.text
    run2 = d.wait_for_run(DAG_ID, resp.json()["dag_run_id"], timeout=120)
    t_run2 = time.monotonic() - t3
    assert run2["state"] == "success", d.log_tail()

    # The task log is readable through the API (no log server: the api-server reads the file).
    logs = d.request(
        "GET",
        f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/say_hi/logs/1",
        user="viewer",
    )
    assert logs.status_code == 200, logs.text
    assert f"hi-from-{DAG_ID}" in logs.text, logs.text

    timings = {
        "new file -> DAG visible": t_parse,
        "reparse request -> updated": t_reparse,
        "trigger -> success (first run)": t_run,
        "trigger -> success (second run)": t_run2,
    }
    for name, value in timings.items():
        record_property(name, round(value, 2))
    print("\n" + ", ".join(f"{k}: {v:.2f}s" for k, v in timings.items()))
    print(f"start-up: {d.timings}")
