"""Step work folders: findable by run and step, removed when their owner process is dead."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_aml import _processes
from airflow_aml.runtime import workdirs


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(workdirs.tempfile, "tempdir", str(tmp_path))
    return workdirs.work_root()


def test_work_folders_are_found_by_run_and_step(root):
    a = workdirs.new_workdir("manual__2026-12-07T10:00:00+00:00", "train", 1)
    b = workdirs.new_workdir("manual__2026-12-07T10:00:00+00:00", "score", 1)
    assert a.parent == b.parent and a.parent.parent == root
    assert ":" not in a.parent.name and "+" not in a.parent.name
    assert workdirs.step_workdirs("manual__2026-12-07T10:00:00+00:00", "train") == [a]
    workdirs.remove_workdir(a)
    assert not a.exists() and b.parent.exists()  # the run's folder stays while b is there
    workdirs.remove_workdir(b)
    assert not b.parent.exists() and not root.exists()  # nothing left behind in $TMPDIR
    again = workdirs.new_workdir("run", "train", 2)  # the root comes back when needed
    assert again.parent.parent == root and (again / workdirs.OWNER_FILE).exists()


def _age(path, seconds: float) -> None:
    import os
    import time

    old = time.time() - seconds
    for place in (path, *path.rglob("*")):
        os.utime(place, (old, old))


def test_sweep_removes_folders_of_dead_owners_only(root, dead_owner):
    mine = workdirs.new_workdir("run-1", "alive", 1)
    dead = workdirs.new_workdir("run-2", "dead", 1)
    (dead / workdirs.OWNER_FILE).write_text(json.dumps(dead_owner))
    kept = workdirs.new_workdir("run-3", "dead", 1)
    (kept / workdirs.OWNER_FILE).write_text(json.dumps(dead_owner))
    recent = workdirs.new_workdir("run-4", "dead", 1)  # its run may not be reconciled yet
    (recent / workdirs.OWNER_FILE).write_text(json.dumps(dead_owner))
    (recent / "record").mkdir()
    (recent / "record" / "stdout.txt").write_text("what the step printed")
    for path in (mine, dead, kept):
        _age(path, workdirs.ABANDONED_GRACE_SECONDS + 60)
    _age(recent, workdirs.ABANDONED_GRACE_SECONDS + 60)
    (recent / "record" / "stdout.txt").write_text("written just now")  # a fresh change
    removed = workdirs.sweep_abandoned(keep=frozenset({"run-3"}))
    assert removed == [dead]
    assert mine.exists() and kept.exists() and recent.exists() and not dead.parent.exists()


def test_an_owner_elsewhere_is_unknown_not_dead(dead_owner):
    owner = {**_processes.this_process(), "machine": "another-host/boot/pid:[1]"}
    assert _processes.owner_alive(owner) is None
    assert _processes.owner_alive(_processes.this_process()) is True
    assert _processes.owner_alive(dead_owner) is False
    reused = {**_processes.this_process(), "pid_start": -1}  # same pid, another process
    assert _processes.owner_alive(reused) is False
