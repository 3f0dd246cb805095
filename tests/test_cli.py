"""``airflow-aml ui`` serves the embedded home with Airflow's login: runs are visible there."""

from __future__ import annotations

import httpx
import pytest

from airflow_aml.pipeline.core import Pipeline, PipelineData
from airflow_aml.pipeline.steps import PythonScriptStep

pytestmark = pytest.mark.e2e


def test_env_prints_the_home(ws, capsys):
    from airflow_aml.cli import main

    assert main(["--home", str(ws.home), "env"]) == 0
    out = capsys.readouterr().out
    assert f"export AIRFLOW_HOME={ws.airflow_home}" in out


def test_ui_requires_login(ui_server):
    assert httpx.get(f"{ui_server.base}/api/v2/dags", timeout=10).status_code == 401
    assert (
        httpx.get(
            f"{ui_server.base}/api/v2/dags", headers=ui_server.headers(), timeout=10
        ).status_code
        == 200
    )


def test_ui_shows_embedded_runs(ws, ui_server, make_source, experiment_name):
    src = make_source(
        {
            "w.py": "import os,sys\nos.makedirs(sys.argv[1], exist_ok=True)\n"
            "open(os.path.join(sys.argv[1], 'f'), 'w').write('hi')\n"
        }
    )
    out = PipelineData("out")
    step = PythonScriptStep(
        "w.py", name="write", arguments=[out], outputs=[out], source_directory=str(src)
    )
    run = Pipeline(ws, [step]).submit(experiment_name)
    assert run.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"

    base, headers = (
        f"{ui_server.base}/api/v2/dags/{experiment_name}/dagRuns/{run.id}",
        ui_server.headers(),
    )
    dr = httpx.get(base, headers=headers, timeout=10)
    assert dr.status_code == 200 and dr.json()["state"] == "success"
    xcom = httpx.get(
        f"{base}/taskInstances/write/xcomEntries/out", headers=headers, timeout=10
    ).json()
    assert xcom["value"]["kind"] == "airflow_aml.artifact"
    assert xcom["value"]["path"] == f"azureml/{run.id}/write/out"
    logs = httpx.get(f"{base}/taskInstances/write/logs/1", headers=headers, timeout=10)
    assert logs.status_code == 200 and "Running step 'write'" in logs.text
