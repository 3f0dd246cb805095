"""Probe: concurrent submits lose no run (issue #10, item 4).

Two loads, each bounded by explicit timeouts:

* 20 processes submit the same NEW experiment at once (they wait on a start file,
  then each calls ``Experiment.submit``): the runners' ``dag.test()`` calls write the
  new DAG into the home's SQLite DB at the same time;
* 20 threads POST one published pipeline through the AML-compatible REST route of
  the home's api-server (fixture ``ui_server``) at once.

Every run must finish (none lost, none failed). Each prints its figures (wall time
from the first submit to the last run finished, runs per second); the README quotes
them ("Test tiers").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from airflow_aml.core import Experiment
from airflow_aml.pipeline.core import Pipeline, PipelineRun
from airflow_aml.pipeline.steps import PythonScriptStep

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

N = 20
ROOT = Path(__file__).resolve().parents[2]

SCRIPT = "import sys\nprint('load', sys.argv[1:])\n"

# One submitter: waits for the start file, submits, prints its run id (JSON).
_SUBMIT = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path

    from airflow_aml.core import Experiment, Workspace
    from airflow_aml.pipeline.core import Pipeline
    from airflow_aml.pipeline.steps import PythonScriptStep

    home, name, src, go, index = sys.argv[1:]
    ws = Workspace.from_config(path=home)
    step = PythonScriptStep("load.py", name="load", source_directory=src, arguments=[index])
    pipeline = Pipeline(ws, [step])
    deadline = time.monotonic() + 120
    while not os.path.exists(go):
        if time.monotonic() > deadline:
            sys.exit("no start signal")
        time.sleep(0.01)
    run = Experiment(ws, name).submit(pipeline)
    print(json.dumps({"run_id": run.id, "submitted": time.time()}))
    """
)


def _warm_runners(ws, timeout: float = 120) -> int:
    """Make every runner slot hold an idle warm runner (the situation of the bug: several
    runners take the new experiment's first runs at the same moment); returns how many."""
    from airflow_aml.backends.runner_pool import MAX_RUNNERS

    pool = ws._backend._pool
    want = min(MAX_RUNNERS, 2)
    for _ in range(want - len(pool.live_runners())):
        pool._spawn()
    deadline = time.monotonic() + timeout
    while True:
        live = pool.live_runners()
        if len(live) >= want and all(s["state"] == "idle" for s in live):
            return len(live)
        assert time.monotonic() < deadline, f"runners did not warm up: {live}"
        time.sleep(0.2)


def _wait_all(runs: list[PipelineRun], timeout: float) -> dict[str, str]:
    """Final status of every run (waiting at most ``timeout`` seconds in total)."""
    deadline = time.monotonic() + timeout
    return {
        run.id: run.wait_for_completion(
            show_output=False,
            timeout_seconds=max(1, int(deadline - time.monotonic())),
            raise_on_error=False,
        )
        for run in runs
    }


def _report(what: str, started: float, statuses: dict[str, str]) -> float:
    wall = time.time() - started
    finished = sum(s == "Finished" for s in statuses.values())
    print(
        f"\nload: {what}: {finished}/{len(statuses)} runs finished in {wall:.1f} s "
        f"({len(statuses) / wall:.2f} runs/s)"
    )
    return wall


def test_concurrent_first_runs_of_a_new_experiment_lose_nothing(
    ws, make_source, experiment_name, tmp_path
):
    src = make_source({"load.py": SCRIPT}, name="load")
    go = tmp_path / "go"
    _warm_runners(ws)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    procs = [
        subprocess.Popen(  # noqa: S603 - fixed argument list
            [
                sys.executable,
                "-c",
                _SUBMIT,
                str(ws.home),
                experiment_name,
                str(src),
                str(go),
                str(i),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(N)
    ]
    try:
        time.sleep(1.0)  # let them all import and build their pipeline
        started = time.time()
        go.write_text("go")
        outs = [p.communicate(timeout=180) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    failures = [
        (p.returncode, err[-2000:]) for p, (_, err) in zip(procs, outs, strict=True) if p.returncode
    ]
    assert not failures, f"submits failed: {failures}"
    run_ids = [json.loads(out.strip().splitlines()[-1])["run_id"] for out, _ in outs]
    assert len(set(run_ids)) == N
    experiment = Experiment(ws, experiment_name)
    runs = [PipelineRun(experiment, run_id) for run_id in run_ids]
    statuses = _wait_all(runs, timeout=240)
    _report(f"{N} concurrent Experiment.submit of a new experiment", started, statuses)
    lost = {
        run_id: (status, ws._backend.runner_state(run_id)["error"])
        for run_id, status in statuses.items()
        if status != "Finished"
    }
    assert not lost, f"{len(lost)} of {N} runs did not finish: {lost}"
    assert set(run_ids) <= set(ws._backend.list_runs(experiment_name))  # all recorded


def test_concurrent_rest_submits_of_a_published_pipeline_lose_nothing(
    ws, ui_server, make_source, experiment_name
):
    src = make_source({"load.py": SCRIPT}, name="rest_load")
    step = PythonScriptStep("load.py", name="load", source_directory=str(src), arguments=["rest"])
    published = Pipeline(ws, [step]).publish(name=f"load-{experiment_name}"[:60], version="1")
    url = f"{ui_server.base}/aml/{published.endpoint.split('/aml/', 1)[1]}"

    def post(i: int) -> httpx.Response:
        body = {"ExperimentName": experiment_name, "Description": f"load {i}"}
        return httpx.post(url, json=body, headers=ui_server.headers(), timeout=120)

    started = time.time()
    with ThreadPoolExecutor(max_workers=N) as pool:
        responses = list(pool.map(post, range(N)))
    bad = [(r.status_code, r.text[:500]) for r in responses if r.status_code != 200]
    assert not bad, f"REST submits refused: {bad}"
    run_ids = [r.json()["Id"] for r in responses]
    assert len(set(run_ids)) == N
    runs = [PipelineRun.get(ws, run_id) for run_id in run_ids]
    statuses = _wait_all(runs, timeout=240)
    _report(f"{N} concurrent AML REST submits of a published pipeline", started, statuses)
    lost = {run_id: status for run_id, status in statuses.items() if status != "Finished"}
    assert not lost, f"{len(lost)} of {N} runs did not finish: {lost}"
