"""A deleted and re-created workspace home is never served by the old home's runners."""

from __future__ import annotations

import shutil

import pytest

from airflow_aml.backends.runner_pool import RunnerPool
from airflow_aml.core import Experiment, Workspace
from airflow_aml.pipeline.core import Pipeline
from airflow_aml.pipeline.steps import PythonScriptStep

pytestmark = pytest.mark.e2e


def _run_once(home, src) -> tuple[str, Workspace]:
    ws = Workspace(workspace_name="recreated", home=home)
    step = PythonScriptStep("a.py", name="a", source_directory=str(src))
    run = Experiment(ws, "recreated").submit(Pipeline(ws, [step]))
    return run.wait_for_completion(show_output=False, timeout_seconds=300), ws


def _delete(home) -> None:
    """``rm -rf`` the home, as a user would, again if an old runner that was just
    writing its state there made ``rmdir`` find the folder not empty."""
    import time

    for _ in range(50):
        try:
            shutil.rmtree(home)
            return
        except OSError:
            time.sleep(0.1)
    shutil.rmtree(home)


def test_recreated_home_is_not_served_by_the_old_runners(tmp_path, make_source):
    home = tmp_path / "home"
    src = make_source({"a.py": "print('a')\n"})
    status, first = _run_once(home, src)
    assert status == "Finished"
    old = RunnerPool(home / "registry")
    old_runners = [s["pid"] for s in old.live_runners()]
    assert old_runners  # warm, idle for two minutes: the situation of the bug
    old_id = old.pool_id()
    try:
        _delete(home)  # delete the home and make it again at once
        status, second = _run_once(home, src)
        assert status == "Finished"  # the steps ran in the new home, and the client sees it
        new = RunnerPool(home / "registry")
        assert new.pool_id() != old_id
        assert not {s["pid"] for s in new.live_runners()} & set(old_runners)
    finally:
        RunnerPool(home / "registry").stop_all()
        for pid in old_runners:  # the old ones exit by themselves; make sure
            import contextlib
            import os
            import signal

            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
