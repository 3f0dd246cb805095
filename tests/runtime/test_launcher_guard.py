"""A step process dies with the process that started it (parent-death signal); what the
script started is ended from the work folder once that is found abandoned; otherwise the
step ends exactly as its script did (exit code, signal)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from airflow_aml._processes import pid_alive
from airflow_aml.runtime import workdirs
from airflow_aml.runtime.launcher import ENV_PARENT_PID

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """\
import json, os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
with open(sys.argv[1] + ".tmp", "w") as fh:
    json.dump({"script": os.getpid(), "child": child.pid}, fh)
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
if sys.argv[2] == "hang":
    time.sleep(600)
child.kill()
sys.exit(int(sys.argv[2]))
"""


def _wait_for(path: Path, timeout: float = 30) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)
    return json.loads(path.read_text())


def _gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.fixture(autouse=True)
def _work_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workdirs.tempfile, "tempdir", str(tmp_path))


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "step.py"
    path.write_text(SCRIPT, encoding="utf-8")
    return path


def _launch(script: Path, pids: Path, mode: str, parent: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, ENV_PARENT_PID: str(parent)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.Popen(  # noqa: S603 - fixed argument list
        [sys.executable, "-m", "airflow_aml.runtime.launcher", str(script), str(pids), mode],
        env=env,
        start_new_session=True,
    )


@pytest.mark.parametrize("code", [0, 3])
def test_the_step_exits_with_the_scripts_code(script, tmp_path, code):
    proc = _launch(script, tmp_path / "pids.json", str(code), os.getpid())
    assert proc.wait(timeout=60) == code


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_the_step_dies_of_the_signal_its_script_died_of(script, tmp_path, sig):
    proc = _launch(script, tmp_path / "pids.json", "hang", os.getpid())
    pids = _wait_for(tmp_path / "pids.json")
    os.kill(pids["script"], sig)
    assert proc.wait(timeout=30) == -sig
    os.kill(pids["child"], signal.SIGKILL)  # the script's child is the operator's to end


def test_the_script_dies_with_its_parent_and_the_sweep_ends_its_group(script, tmp_path):
    """The process that started the step (a stand-in for the operator's) is SIGKILLed:
    the script dies at once; the process it started dies when the abandoned work folder
    is swept (a reconciling runner, the next step operator on the machine)."""
    starter = tmp_path / "starter.py"
    starter.write_text(
        textwrap.dedent(
            f"""
            import os, subprocess, sys, time
            sys.path.insert(0, {str(ROOT)!r})
            from airflow_aml.runtime import workdirs
            env = dict(os.environ, {ENV_PARENT_PID}=str(os.getpid()))
            proc = subprocess.Popen(
                [sys.executable, "-m", "airflow_aml.runtime.launcher", sys.argv[1],
                 sys.argv[2], "hang"],
                env=env, start_new_session=True,
            )
            workdirs.record_step_group(workdirs.new_workdir("run", "step", 1), proc.pid)
            time.sleep(600)
            """
        ),
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}
    parent = subprocess.Popen(  # noqa: S603 - fixed argument list
        [sys.executable, str(starter), str(script), str(tmp_path / "pids.json")], env=env
    )
    try:
        pids = _wait_for(tmp_path / "pids.json")
        parent.kill()
        parent.wait()
        assert _gone(pids["script"], 5), "the script outlived the process that started it"
        assert pid_alive(pids["child"])  # in the script's group, which nobody ended yet
        workdirs.sweep_abandoned()
        assert _gone(pids["child"]), "the sweep did not end the script's process group"
    finally:
        if parent.poll() is None:
            parent.kill()


def test_the_script_runs_in_the_launched_process(script, tmp_path):
    proc = _launch(script, tmp_path / "pids.json", "hang", os.getpid())
    try:
        assert _wait_for(tmp_path / "pids.json")["script"] == proc.pid
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
