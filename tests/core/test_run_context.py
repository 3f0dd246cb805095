"""Run.get_context(): offline outside a step, recording into the run record inside one."""

from __future__ import annotations

import io
import json

import pytest

from airflow_aml.core import Run, Workspace
from airflow_aml.exceptions import UserErrorException, ValidationError
from airflow_aml.runtime import contract
from airflow_aml.runtime.record import (
    FILES,
    METRICS,
    PARENT_METRICS,
    PARENT_TAGS,
    TAGS,
    read_metrics,
    read_tags,
)

_RUN_ENV = (
    contract.ENV_RECORD,
    contract.ENV_RUN_ID,
    contract.ENV_PARENT_RUN_ID,
    contract.ENV_WORKSPACE,
    contract.ENV_EXPERIMENT,
    contract.ENV_DATASETS,
    contract.ENV_DATASET_OUTPUTS,
)


@pytest.fixture
def offline(monkeypatch):
    for name in _RUN_ENV:
        monkeypatch.delenv(name, raising=False)
    return Run.get_context()


@pytest.fixture
def step_env(tmp_path, monkeypatch):
    """The environment a step operator gives a script."""
    ws = Workspace("sub", "rg", "run_ws", home=tmp_path / "ws_home")
    record = tmp_path / "record"
    monkeypatch.setenv("AIRFLOW_AML_RUN_RECORD", str(record))
    monkeypatch.setenv("AZUREML_RUN_ID", "manual__2025_train")
    monkeypatch.setenv("AZUREML_ROOT_RUN_ID", "manual__2025")
    monkeypatch.setenv("AIRFLOW_AML_WORKSPACE", json.dumps(ws._to_runtime_config()))
    monkeypatch.setenv("AZUREML_ARM_PROJECT_NAME", "my-experiment")
    monkeypatch.delenv("AZUREML_DATASET_ENVIRONMENT_VARS", raising=False)
    monkeypatch.delenv("AZUREML_DATASET_FILE_OUTPUTS", raising=False)
    return {"ws": ws, "record": record}


# ------------------------------------------------------------------ offline
def test_env_names_match_sdk_v1():
    assert contract.ENV_RECORD == "AIRFLOW_AML_RUN_RECORD"
    assert contract.ENV_RUN_ID == "AZUREML_RUN_ID"
    assert contract.ENV_PARENT_RUN_ID == "AZUREML_ROOT_RUN_ID"
    assert contract.ENV_WORKSPACE == "AIRFLOW_AML_WORKSPACE"
    assert contract.ENV_EXPERIMENT == "AZUREML_ARM_PROJECT_NAME"
    assert contract.ENV_DATASETS == "AZUREML_DATASET_ENVIRONMENT_VARS"


def test_offline_run_prints(offline, capsys, tmp_path):
    assert offline.id == "OfflineRun"
    assert type(offline).__name__ == "_OfflineRun"
    offline.log("accuracy", 0.91)
    offline.log_list("losses", [3, 2, 1])
    offline.tag("team", "ml")
    out = capsys.readouterr().out
    assert "accuracy" in out and "0.91" in out
    assert "losses" in out and "[3, 2, 1]" in out
    assert "team=ml" in out and "offline" in out
    f = tmp_path / "f.txt"
    f.write_text("x", encoding="utf-8")
    assert offline.upload_file("f.txt", str(f)) is None
    assert "f.txt" in capsys.readouterr().out


def test_offline_run_has_no_experiment(offline):
    with pytest.raises(UserErrorException, match="offline"):
        _ = offline.experiment


def test_offline_not_allowed(monkeypatch):
    for name in _RUN_ENV:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(UserErrorException):
        Run.get_context(allow_offline=False)


def test_record_without_run_id_is_offline(monkeypatch, tmp_path):
    for name in _RUN_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AIRFLOW_AML_RUN_RECORD", str(tmp_path / "rec"))
    run = Run.get_context()
    assert run.id == "OfflineRun"
    run.log("m", 1)
    assert not (tmp_path / "rec").exists()


# ------------------------------------------------------------- inside a step
def test_submitted_run_identity(step_env):
    run = Run.get_context()
    assert type(run).__name__ == "_SubmittedRun"
    assert run.id == "manual__2025_train"
    assert run.parent.id == "manual__2025"
    assert run.experiment.name == "my-experiment"
    assert run.experiment.workspace == step_env["ws"]
    assert run.parent.experiment is run.experiment
    assert Run.get_context(allow_offline=False).id == "manual__2025_train"


def test_metrics_fold_into_v1_shapes(step_env):
    run = Run.get_context()
    run.log("accuracy", 0.9)
    run.log("loss", 1.0)
    run.log("loss", 0.5)
    run.log("loss", 0.25)
    run.log_list("lrs", [0.1, 0.01])
    run.log_row("roc", fpr=0.0, tpr=0.0)
    run.log_row("roc", fpr=0.5, tpr=0.8)
    run.log_table("confusion", {"actual": [0, 1], "predicted": [0, 0]})
    metrics = read_metrics(step_env["record"] / METRICS)
    assert metrics == {
        "accuracy": 0.9,
        "loss": [1.0, 0.5, 0.25],
        "lrs": [0.1, 0.01],
        "roc": {"fpr": [0.0, 0.5], "tpr": [0.0, 0.8]},
        "confusion": {"actual": [0, 1], "predicted": [0, 0]},
    }
    # Nothing reached the pipeline run.
    assert read_metrics(step_env["record"] / PARENT_METRICS) == {}


def test_metric_lines_keep_kind_description_and_step(step_env):
    run = Run.get_context()
    run.log("acc", 0.5, description="validation accuracy", step=3)
    lines = (step_env["record"] / METRICS).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["name"] == "acc"
    assert entry["value"] == 0.5
    assert entry["kind"] == "scalar"
    assert entry["description"] == "validation accuracy"
    assert entry["step"] == 3


def test_tags(step_env):
    run = Run.get_context()
    run.tag("stage", "train")
    run.tag("flag")
    run.set_tags({"team": "ml", "attempt": 2})
    run.tag("stage", "final")
    tags = read_tags(step_env["record"] / TAGS)
    assert "flag" in tags  # a key-only tag (v1 allows value=None)
    del tags["flag"]
    assert tags == {"stage": "final", "team": "ml", "attempt": "2"}


def test_parent_log_and_tag_go_to_pipeline_record(step_env):
    run = Run.get_context()
    run.parent.log("pipeline_score", 42)
    run.parent.log("pipeline_score", 43)
    run.parent.tag("best", "yes")
    record = step_env["record"]
    assert read_metrics(record / PARENT_METRICS) == {"pipeline_score": [42, 43]}
    assert read_tags(record / PARENT_TAGS) == {"best": "yes"}
    assert read_metrics(record / METRICS) == {}
    assert read_tags(record / TAGS) == {}


def test_upload_file_from_path_and_stream(step_env, tmp_path):
    run = Run.get_context()
    src = tmp_path / "model.pkl"
    src.write_bytes(b"\x80model")
    stored = run.upload_file("outputs/model.pkl", str(src))
    assert stored == "outputs/model.pkl"
    stored2 = run.upload_file("notes/readme.txt", io.BytesIO(b"hello"))
    assert stored2 == "notes/readme.txt"
    files = step_env["record"] / FILES
    assert (files / "outputs" / "model.pkl").read_bytes() == b"\x80model"
    assert (files / "notes" / "readme.txt").read_bytes() == b"hello"


def test_log_image_stores_file_and_metric(step_env, tmp_path):
    png = tmp_path / "plot.png"
    png.write_bytes(b"\x89PNG fake")
    run = Run.get_context()
    run.log_image("roc_curve", path=str(png))
    record = step_env["record"]
    assert (record / FILES / "images" / "roc_curve.png").read_bytes() == b"\x89PNG fake"
    assert read_metrics(record / METRICS) == {"roc_curve": "images/roc_curve.png"}


@pytest.mark.parametrize("bad", ["../escape.txt", "a/../../escape.txt", "/abs/escape.txt"])
def test_upload_file_traversal_refused(step_env, tmp_path, bad):
    src = tmp_path / "payload.txt"
    src.write_text("payload", encoding="utf-8")
    run = Run.get_context()
    with pytest.raises(ValidationError, match="must be relative to the datastore"):
        run.upload_file(bad, str(src))
    record = step_env["record"]
    assert not (record / "escape.txt").exists()
    assert not (tmp_path / "escape.txt").exists()
    files = record / FILES
    assert not files.exists() or not any(files.rglob("*"))


def test_input_datasets_from_env(step_env, monkeypatch):
    monkeypatch.setenv("AZUREML_DATASET_ENVIRONMENT_VARS", "raw_data:mount,ref_data:download")
    monkeypatch.setenv("raw_data", "/mnt/inputs/raw")
    monkeypatch.setenv("ref_data", "/tmp/ref")
    run = Run.get_context()
    assert run.input_datasets == {"raw_data": "/mnt/inputs/raw", "ref_data": "/tmp/ref"}


def test_input_datasets_empty_without_env(step_env):
    assert Run.get_context().input_datasets == {}


def test_output_datasets_from_env(step_env, monkeypatch):
    monkeypatch.setenv("AZUREML_DATASET_FILE_OUTPUTS", "out_a;out_b")
    monkeypatch.setenv("out_a", "/out/a")
    monkeypatch.setenv("out_b", "/out/b")
    assert Run.get_context().output_datasets == {"out_a": "/out/a", "out_b": "/out/b"}


def test_read_metrics_skips_torn_last_line(tmp_path):
    path = tmp_path / METRICS
    path.write_text(
        json.dumps({"name": "a", "value": 1, "kind": "scalar"}) + "\n" + '{"name": "b", "val',
        encoding="utf-8",
    )
    assert read_metrics(path) == {"a": 1}
    assert read_metrics(tmp_path / "missing.jsonl") == {}
