"""Every file in dags_examples/ imports into Airflow's DagBag, and the example DAG runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_aml.backends.runner_pool import RunnerPool

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "dags_examples"


def test_dagbag_imports_every_example_without_errors(ws):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(EXAMPLES))
    assert bag.import_errors == {}
    dag = bag.dags["compare_models"]
    steps = {"extract", "train_nb", "train_centroid", "compare"}
    assert set(dag.task_ids) == steps  # one task per step; it makes its own reuse check
    assert dag.params["pipeline_arg"] == 10
    assert dag.schedule is None or str(dag.schedule) in ("None", "null")
    assert dag.get_task("compare").upstream_task_ids == {"train_nb", "train_centroid"}
    assert dag.get_task("extract").downstream_task_ids == {"train_nb", "train_centroid"}


def test_loader_file_turns_registry_specs_into_dags(ws, make_source, tmp_path, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    from airflow_aml.pipeline.core import Pipeline
    from airflow_aml.pipeline.steps import PythonScriptStep

    src = make_source({"a.py": "print(1)\n"})
    spec = (
        Pipeline(ws, [PythonScriptStep("a.py", name="a", source_directory=str(src))])
        ._compile("loader_check")
        .spec
    )
    registry = tmp_path / "registry"
    (registry / "specs").mkdir(parents=True)
    (registry / "specs" / "loader_check.json").write_text(spec.dumps())
    (registry / "specs" / "broken.json").write_text("{not json")
    monkeypatch.setenv("AIRFLOW__AML__REGISTRY", str(registry))
    bag = DagBag(dag_folder=str(EXAMPLES / "airflow_aml_loader.py"))
    assert bag.import_errors == {}
    assert "loader_check" in bag.dags  # the broken spec did not hide the good one
    broken = bag.dags["broken"]  # ... and shows itself, for that DAG only
    assert "aml-broken-spec" in broken.tags
    assert "cannot load this pipeline" in broken.description
    assert "SpecError: a pipeline spec must be JSON" in broken.description
    assert "airflow_aml_registry" in bag.dags
    assert sorted(bag.dags["loader_check"].task_ids) == ["a"]


@pytest.mark.e2e
def test_demo_main_job_runs_end_to_end(tmp_path):
    """The README's main job: the compare-models pipeline on a fresh embedded home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "AIRFLOW__"))}
    env["AIRFLOW_AML_HOME"] = str(tmp_path / "home")
    try:
        out = subprocess.run(
            [sys.executable, str(EXAMPLES / "compare_models" / "run.py")],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:  # the demo leaves warm runners behind (they exit when idle): stop them now
        RunnerPool(tmp_path / "home" / "registry").stop_all(timeout=5)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "PipelineRun Status: Finished" in out.stdout
    assert "Best model:" in out.stdout
    assert "accuracy_nb" in out.stdout and "accuracy_centroid" in out.stdout
