"""Probe: SIGKILL the embedded runner and the step script at several points (issue #10).

Each case runs on a workspace home of its own, kills a process with SIGKILL at a
chosen point of a step's life, and then checks that nothing is

* **visible**: no output of the killed step is committed unless the reuse index
  records it (then it is complete), no staging folder is left;
* **orphaned**: the script dies with its runner at once, the process it started
  when the run is reconciled, and no work folder of the run is left;
* **stuck**: the DagRun and its task instances are ``failed`` in the Airflow DB
  within seconds, no reuse claim of the run is held, the client sees ``Failed``
  with the reason, and the same pipeline submitted again runs at once (it is not
  blocked by the dead run's claim);
* **corrupt**: that next run produces the complete output.

The step script logs, starts a child process, writes ``N`` files to its output,
then waits while a ``hang`` file exists (outside its source folder, so the
fingerprint does not change when the test removes it).

Points: the runner killed while the script runs; the runner killed just after the
output was committed (renamed) and before the reuse index records it; the runner
killed as soon as it took the run (usually before any step started); the runner killed
while another run waits for its claim (that run must take over within seconds);
the script killed (the runner lives on and fails the step with the reason).
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_aml._processes import pid_alive
from airflow_aml.artifacts.store import run_prefix
from airflow_aml.backends import airflow_compat
from airflow_aml.backends.runner_pool import RunnerPool
from airflow_aml.core import Experiment, Workspace
from airflow_aml.exceptions import ActivityFailedException
from airflow_aml.pipeline.core import Pipeline, PipelineData, PipelineRun
from airflow_aml.pipeline.steps import PythonScriptStep
from airflow_aml.runtime.workdirs import work_root

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

SCRIPT = """\
import json, os, subprocess, sys, time
from azureml.core import Run

out, marks, files = sys.argv[1], sys.argv[2], int(sys.argv[3])
print("step started", flush=True)
Run.get_context().log("progress", 1)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
with open(os.path.join(marks, "pids.tmp"), "w") as fh:
    json.dump({"script": os.getpid(), "child": child.pid}, fh)
os.replace(os.path.join(marks, "pids.tmp"), os.path.join(marks, "pids.json"))
for i in range(files):
    with open(os.path.join(out, f"f{i:05d}.txt"), "w") as fh:
        fh.write(str(i))
while os.path.exists(os.path.join(marks, "hang")):
    time.sleep(0.05)
child.kill()
print("step done", flush=True)
"""

#: Seconds within which a dead runner's run must be failed for real, and a new
#: identical run must have its step running.
PROMPT = 30.0


def _wait(check: Callable[[], Any], timeout: float, what: str, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what}"
        time.sleep(every)


class Probe:
    """One workspace home, one step source, one marks folder."""

    def __init__(self, root: Path, files: int = 3):
        self.home = root / "home"
        self.marks = root / "marks"
        self.marks.mkdir()
        src = root / "src"
        src.mkdir()
        (src / "faulty.py").write_text(SCRIPT, encoding="utf-8")
        self.ws = Workspace(workspace_name="faults", home=self.home)
        self.pool = RunnerPool(self.home / "registry")
        out = PipelineData("out")
        self.step = PythonScriptStep(
            "faulty.py",
            name="faulty",
            source_directory=str(src),
            arguments=[out, str(self.marks), str(files)],
            outputs=[out],
        )
        self.files = files

    # ------------------------------------------------------------- actions
    def submit(self, *, hang: bool) -> PipelineRun:
        (self.marks / "pids.json").unlink(missing_ok=True)
        if hang:
            (self.marks / "hang").write_text("")
        return Experiment(self.ws, "faults").submit(Pipeline(self.ws, [self.step]))

    def release(self) -> None:
        (self.marks / "hang").unlink(missing_ok=True)

    def pids(self, timeout: float = 120) -> dict[str, int]:
        path = self.marks / "pids.json"
        _wait(path.exists, timeout, "the step script started")
        return json.loads(path.read_text())

    def runner_of(self, run_id: str, timeout: float = 120) -> int:
        state = _wait(
            lambda: next((s for s in self.pool.live_runners() if s.get("run_id") == run_id), None),
            timeout,
            f"a runner took run {run_id}",
            every=0.005,
        )
        return int(state["pid"])

    def kill_runner_of(self, run_id: str) -> int:
        pid = self.runner_of(run_id)
        os.kill(pid, signal.SIGKILL)
        _wait(lambda: not pid_alive(pid), 10, f"runner {pid} gone")
        return pid

    @staticmethod
    def recorded_stdout(run_id: str) -> str:
        """What the runner has recorded of the running step's stdout (its work folder)."""
        from airflow_aml.runtime.workdirs import step_workdirs

        texts = []
        for workdir in step_workdirs(run_id, "faulty"):
            try:
                texts.append((workdir / "record" / "stdout.txt").read_text())
            except OSError:
                continue
        return "".join(texts)

    # -------------------------------------------------------------- places
    @property
    def datastore(self) -> Path:
        return self.home / "datastores" / "workspaceblobstore"

    def step_prefix(self, run: PipelineRun) -> Path:
        return self.datastore / run_prefix(run.id, "faulty")

    def latest_index_entry(self) -> dict[str, Any] | None:
        path = self.datastore / "azureml" / ".reuse" / "latest" / "faults" / "faulty.json"
        return json.loads(path.read_text()) if path.exists() else None

    def claims_of(self, run_id: str) -> list[str]:
        inflight = self.datastore / "azureml" / ".reuse" / "inflight"
        if not inflight.is_dir():
            return []
        held = []
        for path in inflight.glob("*.json"):
            try:
                if json.loads(path.read_text()).get("run_id") == run_id:
                    held.append(path.name)
            except (OSError, ValueError):
                continue
        return held

    def db_states(self, run_id: str) -> tuple[str | None, dict[str, str]]:
        airflow_home = self.home / "airflow"
        dr = airflow_compat.read_dag_run(airflow_home, "faults", run_id)
        tis = airflow_compat.read_task_instances(airflow_home, "faults", run_id)
        return (dr or {}).get("state"), {t["task_id"]: t["state"] for t in tis}

    # -------------------------------------------------------------- checks
    def assert_failed_and_clean(self, run: PipelineRun, reason: str) -> None:
        """The killed run: failed for real, nothing held, visible or left behind."""

        assert run.get_status() == "Failed"  # the client knows at once (the runner is dead)

        def db_failed() -> bool:
            run.get_status()  # what a user waiting on the run does
            state, tis = self.db_states(run.id)
            return state in (None, "failed") and "running" not in tis.values()

        _wait(db_failed, PROMPT, f"run {run.id} failed in the Airflow DB", every=0.5)
        done = self.home / "registry" / "runs" / f"{run.id}.done"
        _wait(lambda: run.get_status() and done.exists(), PROMPT, "run marked done", every=0.5)
        with pytest.raises(ActivityFailedException) as exc:
            run.wait_for_completion(show_output=False, timeout_seconds=60)
        assert reason in str(exc.value)
        assert run.get_status() == "Failed"
        assert self.claims_of(run.id) == [], "the dead run still holds a reuse claim"
        prefix = self.step_prefix(run)
        left = sorted(p.name for p in prefix.iterdir()) if prefix.is_dir() else []
        assert not [n for n in left if n.startswith(".staging")], f"staging left: {left}"
        entry = self.latest_index_entry()
        if "out" in left:  # committed: then complete and recorded in the reuse index
            assert entry is not None and entry["run_id"] == run.id, f"unrecorded output: {left}"
            assert len(list((prefix / "out").iterdir())) == self.files
        run_work = [p for p in work_root().glob("*") if p.name == run.id]
        assert not run_work or not any(run_work[0].iterdir()), "work folder left"

    def assert_dead(self, pids: dict[str, int]) -> None:
        for name, pid in pids.items():
            _wait(lambda p=pid: not pid_alive(p), 10, f"the step's {name} process {pid} died")

    def assert_next_run_completes(self) -> float:
        """The same pipeline again: not blocked, and its output is complete."""
        started = time.monotonic()
        run = self.submit(hang=False)
        assert run.wait_for_completion(show_output=False, timeout_seconds=120) == "Finished"
        elapsed = time.monotonic() - started
        out = run.find_step_run("faulty")[0].get_output_data("out")
        path = self.datastore / out.path_on_datastore
        expected = [f"f{i:05d}.txt" for i in range(self.files)]
        assert sorted(p.name for p in path.iterdir()) == expected
        return elapsed


@pytest.fixture
def probe(tmp_path: Path) -> Iterator[Probe]:
    p = Probe(tmp_path)
    try:
        yield p
    finally:
        p.release()
        p.pool.stop_all()


def _report(what: str, **figures: float) -> None:
    shown = ", ".join(f"{k} {v:.1f} s" for k, v in figures.items())
    print(f"\nfault: {what}: {shown}")


def test_runner_killed_while_the_script_runs(probe: Probe):
    run = probe.submit(hang=True)
    pids = probe.pids()
    _wait(lambda: probe.claims_of(run.id), 30, "the step claimed its fingerprint")
    _wait(lambda: "step started" in probe.recorded_stdout(run.id), 30, "the output was recorded")
    killed_at = time.monotonic()
    probe.kill_runner_of(run.id)
    probe.assert_dead({"script": pids["script"]})  # at once: the parent-death signal
    dead_s = time.monotonic() - killed_at
    probe.assert_failed_and_clean(run, "died before the run ended")
    probe.assert_dead({"child": pids["child"]})  # its group, ended by the reconciliation
    failed_s = time.monotonic() - killed_at
    step = run.find_step_run("faulty")[0]
    assert step.get_status() == "Failed"
    assert "did not finish" in step.get_details()["error"]
    assert "step started" in step.get_stdout_log()  # what was recorded before the kill is kept
    probe.release()
    _report(
        "runner killed mid-script",
        processes_dead_after=dead_s,
        run_failed_after=failed_s,
        next_run=probe.assert_next_run_completes(),
    )


def test_runner_killed_just_after_the_output_commit(tmp_path: Path):
    probe = Probe(tmp_path, files=3000)  # the commit's digest then takes a while
    try:
        run = probe.submit(hang=False)
        committed = probe.datastore / run_prefix(run.id, "faulty") / "out"
        pid = probe.runner_of(run.id)
        _wait(committed.is_dir, 120, "the output was committed", every=0.001)
        os.kill(pid, signal.SIGKILL)
        _wait(lambda: not pid_alive(pid), 10, f"runner {pid} gone")
        recorded = probe.latest_index_entry()
        probe.assert_failed_and_clean(run, "died before the run ended")
        # Either removed, or kept because the reuse index records it (then reused).
        assert committed.is_dir() == bool(recorded and recorded["run_id"] == run.id)
        _report(
            "runner killed just after the output commit",
            next_run=probe.assert_next_run_completes(),
        )
    finally:
        probe.pool.stop_all()


def test_runner_killed_as_soon_as_it_took_the_run(probe: Probe):
    run = probe.submit(hang=True)
    probe.kill_runner_of(run.id)  # usually before the step starts; checked either way
    probe.assert_failed_and_clean(run, "died")
    if (probe.marks / "pids.json").exists():
        probe.assert_dead(json.loads((probe.marks / "pids.json").read_text()))
    probe.release()
    _report("runner killed as it took the run", next_run=probe.assert_next_run_completes())


def test_runner_killed_while_another_run_waits_for_its_claim(probe: Probe):
    first = probe.submit(hang=True)
    pids = probe.pids()
    _wait(lambda: probe.claims_of(first.id), 30, "the first run claimed the step")
    second = probe.submit(hang=True)
    # The second run's step finds the claim and waits (deferred) for the first run.
    _wait(
        lambda: (
            second.get_status()  # a waiting client: a second runner is started
            and "waiting to reuse its outputs"
            in (probe.ws._backend.task_log("faults", second.id, "faulty", 1) or "")
        ),
        120,
        "the second run waits for the first run's claim",
        every=0.2,
    )
    killed_at = time.monotonic()
    probe.kill_runner_of(first.id)
    probe.assert_dead({"script": pids["script"]})
    probe.release()  # the second run computes the step itself, at once
    assert second.wait_for_completion(show_output=False, timeout_seconds=PROMPT) == "Finished"
    took_over_s = time.monotonic() - killed_at
    assert took_over_s < PROMPT
    probe.assert_failed_and_clean(first, "died before the run ended")
    probe.assert_dead({"child": pids["child"]})
    _report("waiting run took over the dead run's claim", after=took_over_s)


def test_script_killed(probe: Probe):
    run = probe.submit(hang=True)
    pids = probe.pids()
    runner = probe.runner_of(run.id)
    os.kill(pids["script"], signal.SIGKILL)
    with pytest.raises(ActivityFailedException) as exc:
        run.wait_for_completion(show_output=False, timeout_seconds=120)
    assert "exited with code -9" in str(exc.value)
    assert pid_alive(runner), "the runner died with the script"
    probe.release()
    probe.assert_failed_and_clean(run, "exited with code -9")
    probe.assert_dead({"child": pids["child"]})  # the script's child died with its group
    _report("script killed", next_run=probe.assert_next_run_completes())
