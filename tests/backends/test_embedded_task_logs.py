"""An embedded run through the warm runners: the DagRun is ``run.id`` and each step's task
log is Airflow's, at the file Airflow's log reader opens."""

from __future__ import annotations

import json

import pytest

from airflow_aml.backends import airflow_compat
from airflow_aml.core import Experiment
from airflow_aml.pipeline.core import Pipeline
from airflow_aml.pipeline.steps import PythonScriptStep

pytestmark = pytest.mark.e2e


def test_step_job_log_is_the_airflow_task_log(ws, make_source, experiment_name):
    src = make_source({"hello.py": "print('hello from the script')\n"})
    step = PythonScriptStep("hello.py", name="hello", source_directory=str(src))
    run = Experiment(ws, experiment_name).submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"

    dag_run = airflow_compat.read_dag_run(ws.airflow_home, experiment_name, run.id)
    assert dag_run is not None and dag_run["state"] == "success"  # run.id is the DagRun's

    (ti,) = airflow_compat.read_task_instances(ws.airflow_home, experiment_name, run.id)
    # Airflow's default [logging] log_filename_template, under the home's base_log_folder
    path = (
        ws.airflow_home
        / "logs"
        / f"dag_id={experiment_name}"
        / f"run_id={run.id}"
        / f"task_id={ti['task_id']}"
        / f"attempt={ti['try_number']}.log"
    )
    assert path.exists()
    log = run.find_step_run("hello")[0].get_job_log()
    assert log == path.read_text(encoding="utf-8")
    events = [json.loads(line) for line in log.splitlines()]
    assert any("Running step 'hello'" in str(e.get("event")) for e in events)
    assert all(e.get("timestamp") and e.get("level") for e in events)
