"""Step reuse end to end: what is reused, what reruns, and why — on real Airflow runs."""

from __future__ import annotations

import shutil
import textwrap
import time
from pathlib import Path

import pytest

from airflow_aml.core import Experiment
from airflow_aml.data import DataReference
from airflow_aml.pipeline.core import Pipeline, PipelineData, PipelineParameter
from airflow_aml.pipeline.steps import PythonScriptStep

pytestmark = pytest.mark.e2e

EXTRACT = """
import os, sys
counter, data, out = sys.argv[1], sys.argv[2], sys.argv[3]
open(counter, "a").write("extract\\n")
os.makedirs(out, exist_ok=True)
text = open(os.path.join(data, "input.txt")).read()
open(os.path.join(out, "words.txt"), "w").write(text.upper())
"""
TRAIN = """
import os, sys
VERSION = 1
counter, words, model, lr = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
open(counter, "a").write("train\\n")
os.makedirs(model, exist_ok=True)
n = len(open(os.path.join(words, "words.txt")).read().split())
open(os.path.join(model, "model.txt"), "w").write(f"v{VERSION} n={n} lr={lr}")
"""
COMPARE = """
import os, sys
counter, model, report, mode = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
open(counter, "a").write("compare\\n")
os.makedirs(report, exist_ok=True)
text = open(os.path.join(model, "model.txt")).read()
open(os.path.join(report, "report.txt"), "w").write(f"{mode}: {text}")
"""


class Project:
    """Three steps in their own folders, an uploaded input, a counter of executions."""

    def __init__(self, ws, root: Path, experiment: str):
        self.ws = ws
        self.root = root
        self.experiment = experiment
        self.counter = root / "counter.txt"
        self.store = ws.get_default_datastore()
        self.data_prefix = f"reuse-inputs/{root.name}"
        for name, code in (("extract", EXTRACT), ("train", TRAIN), ("compare", COMPARE)):
            (root / name).mkdir(parents=True, exist_ok=True)
            (root / name / f"{name}.py").write_text(textwrap.dedent(code))
        self.write_input("alpha beta gamma")
        self.mode = "full"
        self.data_aware: bool | str = False

    def write_input(self, text: str) -> None:
        src = self.root / "upload" / "input.txt"
        src.parent.mkdir(parents=True, exist_ok=True)
        src.write_text(text)
        self.store.upload_files(
            [str(src)], target_path=self.data_prefix, overwrite=True, show_progress=False
        )

    def pipeline(self, **train_kwargs) -> Pipeline:
        data = DataReference(
            self.store, data_reference_name="raw", path_on_datastore=self.data_prefix
        )
        words, model, report = PipelineData("words"), PipelineData("model"), PipelineData("report")
        lr = PipelineParameter("pipeline_arg", 10)
        c = str(self.counter)
        extract = PythonScriptStep(
            "extract.py",
            name="extract",
            source_directory=str(self.root / "extract"),
            arguments=[c, data, words],
            inputs=[data],
            outputs=[words],
            data_aware_reuse=self.data_aware,
        )
        train = PythonScriptStep(
            "train.py",
            name="train",
            source_directory=str(self.root / "train"),
            arguments=[c, words, model, lr],
            inputs=[words],
            outputs=[model],
            **train_kwargs,
        )
        compare = PythonScriptStep(
            "compare.py",
            name="compare",
            source_directory=str(self.root / "compare"),
            arguments=[c, model, report, self.mode],
            inputs=[model],
            outputs=[report],
        )
        assert extract and train
        return Pipeline(self.ws, [compare])

    def run(self, pipeline: Pipeline | None = None, **submit_kwargs):
        before = self.executions()
        run = Experiment(self.ws, self.experiment).submit(
            pipeline or self.pipeline(), **submit_kwargs
        )
        assert run.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"
        executed = self.executions()[len(before) :]
        return run, sorted(executed)

    def executions(self) -> list[str]:
        return self.counter.read_text().split() if self.counter.exists() else []

    def report(self, run) -> str:
        out = run.find_step_run("compare")[0].get_output_data("report")
        folder = out.download(str(self.root / "downloads" / run.id))
        return (Path(folder) / "report.txt").read_text()


def _reasons(run) -> dict[str, list[str]]:
    return {s.name: s.get_reuse_reasons() for s in run.get_steps()}


@pytest.fixture
def project(ws, tmp_path, experiment_name):
    return Project(ws, tmp_path, experiment_name)


def test_unchanged_rerun_reuses_every_step_and_edits_rerun_only_what_changed(project):
    first, executed = project.run()
    assert executed == ["compare", "extract", "train"]
    assert _reasons(first) == {
        name: ["no earlier execution of this step"] for name in ("extract", "train", "compare")
    }
    assert not any(s.is_reused for s in first.get_steps())
    report = project.report(first)
    assert report == "full: v1 n=3 lr=10"

    # 1. Unchanged: everything reused, no script executed, identical outputs.
    second, executed = project.run()
    assert executed == []
    steps = {s.name: s for s in second.get_steps()}
    assert all(s.is_reused and s.get_status() == "Finished" for s in steps.values())
    assert {s.reused_run_id for s in steps.values()} == {first.id}
    assert steps["train"].properties["azureml.isreused"] == "true"
    assert steps["train"].properties["azureml.reusedpipelinerunid"] == first.id
    assert project.report(second) == report
    assert (
        second.find_step_run("compare")[0].get_output_data("report").path_on_datastore
        == f"azureml/{first.id}_compare/report"
    )
    assert steps["train"].get_stdout_log() == first.find_step_run("train")[0].get_stdout_log()

    # 2. A file listed in .amlignore changes: still reused.
    (project.root / "train" / ".amlignore").write_text("notes.md\n")
    (project.root / "train" / "notes.md").write_text("scratch")
    _, executed = project.run()
    assert executed == ["train"]  # .amlignore itself is new: one rerun
    (project.root / "train" / "notes.md").write_text("scratch, edited")
    _, executed = project.run()
    assert executed == []

    # 3. Edit one script so its output changes: it and its downstream rerun.
    train_py = project.root / "train" / "train.py"
    train_py.write_text(train_py.read_text().replace("VERSION = 1", "VERSION = 2"))
    third, executed = project.run()
    assert executed == ["compare", "train"]
    assert _reasons(third) == {
        "extract": [],
        "train": ["source snapshot changed: train.py"],
        "compare": ["upstream output train/model changed"],
    }
    assert third.find_step_run("extract")[0].is_reused
    assert project.report(third) == "full: v2 n=3 lr=10"

    # 4. An edit that leaves the output bytes unchanged does not rerun downstream.
    train_py.write_text(train_py.read_text() + "\n# a comment\n")
    _, executed = project.run()
    assert executed == ["train"]

    # 5. A parameter value changes: only the step using it (and what its output feeds).
    fifth, executed = project.run(pipeline_parameters={"pipeline_arg": 20})
    assert executed == ["compare", "train"]
    assert _reasons(fifth)["train"] == ["parameter pipeline_arg 10 → 20"]

    # 6. A literal argument changes (same parameter as the last execution).
    project.mode = "quick"
    sixth, executed = project.run(pipeline_parameters={"pipeline_arg": 20})
    assert executed == ["compare"]
    assert _reasons(sixth) == {"extract": [], "train": [], "compare": ["argument 4 full → quick"]}

    # 7. Back to the default parameter: train is reused from run 4; compare is
    #    explained against its last execution (which saw the lr=20 model).
    seventh, executed = project.run()
    assert executed == ["compare"]
    assert _reasons(seventh)["compare"] == ["upstream output train/model changed"]


def test_deleted_or_altered_output_is_recomputed(project):
    first, _ = project.run()
    words = first.find_step_run("extract")[0].get_output_data("words")
    shutil.rmtree(project.store.root / words.path_on_datastore)
    second, executed = project.run()
    assert executed == ["extract"]  # same bytes again: train and compare stay reused
    assert _reasons(second)["extract"] == [f"output extract/words of run {first.id} was deleted"]
    assert project.report(second) == project.report(first)

    model = second.find_step_run("train")[0].get_output_data("model")
    target = project.store.root / model.path_on_datastore / "model.txt"
    target.write_text(target.read_text().replace("n=3", "n=9"))  # tampered
    third, executed = project.run()
    assert executed == ["train"]
    assert _reasons(third)["train"] == [f"output train/model of run {first.id} was altered"]
    assert project.report(third).endswith("n=3 lr=10")


def test_allow_reuse_false_and_regenerate_outputs_always_run(project):
    project.run()
    run, executed = project.run(project.pipeline(allow_reuse=False))
    assert executed == ["train"]
    assert _reasons(run)["train"] == ["allow_reuse=False"]

    run, executed = project.run(regenerate_outputs=True)
    assert executed == ["compare", "extract", "train"]
    assert set(map(tuple, _reasons(run).values())) == {("regenerate_outputs",)}
    _, executed = project.run()  # regenerated results are reusable afterwards
    assert executed == []


def test_data_aware_reuse_notices_new_content_at_the_same_path(project):
    project.run()
    project.write_input("alpha beta gamma delta")
    _, executed = project.run()
    assert executed == []  # v1 semantics: same path, same step -> reused (stale!)

    project.data_aware = True
    first, executed = project.run()
    assert executed == ["compare", "extract", "train"]
    _, executed = project.run()
    assert executed == []
    time.sleep(0.01)
    project.write_input("alpha beta gamma delta epsilon")
    changed, executed = project.run()
    assert executed == ["compare", "extract", "train"]
    assert _reasons(changed)["extract"] == [
        f"input raw data changed at workspaceblobstore:{project.data_prefix}"
    ]
    assert project.report(changed) == "full: v1 n=5 lr=10"
    assert first.id != changed.id


def test_two_identical_runs_started_together_execute_once(project):
    project.run()  # warm: both runs then differ from it only by the parameter
    pipeline = project.pipeline()
    exp = Experiment(project.ws, project.experiment)
    before = len(project.executions())
    runs = [exp.submit(pipeline, pipeline_parameters={"pipeline_arg": 77}) for _ in range(2)]
    assert [r.wait_for_completion(show_output=False, timeout_seconds=300) for r in runs] == [
        "Finished",
        "Finished",
    ]
    executed = sorted(project.executions()[before:])
    assert executed == ["compare", "train"]  # each body once, not twice
    reused = [r.find_step_run("train")[0].is_reused for r in runs]
    assert sorted(reused) == [False, True]
    assert project.report(runs[0]) == project.report(runs[1]) == "full: v1 n=3 lr=77"


def _asset_events(ws, run_id: str) -> dict[str, tuple[str, dict]]:
    """Asset events of one run from the metadata DB: asset name -> (source task, extra)."""
    import json
    import sqlite3

    db = sqlite3.connect(ws.airflow_home / "airflow.db")
    rows = db.execute(
        "SELECT a.name, e.source_task_id, e.extra FROM asset_event e JOIN asset a "
        "ON a.id = e.asset_id WHERE e.source_run_id = ?",
        (run_id,),
    ).fetchall()
    db.close()
    return {name: (task, json.loads(extra)) for name, task, extra in rows}


def test_asset_events_come_from_the_step_or_from_its_reuse(project):
    first, _ = project.run()
    second, executed = project.run()
    assert executed == []
    exp = project.experiment
    computed, reused = _asset_events(project.ws, first.id), _asset_events(project.ws, second.id)
    names = {
        f"aml.{exp}.{t}.{o}"
        for t, o in (("extract", "words"), ("train", "model"), ("compare", "report"))
    }
    assert set(computed) == set(reused) == names
    task, extra = computed[f"aml.{exp}.train.model"]
    assert task == "train"
    assert extra["path"] == f"azureml/{first.id}_train/model"
    task, extra = reused[f"aml.{exp}.train.model"]
    assert task == "train"  # the reused step itself emits the event, with reused_from
    assert extra["path"] == f"azureml/{first.id}_train/model"
    assert extra["reused_from"]["run_id"] == first.id
