"""``airflow-aml ui`` serves the embedded home with Airflow's login: runs are visible there."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

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
    # the XCom value is the reference of the committed output (layout-agnostic)
    output = run.find_step_run("write")[0].get_output_data("out")
    assert xcom["value"]["path"] == output.path_on_datastore
    assert run.id in output.path_on_datastore
    logs = httpx.get(f"{base}/taskInstances/write/logs/1", headers=headers, timeout=10)
    assert logs.status_code == 200 and "Running step 'write'" in logs.text


# ------------------------------------------------------------ help, version
def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "airflow_aml.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_help_is_clean_text():
    out = _run_cli("--help")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: airflow-aml")
    assert "``" not in out.stdout and ":param" not in out.stdout
    assert "ui " in out.stdout and "env " in out.stdout and "--version" in out.stdout
    ui = _run_cli("ui", "--help")
    assert ui.returncode == 0 and "``" not in ui.stdout
    assert '"admin"' in ui.stdout and "--port" in ui.stdout
    # what runs on the embedded home, and what only queues
    text = " ".join(ui.stdout.split())
    assert "runs submitted from Python and through the /aml/... REST routes run" in text
    assert "Trigger button and POST /api/v2/dags/{dag_id}/dagRuns only queue a run" in text


def test_version():
    import airflow_aml

    out = _run_cli("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"airflow-aml {airflow_aml.__version__}"


# ------------------------------------------------------- the home's address
def _tiny_pipeline(ws, src: Path):
    src.mkdir(parents=True, exist_ok=True)
    (src / "s.py").write_text("print('hi')\n")
    return Pipeline(ws, [PythonScriptStep("s.py", name="s", source_directory=str(src))])


def test_endpoints_follow_the_configured_port(tmp_path):
    from airflow_aml.backends.airflow_home import set_ui_port
    from airflow_aml.core import Workspace
    from airflow_aml.pipeline.core import PipelineEndpoint

    ws = Workspace(home=tmp_path / "home")
    assert ws.api_url == "http://127.0.0.1:8080"  # nothing configured yet
    published = _tiny_pipeline(ws, tmp_path / "src").publish(name="p", description="", version="1")
    endpoint = PipelineEndpoint.publish(ws, name="e", description="", pipeline=published)
    assert published.endpoint.startswith("http://127.0.0.1:8080/aml/pipelines/v1.0/")

    set_ui_port(ws.airflow_home, 18123)  # what `airflow-aml ui --port 18123` records
    again = Workspace(home=tmp_path / "home")
    assert ws.api_url == again.api_url == "http://127.0.0.1:18123"
    assert published.endpoint.startswith("http://127.0.0.1:18123/aml/pipelines/v1.0/")
    assert endpoint.endpoint.startswith("http://127.0.0.1:18123/aml/pipelines/v1.0/")
    assert "port = 18123" in _prepared_config(ws)


def _prepared_config(ws) -> str:
    from airflow_aml.backends.airflow_home import prepare_home

    prepare_home(ws.airflow_home)
    return (ws.airflow_home / "airflow.cfg").read_text()


def test_deployed_workspace_keeps_its_api_url(tmp_path):
    import json

    from airflow_aml.backends.airflow_home import run_link_line, set_ui_port
    from airflow_aml.core import Workspace

    cfg = tmp_path / "config.json"
    cfg.write_text(
        json.dumps(
            {"home": str(tmp_path / "home"), "airflow": {"api_url": "https://af.example:9443"}}
        )
    )
    ws = Workspace.from_config(path=str(cfg))
    set_ui_port(ws.airflow_home, 18124)
    assert ws.api_url == "https://af.example:9443"
    assert (
        run_link_line(ws, "d", "r") == "Link to Airflow UI: https://af.example:9443/dags/d/runs/r"
    )


def test_link_line_without_a_serving_ui(tmp_path, monkeypatch):
    import json

    from airflow_aml.backends.airflow_home import run_link_line, set_ui_port
    from airflow_aml.core import Workspace

    ws = Workspace(home=tmp_path / "home")
    set_ui_port(ws.airflow_home, 18125)
    line = run_link_line(ws, "exp", "run-1")
    assert "Link to Airflow UI" not in line
    assert line == (
        f"Airflow UI: not running; start it with `airflow-aml --home {ws.home} ui` "
        "to see this run at http://127.0.0.1:18125/dags/exp/runs/run-1"
    )
    # a record left by a killed server (dead pid) is not a serving UI
    (ws.airflow_home / "aml_ui.serving.json").write_text(
        json.dumps({"pid": 2**22 + 12345, "port": 18125, "url": "http://127.0.0.1:18125"})
    )
    assert run_link_line(ws, "exp", "run-1") == line
    # the default home needs no --home
    monkeypatch.setenv("AIRFLOW_AML_HOME", str(ws.home))
    assert "start it with `airflow-aml ui` to see" in run_link_line(ws, "exp", "run-1")


def test_link_line_and_endpoints_with_the_serving_ui(ws, ui_server, make_source, experiment_name):
    """A real `airflow-aml ui --port N` serves: links and endpoints name N."""
    from airflow_aml.backends.airflow_home import run_link_line

    assert ws.api_url == ui_server.base
    assert run_link_line(ws, "d", "r") == f"Link to Airflow UI: {ui_server.base}/dags/d/runs/r"
    published = _tiny_pipeline(ws, make_source({}, name="p")).publish(
        name=f"{experiment_name}-p", description="", version="1"
    )
    assert published.endpoint.startswith(f"{ui_server.base}/aml/")


def test_run_prints_the_link_of_the_serving_ui(ws, ui_server, make_source, experiment_name):
    import contextlib
    import io

    run = _tiny_pipeline(ws, make_source({}, name="p")).submit(experiment_name)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert run.wait_for_completion(show_output=True, timeout_seconds=300) == "Finished"
    link = f"Link to Airflow UI: {ui_server.base}/dags/{experiment_name}/runs/{run.id}"
    assert link in out.getvalue().splitlines()
    page = httpx.get(f"{ui_server.base}/dags/{experiment_name}/runs/{run.id}", timeout=10)
    assert page.status_code == 200  # the UI's page for the run


# ------------------------------------------------- starting and stopping ui
def test_ui_refuses_a_second_server_for_the_home(ws, ui_server, capsys):
    from airflow_aml.cli import main

    assert main(["--home", str(ws.home), "ui", "--port", "1"]) == 1
    assert f"already served at {ui_server.base}/" in capsys.readouterr().err


def test_ui_refuses_a_busy_port(tmp_path, capsys):
    from airflow_aml.backends.airflow_home import ui_port
    from airflow_aml.cli import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["--home", str(tmp_path / "home"), "ui", "--port", str(port)]) == 1
    assert f"port {port} on 127.0.0.1 is in use" in capsys.readouterr().err
    assert ui_port(tmp_path / "home" / "airflow") == 8080  # not recorded


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def _pids_serving(port: int) -> list[int]:
    """Live processes whose command line is an api-server on ``port``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        server = cmdline.startswith("airflow api_server") or " -m airflow api-server " in cmdline
        if state != "Z" and server and (f"port:{port}" in cmdline or f"--port {port}" in cmdline):
            found.append(int(proc.name))
    return found


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL, signal.SIGINT])
def test_ui_server_stops_with_the_command(tmp_path, sig):
    """Killing `airflow-aml ui` (even with SIGKILL) leaves nothing serving its port."""
    from airflow_aml.backends.airflow_home import serving_ui

    home, port = tmp_path / "home", _free_port()
    log = tmp_path / "ui.log"
    with open(log, "wb") as fh:
        cli = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "airflow_aml.cli",
                "--home",
                str(home),
                "ui",
                "--port",
                str(port),
            ],
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # signals reach only what the test sends
        )
    try:
        deadline = time.monotonic() + 180
        while serving_ui(home / "airflow") is None:
            assert cli.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the UI did not come up"
            time.sleep(0.5)
        assert httpx.get(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=10).is_success
        state = serving_ui(home / "airflow")
        assert state is not None and state["port"] == port
        server = int(state["pid"])
        assert server != cli.pid and _pids_serving(port) == [server]

        os.kill(cli.pid, sig)
        cli.wait(timeout=60)
        deadline = time.monotonic() + 15
        while (_accepts(port) or _pids_serving(port)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _accepts(port), "something still listens on the port"
        assert _pids_serving(port) == [], "an api-server of the home is left"
        assert serving_ui(home / "airflow", accepting=False) is None
        if sig != signal.SIGKILL:  # it cleaned up after itself
            assert cli.returncode == 0, log.read_text()[-3000:]
            assert not (home / "airflow" / "aml_ui.serving.json").exists()
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
        for pid in _pids_serving(port):
            os.kill(pid, signal.SIGKILL)
