"""Published pipelines and pipeline endpoints, run through the embedded backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_aml.core import Experiment
from airflow_aml.exceptions import UserErrorException, ValidationError
from airflow_aml.pipeline.core import (
    Pipeline,
    PipelineData,
    PipelineEndpoint,
    PipelineParameter,
    PublishedPipeline,
)
from airflow_aml.pipeline.core.pipeline_endpoint import PipelineVersion
from airflow_aml.pipeline.steps import PythonScriptStep

pytestmark = pytest.mark.e2e

ECHO = """
import json, os, sys
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
json.dump({"args": sys.argv[2:], "tag": os.environ.get("AML_PARAMETER_tag")},
          open(os.path.join(out, "seen.json"), "w"))
"""


def _pipeline(ws, make_source, marker: str) -> Pipeline:
    src = make_source({"echo.py": ECHO + f"# {marker}\n"}, name=f"echo_{marker}")
    out = PipelineData("seen")
    count = PipelineParameter("count", 3)
    rate = PipelineParameter("rate", 0.5)
    flag = PipelineParameter("flag", False)
    tag = PipelineParameter("tag", "base")
    step = PythonScriptStep(
        "echo.py",
        name="echo",
        source_directory=str(src),
        arguments=[out, count, rate, flag],
        outputs=[out],
        params={"tag": tag},
    )
    return Pipeline(ws, [step], description=f"echo {marker}")


def _seen(ws, run) -> dict:
    ref = run.find_step_run("echo")[0].get_output_data("seen")
    path = Path(ws.get_default_datastore().root) / ref.path_on_datastore / "seen.json"
    return json.loads(path.read_text())


def test_publish_and_submit(ws, make_source, experiment_name):
    published = _pipeline(ws, make_source, experiment_name).publish(
        name=f"echo-{experiment_name}", description="echo it", version="1.0"
    )
    assert published.status == "Active" and published.version == "1.0"
    assert published.dag_id.startswith("aml_echo_")
    assert published.endpoint.endswith(f"/PipelineRuns/PipelineSubmit/{published.id}")
    assert PublishedPipeline.get(ws, published.id).name == f"echo-{experiment_name}"
    assert published.id in {p.id for p in PublishedPipeline.list(ws)}
    assert published.get_step_names() == ["echo"]

    run = published.submit(ws, experiment_name, pipeline_parameters={"count": 7, "tag": "x"})
    assert run.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"
    assert _seen(ws, run) == {"args": ["7", "0.5", "False"], "tag": "x"}
    assert run.experiment.name == experiment_name
    assert run.id in list(r.id for r in Experiment(ws, experiment_name).get_runs())

    with pytest.raises(ValidationError, match=r"unknown pipeline parameter\(s\) \['cnt'\]"):
        published.submit(ws, experiment_name, pipeline_parameters={"cnt": 1})

    published.disable()
    assert PublishedPipeline.get(ws, published.id).status == "Disabled"
    assert published.id not in {p.id for p in PublishedPipeline.list(ws)}
    assert published.id in {p.id for p in PublishedPipeline.list(ws, active_only=False)}
    with pytest.raises(UserErrorException, match="disabled"):
        Experiment(ws, experiment_name).submit(published)
    published.enable()
    run = Experiment(ws, experiment_name).submit(published, pipeline_parameters={"flag": True})
    assert run.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"
    assert _seen(ws, run)["args"] == ["3", "0.5", "True"]


def test_endpoint_versions_and_default(ws, make_source, experiment_name):
    v0 = _pipeline(ws, make_source, "v0").publish(name=f"p0-{experiment_name}")
    v1 = _pipeline(ws, make_source, "v1").publish(name=f"p1-{experiment_name}")
    name = f"ep-{experiment_name}"
    endpoint = PipelineEndpoint.publish(ws, name=name, description="d", pipeline=v0)
    with pytest.raises(UserErrorException, match="already exists"):
        PipelineEndpoint.publish(ws, name=name, description="d", pipeline=v1)
    endpoint.add(v1)
    versions = endpoint.list_versions()
    assert all(isinstance(v, PipelineVersion) for v in versions)  # v1 objects, not dicts
    assert [(v.version, v.pipeline.id) for v in versions] == [("0", v0.id), ("1", v1.id)]
    assert all(isinstance(v.pipeline, PublishedPipeline) for v in versions)
    assert endpoint.get_default_version() == "0"
    assert PipelineEndpoint.get(ws, name=name).get_pipeline().id == v0.id
    endpoint.set_default_version("1")
    assert PipelineEndpoint.get(ws, id=endpoint.id).default_version == "1"
    assert endpoint.get_pipeline("0").id == v0.id
    with pytest.raises(UserErrorException, match=r"no version '7'; versions: \['0', '1'\]"):
        endpoint.get_pipeline("7")

    run = endpoint.submit(experiment_name, pipeline_parameters={"tag": "ep"})
    assert run.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"
    snapshot_marker = run.find_step_run("echo")[0]
    assert _seen(ws, run)["tag"] == "ep"
    assert snapshot_marker.is_reused is False
    old = Experiment(ws, experiment_name).submit(endpoint, pipeline_version="0")
    assert old.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"
    assert old._spec.dag_id == v0.dag_id and run._spec.dag_id == v1.dag_id

    endpoint.disable()
    assert name not in {e.name for e in PipelineEndpoint.list(ws)}
    with pytest.raises(UserErrorException, match="disabled"):
        endpoint.submit(experiment_name)
    endpoint.archive()
    endpoint.reactivate(f"{name}-again")
    assert PipelineEndpoint.get(ws, name=f"{name}-again").status == "Active"


def test_publish_pipeline_from_a_run(ws, make_source, experiment_name):
    run = _pipeline(ws, make_source, "fromrun").submit(experiment_name)
    assert run.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"
    published = run.publish_pipeline(
        name=f"fromrun-{experiment_name}", description="d", version="2"
    )
    again = published.submit(ws, experiment_name)
    assert again.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"
    # Same frozen code and inputs as the run it was published from: reused.
    assert again.find_step_run("echo")[0].is_reused
