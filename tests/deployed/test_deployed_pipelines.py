"""airflow-aml against a running Airflow (scheduler, dag-processor, api-server, PostgreSQL).

Submit from the Python API; publish; trigger by plain Airflow REST, by the
AML-compatible plugin routes and by the Python API, checking that the steps
saw the values; enable/disable; endpoint versions and default switching;
the auth matrix of the plugin routes; bad REST input.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_aml.core import Experiment, Workspace
from airflow_aml.exceptions import UserErrorException, WorkspaceException
from airflow_aml.pipeline.core import (
    Pipeline,
    PipelineData,
    PipelineEndpoint,
    PipelineParameter,
    PipelineRun,
)
from airflow_aml.pipeline.steps import PythonScriptStep

pytestmark = pytest.mark.deployed

ECHO = """
import json, os, sys
from airflow_aml.core import Run
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
json.dump({"args": sys.argv[2:]}, open(os.path.join(out, "seen.json"), "w"))
Run.get_context().log("n_args", len(sys.argv) - 2)
print("echo saw", sys.argv[2:])
"""
DOUBLE = """
import json, os, sys
seen = json.load(open(os.path.join(sys.argv[1], "seen.json")))
os.makedirs(sys.argv[2], exist_ok=True)
open(os.path.join(sys.argv[2], "double.txt"), "w").write(" ".join(seen["args"] * 2))
"""


@pytest.fixture(scope="module")
def dws(deployed_airflow, tmp_path_factory) -> Iterator[Workspace]:
    """A deployed workspace, configured the way users do it: config file + env secrets."""
    folder = tmp_path_factory.mktemp("project")
    (folder / ".azureml").mkdir()
    (folder / ".azureml" / "config.json").write_text(
        json.dumps(
            {
                "workspace_name": "deployed",
                "home": "../client-home",  # the client's own: no disk shared with Airflow
                "registry": deployed_airflow.registry,
                "datastore": deployed_airflow.datastore,
                "airflow": {"api_url": deployed_airflow.api_url},
            }
        )
    )
    secrets = {
        "AIRFLOW_AML_API_USERNAME": "admin",
        "AIRFLOW_AML_API_PASSWORD": deployed_airflow.users["admin"],
        "AIRFLOW_CONN_AML_BLOB": deployed_airflow.azurite.conn_json(),
    }
    saved = {k: os.environ.get(k) for k in secrets}
    os.environ.update(secrets)
    try:
        ws = Workspace.from_config(path=str(folder))
        assert ws.mode == "deployed" and ws.registry_location == deployed_airflow.registry
        assert ws.home == (folder / "client-home").resolve()
        assert not ws.home.is_relative_to(deployed_airflow.aml_home.parent)
        yield ws
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("deployed_src")
    for name, code in (("echo", ECHO), ("double", DOUBLE)):
        (root / name).mkdir()
        (root / name / f"{name}.py").write_text(code)
    return {"echo": root / "echo", "double": root / "double"}


def _pipeline(ws, sources) -> Pipeline:
    seen, doubled = PipelineData("seen"), PipelineData("doubled")
    count = PipelineParameter("count", 3)
    label = PipelineParameter("label", "base")
    echo = PythonScriptStep(
        "echo.py",
        name="echo",
        source_directory=str(sources["echo"]),
        arguments=[seen, count, label],
        outputs=[seen],
    )
    double = PythonScriptStep(
        "double.py",
        name="double",
        source_directory=str(sources["double"]),
        arguments=[seen, doubled],
        inputs=[seen],
        outputs=[doubled],
    )
    assert echo.name == "echo"
    return Pipeline(ws, [double])


def _read_output(ws, run, step: str, output: str, name: str) -> str:
    """A file of a step output, downloaded from the (blob) datastore as a client does."""
    ref = run.find_step_run(step)[0].get_output_data(output)
    assert ref.datastore_name == "workspaceblobstore"
    folder = ref.download(str(ws.home / "downloads" / run.id))
    return (Path(folder) / name).read_text()


def _seen(ws, run) -> list[str]:
    return json.loads(_read_output(ws, run, "echo", "seen", "seen.json"))["args"]


def test_config_never_holds_secrets(tmp_path):
    (tmp_path / "config.json").write_text(
        json.dumps(
            {"workspace_name": "x", "airflow": {"api_url": "http://127.0.0.1:1", "password": "pw"}}
        )
    )
    with pytest.raises(WorkspaceException, match="keep secrets out of config files"):
        Workspace.from_config(path=str(tmp_path / "config.json"))


def test_submit_from_python_api(dws, sources, deployed_airflow):
    run = Experiment(dws, "deployed_submit").submit(
        _pipeline(dws, sources), pipeline_parameters={"count": 5}
    )
    status = run.wait_for_completion(show_output=False, timeout_seconds=300, raise_on_error=False)
    assert status == "Finished", deployed_airflow.log_tail()
    assert _seen(dws, run) == ["5", "base"]
    steps = {s.name: s for s in run.get_steps()}
    assert {n: s.get_status() for n, s in steps.items()} == {
        "echo": "Finished",
        "double": "Finished",
    }
    assert steps["echo"].get_metrics() == {"n_args": 2}
    assert "Running step 'echo'" in steps["echo"].get_job_log()
    assert "echo saw ['5', 'base']" in steps["echo"].get_stdout_log()
    assert _read_output(dws, run, "double", "doubled", "double.txt") == "5 base 5 base"
    spec = dws._backend.registry_store.read_spec("deployed_submit")
    assert all(s.source_directory.startswith(deployed_airflow.registry) for s in spec.steps)

    again = Experiment(dws, "deployed_submit").submit(
        _pipeline(dws, sources), pipeline_parameters={"count": 5}
    )
    assert again.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"
    assert all(s.is_reused for s in again.get_steps())
    ti = deployed_airflow.request(
        "GET", f"/api/v2/dags/deployed_submit/dagRuns/{again.id}/taskInstances/echo"
    ).json()
    assert ti["state"] == "success"  # a reused step succeeds with the earlier outputs ...
    assert ti["note"].startswith("Reused:") and f"of run {run.id}" in ti["note"]  # ... and says so


def test_amlcompute_steps_run_in_their_airflow_pool(dws, sources, deployed_airflow):
    """AmlCompute(max_nodes=N) is an Airflow pool of N slots: submit creates it through the
    REST API before the DAG exists (else the steps would wait for a missing pool forever),
    and a later submit resizes it after ``update(max_nodes=...)``."""
    from airflow_aml.core.compute import AmlCompute, ComputeTarget

    cluster = ComputeTarget.create(
        dws, "deployed-cpu", AmlCompute.provisioning_configuration(max_nodes=2)
    )
    assert cluster.pool == "aml_deployed-cpu"
    deployed_airflow.request("DELETE", f"/api/v2/pools/{cluster.pool}")  # a fresh start

    def submit(count: int) -> PipelineRun:
        out = PipelineData("seen")
        step = PythonScriptStep(
            "echo.py",
            name="echo",
            source_directory=str(sources["echo"]),
            arguments=[out, PipelineParameter("count", count), "pooled"],
            outputs=[out],
            compute_target=cluster,
            allow_reuse=False,
        )
        return Experiment(dws, "deployed_pooled").submit(Pipeline(dws, [step]))

    run = submit(1)
    status = run.wait_for_completion(show_output=False, timeout_seconds=300, raise_on_error=False)
    assert status == "Finished", deployed_airflow.log_tail()
    pool = deployed_airflow.request("GET", f"/api/v2/pools/{cluster.pool}").json()
    assert (pool["slots"], pool["description"]) == (2, "AmlCompute deployed-cpu"), pool
    ti = deployed_airflow.request(
        "GET", f"/api/v2/dags/deployed_pooled/dagRuns/{run.id}/taskInstances/echo"
    ).json()
    assert ti["pool"] == cluster.pool and ti["state"] == "success", ti
    assert cluster.get_status().current_node_count == 2  # read back from the pool

    cluster.update(max_nodes=3)
    assert cluster.get_status().allocation_state == "Resizing"  # until the next run
    again = submit(2)
    assert again.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"
    assert deployed_airflow.request("GET", f"/api/v2/pools/{cluster.pool}").json()["slots"] == 3
    assert cluster.get_status().allocation_state == "Steady"


def test_rest_client_logs_in_again_and_names_airflows_reason(dws, deployed_airflow):
    """The official client's calls: an expired JWT is replaced once; errors carry the status
    and Airflow's own reason."""
    import configparser
    import time

    import jwt

    from airflow_aml.backends.deployed import AirflowApiError

    client = dws._backend.client
    assert dws._auth is None  # environment credentials: the client logs in itself
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(deployed_airflow.airflow_home / "airflow.cfg")
    secret = cfg["api_auth"]["jwt_secret"]
    token = deployed_airflow.token("admin")
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    claims.update(iat=int(time.time()) - 7200, nbf=int(time.time()) - 7200)
    claims["exp"] = int(time.time()) - 3600
    expired = jwt.encode(claims, secret, algorithm=header["alg"], headers=header)
    client._token = expired  # Airflow answers 401 "Token Expired"
    details = client.call(client.dags.get_dag_details, "airflow_aml_registry")
    assert details.file_token and client._token not in (None, expired)
    with pytest.raises(AirflowApiError) as caught:
        client.call(client.dags.get_dag_details, "no_such_dag")
    assert caught.value.status == 404
    assert "get_dag_details('no_such_dag') failed (404)" in str(caught.value)
    assert "no_such_dag" in caught.value.reason and "not found" in caught.value.reason
    assert client.get(client.dags.get_dag_details, "no_such_dag") is None


def test_steps_never_read_the_submitting_machines_files(dws, deployed_airflow, tmp_path):
    """The source folder and input data exist only on the client: once submit() returns
    they are deleted, and the run still succeeds from the registry and the datastore."""
    import shutil

    src = tmp_path / "ephemeral_src"
    src.mkdir()
    (src / "count.py").write_text(
        "import os, sys\n"
        "words = open(os.path.join(sys.argv[1], 'in.txt')).read().split()\n"
        "os.makedirs(sys.argv[2], exist_ok=True)\n"
        "open(os.path.join(sys.argv[2], 'n.txt'), 'w').write(str(len(words)))\n"
    )
    data_dir = tmp_path / "ephemeral_data"
    data_dir.mkdir()
    (data_dir / "in.txt").write_text("one two three four")
    store = dws.get_default_datastore()
    raw = store.upload(str(data_dir), target_path=f"inputs/{tmp_path.name}", show_progress=False)
    counted = PipelineData("counted")
    step = PythonScriptStep(
        "count.py",
        name="count",
        source_directory=str(src),
        arguments=[raw.as_download(), counted],
        inputs=[raw.as_download()],
        outputs=[counted],
        allow_reuse=False,
    )
    run = Experiment(dws, "deployed_no_shared_disk").submit(Pipeline(dws, [step]))
    shutil.rmtree(src)
    shutil.rmtree(data_dir)
    status = run.wait_for_completion(show_output=False, timeout_seconds=300, raise_on_error=False)
    assert status == "Finished", run.find_step_run("count")[0].get_stderr_log()
    assert _read_output(dws, run, "count", "counted", "n.txt") == "4"


@pytest.fixture(scope="module")
def published(dws, sources):
    return _pipeline(dws, sources).publish(name="deployed-echo", description="echo", version="1")


def test_trigger_three_ways(dws, published, deployed_airflow):
    # 1. Plain Airflow REST with conf.
    resp = deployed_airflow.request(
        "POST",
        f"/api/v2/dags/{published.dag_id}/dagRuns",
        json={"logical_date": None, "conf": {"count": 11}},
    )
    assert resp.status_code == 200, resp.text
    run_id = resp.json()["dag_run_id"]
    assert deployed_airflow.wait_for_run(published.dag_id, run_id)["state"] == "success"
    echo_out = deployed_airflow.request(
        "GET",
        f"/api/v2/dags/{published.dag_id}/dagRuns/{run_id}/taskInstances/echo/xcomEntries/seen",
    ).json()["value"]
    local = dws.get_default_datastore().download(
        str(dws.home / "downloads" / run_id), prefix=echo_out["path"], show_progress=False
    )
    assert local == 1
    seen = dws.home / "downloads" / run_id / echo_out["path"] / "seen.json"
    assert json.loads(seen.read_text())["args"] == ["11", "base"]

    # 2. The AML-compatible route with string ParameterAssignments.
    path = published.endpoint.split(deployed_airflow.api_url, 1)[1]
    resp = deployed_airflow.request(
        "POST",
        path,
        json={
            "ExperimentName": "deployed_rest",
            "ParameterAssignments": {"count": "12", "label": "rest"},
        },
    )
    assert resp.status_code == 200, resp.text
    run = PipelineRun.get(dws, resp.json()["Id"])
    assert run.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"
    assert _seen(dws, run) == ["12", "rest"]
    record = deployed_airflow.request(
        "GET", path.rsplit("/PipelineSubmit", 1)[0] + f"/{run.id}"
    ).json()
    assert record["Status"] == "Finished" and record["ExperimentName"] == "deployed_rest"

    # 3. The Python API.
    run = published.submit(dws, "deployed_py", pipeline_parameters={"count": 13})
    assert run.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"
    assert _seen(dws, run) == ["13", "base"]


def test_enable_disable_pauses_the_dag(dws, published, deployed_airflow):
    published.disable()
    try:
        assert (
            deployed_airflow.request("GET", f"/api/v2/dags/{published.dag_id}").json()["is_paused"]
            is True
        )
        with pytest.raises(UserErrorException, match="disabled"):
            published.submit(dws, "deployed_py")
        path = published.endpoint.split(deployed_airflow.api_url, 1)[1]
        resp = deployed_airflow.request("POST", path, json={"ExperimentName": "x"})
        assert resp.status_code == 409 and "disabled" in resp.text
    finally:
        published.enable()
    assert (
        deployed_airflow.request("GET", f"/api/v2/dags/{published.dag_id}").json()["is_paused"]
        is False
    )


def test_endpoint_versions_and_default_switching(dws, sources, published, deployed_airflow):
    endpoint = PipelineEndpoint.publish(
        dws, name="deployed-endpoint", description="d", pipeline=published
    )
    v1 = _pipeline(dws, sources).publish(name="deployed-echo-2", version="2")
    endpoint.add_default(v1)
    assert endpoint.get_default_version() == "1"
    run = endpoint.submit("deployed_ep", pipeline_parameters={"label": "v1"})
    assert run.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"
    assert run._spec.dag_id == v1.dag_id
    prefix = endpoint.endpoint.split(deployed_airflow.api_url, 1)[1].rsplit("/Id/", 1)[0]
    resp = deployed_airflow.request(
        "POST",
        f"{prefix}/Name?name=deployed-endpoint&pipelineVersion=0",
        json={"ExperimentName": "deployed_ep"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["DagId"] == published.dag_id


def test_plugin_route_auth_matrix(published, deployed_airflow):
    path = published.endpoint.split(deployed_airflow.api_url, 1)[1]
    body = {"ExperimentName": "auth_check"}
    assert deployed_airflow.request("POST", path, user=None, json=body).status_code == 401
    bad = {"Authorization": "Bearer nope"}
    assert deployed_airflow.request(
        "POST", path, user=None, headers=bad, json=body
    ).status_code in (401, 403)
    viewer = deployed_airflow.request("POST", path, user="viewer", json=body)
    assert viewer.status_code == 403, viewer.text
    editor = deployed_airflow.request("POST", path, user="editor", json=body)
    assert editor.status_code == 200, editor.text
    record_path = path.rsplit("/PipelineSubmit", 1)[0] + f"/{editor.json()['Id']}"
    assert deployed_airflow.request("GET", record_path, user="viewer").status_code == 200
    assert deployed_airflow.request("GET", record_path, user=None).status_code == 401


def test_rest_undeclared_assignments_are_ignored_and_named(published, deployed_airflow):
    path = published.endpoint.split(deployed_airflow.api_url, 1)[1]
    body = {"ExperimentName": "ignored_x", "ParameterAssignments": {"nope": "1", "count": "2"}}
    resp = deployed_airflow.request("POST", path, json=body)
    assert resp.status_code == 200, resp.text
    assert resp.json()["IgnoredParameterAssignments"] == ["nope"]
    run = deployed_airflow.request(
        "GET", f"/api/v2/dags/{published.dag_id}/dagRuns/{resp.json()['Id']}"
    ).json()
    assert run["note"].endswith("were ignored: nope")  # set as the run is created
    assert run["conf"]["count"] == 2 and "nope" not in run["conf"]


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (
            {"ExperimentName": "x", "ParameterAssignments": {"count": "1.5"}},
            400,
            "cannot be converted to integer",
        ),
        ({"ParameterAssignments": {}}, 400, "ExperimentName is required"),
        ({"ExperimentName": "$(reboot)"}, 400, "experiment name"),
    ],
)
def test_rest_bad_input(published, deployed_airflow, body, status, reason):
    path = published.endpoint.split(deployed_airflow.api_url, 1)[1]
    resp = deployed_airflow.request("POST", path, json=body)
    assert resp.status_code == status, resp.text
    assert reason in resp.json()["error"]["message"]
