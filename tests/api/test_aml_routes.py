"""The AML-compatible REST routes of the plugin, on a real Airflow api-server."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from airflow_aml.pipeline.core import (
    Pipeline,
    PipelineData,
    PipelineEndpoint,
    PipelineParameter,
    PipelineRun,
)
from airflow_aml.pipeline.steps import PythonScriptStep

pytestmark = pytest.mark.e2e

ECHO = """
import json, os, sys
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
json.dump({"args": sys.argv[2:]}, open(os.path.join(out, "seen.json"), "w"))
"""


@pytest.fixture(scope="module")
def published(ws, tmp_path_factory):
    src = tmp_path_factory.mktemp("rest_echo")
    (src / "echo.py").write_text(ECHO)
    out = PipelineData("seen")
    count = PipelineParameter("count", 3)
    flag = PipelineParameter("flag", False)
    step = PythonScriptStep(
        "echo.py",
        name="echo",
        source_directory=str(src),
        arguments=[out, count, flag],
        outputs=[out],
    )
    return Pipeline(ws, [step]).publish(name="rest-echo", description="REST", version="1")


def _path(pp) -> str:
    return pp.endpoint.split("/aml/", 1)[1]


def _seen(ws, run) -> dict:
    ref = run.find_step_run("echo")[0].get_output_data("seen")
    return json.loads(
        (Path(ws.get_default_datastore().root) / ref.path_on_datastore / "seen.json").read_text()
    )


def test_submit_published_pipeline_with_string_parameters(ws, ui_server, published):
    url = f"{ui_server.base}/aml/{_path(published)}"
    body = {
        "ExperimentName": "rest_exp",
        "ParameterAssignments": {"count": "9", "flag": "true"},
        "Description": "from REST",
        "RunSource": "SDK",
        "tags": {"who": "ci"},
    }
    resp = httpx.post(url, json=body, headers=ui_server.headers(), timeout=30)
    assert resp.status_code == 200, resp.text
    record = resp.json()
    assert record["ExperimentName"] == "rest_exp" and record["PipelineId"] == published.id
    assert record["ParameterAssignments"] == {"count": 9, "flag": True}
    run = PipelineRun.get(ws, record["Id"])
    assert run.experiment.name == "rest_exp"
    assert run.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"
    assert _seen(ws, run) == {"args": ["9", "True"]}
    assert run.get_tags() == {"who": "ci"}
    got = httpx.get(
        f"{ui_server.base}/aml/{_path(published).rsplit('/PipelineSubmit', 1)[0]}/{record['Id']}",
        headers=ui_server.headers(),
        timeout=30,
    )
    assert got.status_code == 200 and got.json()["Status"] == "Finished"


def test_endpoint_routes_by_id_version_and_name(ws, ui_server, published):
    endpoint = PipelineEndpoint.publish(
        ws, name="rest-endpoint", description="d", pipeline=published
    )
    base = f"{ui_server.base}/aml/{endpoint.endpoint.split('/aml/', 1)[1]}"
    prefix = base.rsplit("/Id/", 1)[0]
    body = {"ExperimentName": "rest_ep", "ParameterAssignments": {"count": "4"}}
    for url in (
        base,
        f"{base}/0",
        f"{base}?pipelineVersion=0",
        f"{prefix}/Name?name=rest-endpoint&pipelineVersion=0",
    ):
        resp = httpx.post(url, json=body, headers=ui_server.headers(), timeout=30)
        assert resp.status_code == 200, (url, resp.text)
        assert resp.json()["PipelineEndpointId"] == endpoint.id
    run = PipelineRun.get(ws, resp.json()["Id"])
    assert run.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"
    assert _seen(ws, run) == {"args": ["4", "False"]}
    missing = httpx.post(f"{base}/7", json=body, headers=ui_server.headers(), timeout=30)
    assert missing.status_code == 404
    assert "has no version '7'; versions: ['0']" in missing.json()["error"]["message"]


def test_routes_require_airflow_auth(ui_server, published):
    url = f"{ui_server.base}/aml/{_path(published)}"
    body = {"ExperimentName": "x"}
    assert httpx.post(url, json=body, timeout=30).status_code == 401
    bad = {"Authorization": "Bearer not-a-jwt"}
    assert httpx.post(url, json=body, headers=bad, timeout=30).status_code in (401, 403)
    run_url = url.rsplit("/PipelineSubmit", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    assert httpx.get(run_url, timeout=30).status_code == 401


@pytest.mark.parametrize(
    ("mutate", "status", "reason"),
    [
        (
            lambda u, b: (u.replace("PipelineSubmit/", "PipelineSubmit/0") + "x", b),
            404,
            "not found",
        ),
        (
            lambda u, b: (u, {**b, "ParameterAssignments": {"count": "lots"}}),
            400,
            "'lots' cannot be converted to integer",
        ),
        (lambda u, b: (u, {"ParameterAssignments": {}}), 400, "ExperimentName is required"),
        (lambda u, b: (u, {**b, "ExperimentName": "x; rm -rf /"}), 400, "experiment name"),
        (lambda u, b: (u, {**b, "ExperimentName": "../../etc/passwd"}), 400, "experiment name"),
        (lambda u, b: (u, {**b, "ParameterAssignments": ["count"]}), 400, "must be an object"),
        (
            lambda u, b: (u, {**b, "DataPathAssignments": {"p": {"DataStoreName": "nope"}}}),
            400,
            "unknown datastore 'nope'",
        ),
    ],
)
def test_bad_input_is_a_4xx_with_a_reason(ui_server, published, mutate, status, reason):
    url, body = mutate(f"{ui_server.base}/aml/{_path(published)}", {"ExperimentName": "bad"})
    resp = httpx.post(url, json=body, headers=ui_server.headers(), timeout=30)
    assert resp.status_code == status, resp.text
    assert reason in resp.json()["error"]["message"]


def test_undeclared_assignments_are_ignored_and_named(ws, ui_server, published):
    """The AML service accepts assignments of parameters a pipeline does not declare."""
    url = f"{ui_server.base}/aml/{_path(published)}"
    body = {
        "ExperimentName": "rest_ignored",
        "ParameterAssignments": {"cuont": "1", "count": "5"},
        "DataPathAssignments": {"nopath": {"DataStoreName": "workspaceblobstore"}},
    }
    resp = httpx.post(url, json=body, headers=ui_server.headers(), timeout=30)
    assert resp.status_code == 200, resp.text
    record = resp.json()
    assert record["IgnoredParameterAssignments"] == ["cuont", "nopath"]
    assert record["ParameterAssignments"] == {"count": 5, "flag": False}
    run = PipelineRun.get(ws, record["Id"])
    assert run.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"
    assert _seen(ws, run) == {"args": ["5", "False"]}
    assert run._record["conf"]["azureml"]["ignored_parameters"] == ["cuont", "nopath"]
    assert run.get_properties()["airflow_aml.ignoredParameterAssignments"] == "cuont,nopath"
    assert run.get_properties()["azureml.pipelineid"] == published.id
    note = httpx.get(
        f"{ui_server.base}/api/v2/dags/{published.dag_id}/dagRuns/{record['Id']}",
        headers=ui_server.headers(),
        timeout=30,
    ).json()["note"]
    assert note.endswith("were ignored: cuont, nopath")


def test_malformed_and_oversized_bodies(ui_server, published):
    url = f"{ui_server.base}/aml/{_path(published)}"
    resp = httpx.post(url, content=b"{not json", headers=ui_server.headers(), timeout=30)
    assert resp.status_code == 400 and "malformed JSON" in resp.json()["error"]["message"]
    big = b'{"ExperimentName": "x", "Description": "' + b"a" * (2 << 20) + b'"}'
    resp = httpx.post(url, content=big, headers=ui_server.headers(), timeout=30)
    assert resp.status_code == 413


def test_disabled_pipeline_and_unknown_endpoint(ws, ui_server, published):
    published.disable()
    try:
        resp = httpx.post(
            f"{ui_server.base}/aml/{_path(published)}",
            json={"ExperimentName": "x"},
            headers=ui_server.headers(),
            timeout=30,
        )
        assert resp.status_code == 409 and "disabled" in resp.json()["error"]["message"]
    finally:
        published.enable()
    prefix = _path(published).rsplit("/PipelineSubmit", 1)[0]
    resp = httpx.post(
        f"{ui_server.base}/aml/{prefix}/PipelineEndpointSubmit/Name?name=nope",
        json={"ExperimentName": "x"},
        headers=ui_server.headers(),
        timeout=30,
    )
    assert resp.status_code == 404 and "'nope' not found" in resp.json()["error"]["message"]


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"Description": {"text": "x"}}, "Description must be a string, not an object"),
        ({"RunSource": ["SDK"]}, "RunSource must be a string, not an array"),
        ({"RunType": 3}, "RunType must be a string, not a number"),
        (
            {"ParameterAssignments": {"count": {"value": 1}}},
            "ParameterAssignments.count: must be a string, number or boolean, not an object",
        ),
        (
            {"ParameterAssignments": {"count": [1, 2]}},
            "ParameterAssignments.count: must be a string, number or boolean, not an array",
        ),
        (
            {"DataPathAssignments": {"p": {"RelativePath": "x"}}},
            "DataPathAssignments.p.DataStoreName is required",
        ),
        ({"DataPathAssignments": {"p": "x"}}, "DataPathAssignments.p must be an object"),
        ({"tags": {"who": 1}}, "tags.who must be a string, not a number"),
        ({"Tags": ["who"]}, "Tags must be an object, not an array"),
        ({"ContinueRunOnStepFailure": "yes"}, "ContinueRunOnStepFailure must be true or false"),
        ({"ExperimentName": 7}, "ExperimentName must be a string, not a number"),
    ],
)
def test_bad_body_fields_are_a_400_naming_the_field(ui_server, published, extra, reason):
    """Bodies are validated by the PipelineSubmissionInfo model: 400 (not 422), field named."""
    url = f"{ui_server.base}/aml/{_path(published)}"
    body = {"ExperimentName": "bad_body", **extra}
    resp = httpx.post(url, json=body, headers=ui_server.headers(), timeout=30)
    assert resp.status_code == 400, resp.text
    assert reason in resp.json()["error"]["message"], resp.text


def test_bodies_that_are_not_objects(ui_server, published):
    url = f"{ui_server.base}/aml/{_path(published)}"
    for content in (b"[1, 2]", b'"x"', b"null"):
        resp = httpx.post(
            url,
            content=content,
            headers={**ui_server.headers(), "Content-Type": "application/json"},
            timeout=30,
        )
        assert resp.status_code == 400, (content, resp.text)
        assert "the body must be a JSON object" in resp.json()["error"]["message"]


def test_unknown_keys_are_accepted(ws, ui_server, published):
    """Keys the model does not know are kept, as the AML service accepts them."""
    url = f"{ui_server.base}/aml/{_path(published)}"
    body = {
        "ExperimentName": "rest_extra_keys",
        "ParameterAssignments": {"count": 2, "flag": True},  # JSON scalars, not only strings
        "EnableNotification": False,
        "SomethingNew": {"nested": [1]},
    }
    resp = httpx.post(url, json=body, headers=ui_server.headers(), timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.json()["ParameterAssignments"] == {"count": 2, "flag": True}
    run = PipelineRun.get(ws, resp.json()["Id"])
    assert run.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"


def test_chunked_oversized_body_is_a_413(ui_server, published):
    """A body that declares no length is cut off once it passes 1 MiB."""
    url = f"{ui_server.base}/aml/{_path(published)}"

    def chunks():
        yield b'{"ExperimentName": "x", "Description": "'
        for _ in range(40):
            yield b"a" * 65536
        yield b'"}'

    resp = httpx.post(url, content=chunks(), headers=ui_server.headers(), timeout=30)
    assert resp.status_code == 413, resp.text
    assert "larger than 1048576 bytes" in resp.json()["error"]["message"]


@pytest.mark.parametrize("page", ["docs", "redoc", "openapi.json"])
def test_docs_routes_require_airflow_auth(ui_server, page):
    url = f"{ui_server.base}/aml/{page}"
    assert httpx.get(url, timeout=30).status_code == 401
    bad = {"Authorization": "Bearer not-a-jwt"}
    assert httpx.get(url, headers=bad, timeout=30).status_code in (401, 403)
    resp = httpx.get(url, headers=ui_server.headers(), timeout=30)
    assert resp.status_code == 200, resp.text
    if page == "openapi.json":
        doc = resp.json()
        assert "PipelineSubmissionInfo" in doc["components"]["schemas"]
        assert any(p.endswith("/PipelineSubmit/{pipeline_id}") for p in doc["paths"])
    else:
        assert "/aml/openapi.json" in resp.text  # the mounted path, not /openapi.json


def test_docs_accept_the_ui_login_cookie(ui_server):
    """A browser logged into the Airflow UI sends its JWT as the _token cookie."""
    resp = httpx.get(
        f"{ui_server.base}/aml/openapi.json",
        headers={"Cookie": f"_token={ui_server.token}"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text


def _nested(depth: int, inner: bytes = b"1") -> bytes:
    return b"[" * depth + inner + b"]" * depth


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"[" * 50_000, "nests arrays or objects more than 32 levels deep"),
        (_nested(25_000), "nests arrays or objects more than 32 levels deep"),
        (
            b'{"ExperimentName": "x", "ParameterAssignments": {"count": ' + _nested(5000) + b"}}",
            "more than 32 levels deep",
        ),
        (
            b'{"ExperimentName": "x", "ParameterAssignments": {"count": '
            + b'{"a": ' * 600
            + b"1"
            + b"}" * 600
            + b"}}",
            "more than 32 levels deep",
        ),
        (b'{"ExperimentName": "x", "SomethingNew": ' + _nested(100) + b"}", "32 levels deep"),
        (
            json.dumps({"ExperimentName": "x", "Description": "d" * 200_000}).encode(),
            "Description is a string of 200000 characters: at most 131071",
        ),
        (
            json.dumps(
                {"ExperimentName": "x", "ParameterAssignments": {"count": "9" * 900_000}}
            ).encode(),
            "ParameterAssignments.count is a string of 900000 characters",
        ),
        (
            json.dumps(
                {"ExperimentName": "x", "ParameterAssignments": {f"p{i}": "1" for i in range(1001)}}
            ).encode(),
            "ParameterAssignments is an object of 1001 entries: at most 1000",
        ),
        (
            json.dumps({"ExperimentName": "x", "Extra": list(range(2000))}).encode(),
            "Extra is an array of 2000 entries",
        ),
        (
            json.dumps({"ExperimentName": "x", "k" * 200_000: 1}).encode(),
            "a key of the body is a string of 200000 characters",
        ),
    ],
)
def test_bodies_of_a_refused_shape_are_a_400_with_a_reason(ui_server, published, content, reason):
    """Before: "There was an error parsing the body" (not our error format, no reason), a
    500 (RecursionError), or a dropped connection, depending on where the nesting was."""
    url = f"{ui_server.base}/aml/{_path(published)}"
    headers = {**ui_server.headers(), "Content-Type": "application/json"}
    resp = httpx.post(url, content=content, headers=headers, timeout=30)
    assert resp.status_code == 400, resp.text[:500]
    assert reason in resp.json()["error"]["message"], resp.text[:500]


def test_an_integer_of_5000_digits_is_a_400(ui_server, published):
    """Before: int() refused it with a bare ValueError (Python's 4300-digit limit): a 500."""
    url = f"{ui_server.base}/aml/{_path(published)}"
    body = {"ExperimentName": "rest_values", "ParameterAssignments": {"count": "1" * 5000}}
    resp = httpx.post(url, json=body, headers=ui_server.headers(), timeout=30)
    assert resp.status_code == 400, resp.text
    assert "cannot be converted to integer" in resp.json()["error"]["message"]
