"""The launcher's guard: a step's process group dies with the process that started it,
and otherwise the step ends exactly as its script did (exit code, signal)."""

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
    os.killpg(proc.pid, signal.SIGKILL)  # the script's child is the operator's to end


def test_the_group_dies_with_the_parent(script, tmp_path):
    """The process that started the step (here a stand-in for the operator's) is
    SIGKILLed: the script and the process it started die too."""
    starter = tmp_path / "starter.py"
    starter.write_text(
        textwrap.dedent(
            f"""
            import os, subprocess, sys, time
            sys.path.insert(0, {str(ROOT)!r})
            env = dict(os.environ, {ENV_PARENT_PID}=str(os.getpid()))
            subprocess.Popen(
                [sys.executable, "-m", "airflow_aml.runtime.launcher", sys.argv[1],
                 sys.argv[2], "hang"],
                env=env, start_new_session=True,
            )
            time.sleep(600)
            """
        ),
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen(  # noqa: S603 - fixed argument list
        [sys.executable, str(starter), str(script), str(tmp_path / "pids.json")], env=env
    )
    try:
        pids = _wait_for(tmp_path / "pids.json")
        parent.kill()
        parent.wait()
        assert _gone(pids["script"]), "the script outlived the process that started it"
        assert _gone(pids["child"]), "the script's child outlived the process that started it"
    finally:
        if parent.poll() is None:
            parent.kill()


def test_without_a_named_parent_the_launcher_does_not_fork(script, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != ENV_PARENT_PID}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.Popen(  # noqa: S603 - fixed argument list
        [
            sys.executable,
            "-m",
            "airflow_aml.runtime.launcher",
            str(script),
            str(tmp_path / "pids.json"),
            "hang",
        ],
        env=env,
        start_new_session=True,
    )
    try:
        pids = _wait_for(tmp_path / "pids.json")
        assert pids["script"] == proc.pid  # the script runs in the launched process itself
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
