"""End-to-end runs on the embedded backend: real Airflow DagRuns, real data flow."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from airflow_aml.core import Experiment
from airflow_aml.data import DataReference
from airflow_aml.exceptions import StepRunFailed
from airflow_aml.pipeline.core import Pipeline, PipelineData, PipelineParameter, PipelineRun
from airflow_aml.pipeline.steps import PythonScriptStep

pytestmark = pytest.mark.e2e

PRODUCE = """
import argparse, json, os
from airflow_aml.core import Run
p = argparse.ArgumentParser()
p.add_argument("--input"); p.add_argument("--output"); p.add_argument("--factor", type=int)
a = p.parse_args()
words = open(os.path.join(a.input, "words.txt")).read().split()
os.makedirs(a.output, exist_ok=True)
with open(os.path.join(a.output, "scaled.json"), "w") as f:
    json.dump({"words": words, "factor": a.factor,
               "env_factor": os.environ["AML_PARAMETER_factor"],
               "env_out": os.environ["AZUREML_DATAREFERENCE_scaled"]}, f)
run = Run.get_context()
run.log("n_words", len(words))
run.log("loss", 0.5); run.log("loss", 0.25)
run.log_row("table", epoch=1, acc=0.5); run.log_row("table", epoch=2, acc=0.75)
run.tag("stage", "produce")
run.parent.log("pipeline_metric", 42)
print("produced", len(words), "words with factor", a.factor)
"""

CONSUME = """
import argparse, json, os, sys
p = argparse.ArgumentParser(); p.add_argument("--scaled"); p.add_argument("--result")
p.add_argument("--mode")
a = p.parse_args()
data = json.load(open(os.path.join(a.scaled, "scaled.json")))
os.makedirs(a.result, exist_ok=True)
with open(os.path.join(a.result, "result.txt"), "w") as f:
    f.write(" ".join(w.upper() for w in data["words"]) + f" x{data['factor']} {a.mode}")
print("consumed from", os.environ["AZUREML_DATAREFERENCE_scaled_in"], file=sys.stderr)
"""


@pytest.fixture
def uploaded(ws, tmp_path):
    store = ws.get_default_datastore()
    f = tmp_path / "words.txt"
    f.write_text("alpha beta gamma", encoding="utf-8")
    prefix = f"inputs/{tmp_path.name}"
    store.upload_files([str(f)], target_path=prefix, overwrite=True, show_progress=False)
    return store, prefix


def _two_step_pipeline(ws, make_source, uploaded):
    store, prefix = uploaded
    src_p = make_source({"produce.py": PRODUCE}, name="produce")
    src_c = make_source({"consume.py": CONSUME}, name="consume")
    words = DataReference(datastore=store, data_reference_name="words", path_on_datastore=prefix)
    scaled = PipelineData("scaled", datastore=store)
    result = PipelineData("result", datastore=store)
    factor = PipelineParameter(name="factor", default_value=2)
    _produce = PythonScriptStep(
        "produce.py",
        name="produce",
        source_directory=str(src_p),
        arguments=["--input", words, "--output", scaled, "--factor", factor],
        inputs=[words],
        outputs=[scaled],
    )
    consume = PythonScriptStep(
        "consume.py",
        name="consume step",
        source_directory=str(src_c),
        arguments=[
            "--scaled",
            scaled.as_input("scaled_in"),
            "--result",
            result,
            "--mode",
            "{{ not_jinja }}",
        ],
        inputs=[scaled.as_input("scaled_in")],
        outputs=[result],
    )
    return Pipeline(workspace=ws, steps=[[consume]], description="two steps")


def test_data_flows_through_pipeline_data(ws, make_source, uploaded, experiment_name, tmp_path):
    pipeline = _two_step_pipeline(ws, make_source, uploaded)
    run = Experiment(ws, experiment_name).submit(
        pipeline, pipeline_parameters={"factor": 5}, tags={"team": "ml"}
    )
    assert run.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"
    assert run.get_status() == "Finished"
    steps = {s.name: s for s in run.get_steps()}
    assert set(steps) == {"produce", "consume step"}
    assert all(s.get_status() == "Finished" for s in steps.values())

    # Real data went through the PipelineData, parameter overrode the default.
    out = run.find_step_run("consume step")[0].get_output_data("result")
    local = Path(out.download(str(tmp_path / "dl"), overwrite=True))
    assert (local / "result.txt").read_text() == "ALPHA BETA GAMMA x5 {{ not_jinja }}"
    # SDK v1's layout: azureml/{step run id}/{output name}; step run ids are unique.
    consume = run.find_step_run("consume step")[0]
    assert out.path_on_datastore == f"azureml/{consume.id}/result"
    assert consume.id != steps["produce"].id and run.id in consume.id

    produced = steps["produce"].get_output_data("scaled")
    scaled = json.loads(
        (ws.get_default_datastore().root / produced.path_on_datastore / "scaled.json").read_text()
    )
    assert scaled["factor"] == 5 and scaled["env_factor"] == "5"
    assert scaled["env_out"].endswith("/scaled")

    # Metrics logged by scripts come back.
    m = steps["produce"].get_metrics()
    assert m["n_words"] == 3
    assert m["loss"] == [0.5, 0.25]
    assert m["table"] == {"epoch": [1, 2], "acc": [0.5, 0.75]}
    assert run.get_metrics() == {"pipeline_metric": 42}
    rec = run.get_metrics(recursive=True)
    assert rec[run.id] == {"pipeline_metric": 42}
    assert rec[steps["produce"].id]["n_words"] == 3
    assert steps["produce"].get_tags() == {"stage": "produce"}
    assert run.get_tags() == {"team": "ml"}

    # Logs: stdout/stderr kept per step, and the step's environment contract held.
    assert "produced 3 words with factor 5" in steps["produce"].get_stdout_log()
    assert "consumed from" in steps["consume step"].get_stderr_log()
    assert steps["produce"].properties["azureml.pipeline_step_name"] == "produce"

    # The run can be found again from its id.
    again = PipelineRun(Experiment(ws, experiment_name), run.id)
    assert again.get_status() == "Finished"
    assert ws.get_run(run.id).find_step_run("produce")[0].get_metrics("n_words") == {"n_words": 3}


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def test_parameter_default_is_used(ws, make_source, uploaded, experiment_name, tmp_path):
    pipeline = _two_step_pipeline(ws, make_source, uploaded)
    produce_src = tmp_path / "produce"
    _git(produce_src, "init", "-q", "-b", "main")
    _git(produce_src, "add", ".")
    _git(produce_src, "commit", "-qm", "produce")
    head = _git(produce_src, "rev-parse", "HEAD")
    run = pipeline.submit(experiment_name)
    assert run.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"
    out = run.find_step_run("consume step")[0].get_output_data("result")
    local = Path(out.download(str(tmp_path / "dl")))
    assert (local / "result.txt").read_text().endswith("x2 {{ not_jinja }}")

    # Git facts of the source folder are run properties, as in SDK v1.
    props = run.find_step_run("produce")[0].properties
    assert props["azureml.git.commit"] == head
    assert props["azureml.git.branch"] == "main"
    assert props["azureml.git.dirty"] == "False"
    assert "azureml.git.commit" not in run.find_step_run("consume step")[0].properties

    # Zero-copy hand-off: the consumer read the producer's committed folder in place.
    produced = run.find_step_run("produce")[0].get_output_data("scaled")
    store_root = ws.get_default_datastore().root
    assert (
        f"consumed from {store_root / produced.path_on_datastore}"
        in run.find_step_run("consume step")[0].get_stderr_log()
    )


FAIL = """
import sys
print("about to fail")
print("boom: the model diverged", file=sys.stderr)
sys.exit(3)
"""
OK = """
import os, sys
os.makedirs(sys.argv[1], exist_ok=True) if len(sys.argv) > 1 else None
print("ok")
"""


def _failing_pipeline(ws, make_source):
    src_f = make_source({"fail.py": FAIL}, name="fail")
    src_o = make_source({"ok.py": OK}, name="ok")
    d = PipelineData("d")
    bad = PythonScriptStep("fail.py", name="bad", source_directory=str(src_f))
    after_bad = PythonScriptStep("ok.py", name="after_bad", source_directory=str(src_o))
    after_bad.run_after(bad)
    _first = PythonScriptStep(
        "ok.py", name="first", arguments=[d], outputs=[d], source_directory=str(src_o)
    )
    second = PythonScriptStep("ok.py", name="second", inputs=[d], source_directory=str(src_o))
    return Pipeline(ws, [after_bad, second])


def test_failing_step_fails_the_run_with_its_stderr(ws, make_source, experiment_name):
    run = Experiment(ws, experiment_name).submit(_failing_pipeline(ws, make_source))
    with pytest.raises(StepRunFailed) as exc:
        run.wait_for_completion(show_output=False, timeout_seconds=300)
    assert exc.value.step_name == "bad"
    assert "boom: the model diverged" in str(exc.value)
    assert "exited with code 3" in str(exc.value)
    assert run.get_status() == "Failed"
    status = {s.name: s.get_status() for s in run.get_steps()}
    assert status["bad"] == "Failed"
    assert status["after_bad"] == "NotStarted"
    # continue_on_step_failure is off: the independent branch stops at the failure.
    assert status["second"] != "Finished"
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"


def test_continue_on_step_failure_runs_independent_branches(ws, make_source, experiment_name):
    run = Experiment(ws, experiment_name).submit(
        _failing_pipeline(ws, make_source), continue_on_step_failure=True
    )
    assert (
        run.wait_for_completion(show_output=False, timeout_seconds=300, raise_on_error=False)
        == "Failed"
    )
    status = {s.name: s.get_status() for s in run.get_steps()}
    assert status == {
        "bad": "Failed",
        "after_bad": "NotStarted",
        "first": "Finished",
        "second": "Finished",
    }


SLOW = """
import sys, time, pathlib
time.sleep(60)
pathlib.Path(sys.argv[1]).write_text("finished")
"""


def test_cancel_stops_the_running_script(ws, make_source, experiment_name, tmp_path):
    marker = tmp_path / "marker.txt"
    src = make_source({"slow.py": SLOW}, name="slow")
    slow = PythonScriptStep(
        "slow.py", name="slow", arguments=[str(marker)], source_directory=str(src)
    )
    run = Experiment(ws, experiment_name).submit(Pipeline(ws, [slow]))
    deadline = time.monotonic() + 120
    while run.find_step_run("slow")[0].get_status() != "Running":
        assert time.monotonic() < deadline, "step never started"
        time.sleep(0.2)
    started = time.monotonic()
    run.cancel()
    assert (
        run.wait_for_completion(show_output=False, timeout_seconds=60, raise_on_error=False)
        == "Canceled"
    )
    assert time.monotonic() - started < 30
    assert not marker.exists()


def test_failed_reuse_check_fails_its_step_with_the_reason(
    ws, make_source, experiment_name, tmp_path
):
    from airflow_aml.core import Datastore

    store = Datastore.register_local_folder(
        ws, f"broken_{tmp_path.name}"[:60], str(tmp_path / "store")
    )
    # The reuse index cannot be created: its folder is taken by a file.
    (tmp_path / "store" / "azureml").mkdir(parents=True)
    (tmp_path / "store" / "azureml" / ".reuse").write_text("not a folder")
    src = make_source({"ok.py": OK}, name="ok")
    step = PythonScriptStep("ok.py", name="guarded", source_directory=str(src))
    run = Experiment(ws, experiment_name).submit(Pipeline(ws, [step], default_datastore=store))
    with pytest.raises(StepRunFailed) as exc:
        run.wait_for_completion(show_output=False, timeout_seconds=300)
    assert exc.value.step_name == "guarded"
    assert "the reuse check of step 'guarded' failed" in str(exc.value)
    assert "NotADirectoryError" in str(exc.value) or "Not a directory" in str(exc.value)
    assert run.find_step_run("guarded")[0].get_status() == "Failed"
