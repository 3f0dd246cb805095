"""``airflow-aml ui`` serves the embedded home: submitted runs are visible over Airflow's API."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from airflow_aml.pipeline.core import Pipeline, PipelineData
from airflow_aml.pipeline.steps import PythonScriptStep

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_env_prints_the_home(ws, capsys):
    from airflow_aml.cli import main

    assert main(["--home", str(ws.home), "env"]) == 0
    out = capsys.readouterr().out
    assert f"export AIRFLOW_HOME={ws.airflow_home}" in out


def test_ui_shows_embedded_runs(ws, make_source, experiment_name, tmp_path):
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

    port = _free_port()
    log = open(tmp_path / "ui.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_aml.cli",
            "--home",
            str(ws.home),
            "ui",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=dict(os.environ),
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (tmp_path / "ui.log").read_text()[-3000:]
            try:
                if httpx.get(f"{base}/api/v2/monitor/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "api-server did not come up"
            time.sleep(0.5)
        token = httpx.get(f"{base}/auth/token", timeout=10).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        dr = httpx.get(
            f"{base}/api/v2/dags/{experiment_name}/dagRuns/{run.id}", headers=headers, timeout=10
        )
        assert dr.status_code == 200 and dr.json()["state"] == "success"
        xcom = httpx.get(
            f"{base}/api/v2/dags/{experiment_name}/dagRuns/{run.id}/taskInstances/"
            "write/xcomEntries/out",
            headers=headers,
            timeout=10,
        ).json()
        assert xcom["value"]["kind"] == "airflow_aml.artifact"
        assert xcom["value"]["path"] == f"azureml/{run.id}/write/out"
        logs = httpx.get(
            f"{base}/api/v2/dags/{experiment_name}/dagRuns/{run.id}/taskInstances/write/logs/1",
            headers=headers,
            timeout=10,
        )
        assert logs.status_code == 200 and "Running step 'write'" in logs.text
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
        log.close()
