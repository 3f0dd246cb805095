"""One error tree (DESIGN §10): every exception class of airflow_aml derives from AmlError,
the tree drawn in ``airflow_aml/exceptions.py`` is the real one, and errors that used to
reach users as bare ``ValueError`` / ``KeyError`` / ``OSError`` / ``RuntimeError`` /
``AssertionError`` are typed errors of the tree naming what is wrong."""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import airflow_aml.exceptions as exc_module
from airflow_aml.exceptions import (
    ActivityFailedException,
    AmlError,
    ApiError,
    ComputeTargetException,
    DatastoreException,
    ExperimentExecutionException,
    NotSupportedError,
    RecordNotFound,
    StepFailed,
    UserErrorException,
    ValidationError,
)

ROOT = Path(__file__).resolve().parents[1]

# Lists every class that derives from BaseException and is defined in a module of
# the package (each module imported), as JSON; run in a fresh interpreter so
# importing every module (plugin, API app, operators) leaves this session alone.
_WALK = """
import importlib, inspect, json, pkgutil, sys
import airflow_aml
from airflow_aml.exceptions import AmlError
try:
    from starlette.exceptions import HTTPException
except ImportError:
    HTTPException = ()
found, failed = [], []
for info in pkgutil.walk_packages(airflow_aml.__path__, "airflow_aml."):
    try:
        module = importlib.import_module(info.name)
    except Exception as exc:
        failed.append(f"{info.name}: {type(exc).__name__}: {exc}")
        continue
    for name, obj in vars(module).items():
        if (
            inspect.isclass(obj)
            and issubclass(obj, BaseException)
            and obj.__module__ == module.__name__
            and obj.__name__ == name
        ):
            found.append({
                "module": module.__name__,
                "name": name,
                "aml": issubclass(obj, AmlError),
                "bases": [b.__name__ for b in obj.__bases__],
                "http_response": bool(HTTPException) and issubclass(obj, HTTPException),
            })
json.dump({"found": found, "failed": failed}, sys.stdout)
"""


@pytest.fixture(scope="module")
def package_exceptions() -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", _WALK],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def tree_classes(package_exceptions) -> dict[str, dict[str, Any]]:
    """The AmlError classes of the package by name (names are unique)."""
    ours = [c for c in package_exceptions["found"] if c["aml"]]
    names = [c["name"] for c in ours]
    assert len(names) == len(set(names)), f"two error classes share a name: {sorted(names)}"
    return {c["name"]: c for c in ours}


def _module_classes() -> dict[str, type]:
    return {
        name: obj
        for name, obj in vars(exc_module).items()
        if inspect.isclass(obj) and obj.__module__ == exc_module.__name__ and obj.__name__ == name
    }


# ----------------------------------------------------------------- the tree
def test_every_exception_class_of_the_package_derives_from_aml_error(package_exceptions):
    assert package_exceptions["failed"] == [], "modules that do not import"
    found = package_exceptions["found"]
    # The one exemption: a private class that is the web framework's own way to answer
    # (an HTTPException the app turns into a JSON response): never seen as a traceback.
    outside = [
        f"{c['module']}.{c['name']}"
        for c in found
        if not c["aml"] and not (c["name"].startswith("_") and c["http_response"])
    ]
    assert outside == [], f"exception classes outside the AmlError tree: {outside}"
    # The walk sees the tree itself, so it did look.
    defined = {(c["module"], c["name"]) for c in found}
    assert ("airflow_aml.exceptions", "StepFailed") in defined
    assert ("airflow_aml.exceptions", "ApiError") in defined


def _drawn_tree_text() -> str:
    return (exc_module.__doc__ or "").split("::\n", 1)[1]


def _drawn_tree() -> list[tuple[int, str, str]]:
    """(depth, class name, line) of every line of the tree drawn in the module docstring;
    the depth is the column of the name (4 per level, from the root's column)."""
    rows: list[tuple[int, str, str]] = []
    root_column = None
    for line in _drawn_tree_text().splitlines():
        if not line.strip():
            if rows:
                break  # the drawing ends at the first blank line after it
            continue
        m = re.match(r"^[\s│├└─]*([A-Za-z]\w*)", line)
        assert m, f"not a tree line: {line!r}"
        column = m.start(1)
        if root_column is None:
            root_column = column
        offset = column - root_column
        assert offset >= 0 and offset % 4 == 0, f"misaligned tree line: {line!r}"
        rows.append((offset // 4, m.group(1), line))
    return rows


def test_the_drawn_tree_is_the_class_tree(tree_classes):
    rows = _drawn_tree()
    assert rows[0][:2] == (0, "AmlError")
    parents: list[str] = []
    placed: dict[str, set[str]] = {}
    for depth, name, line in rows:
        assert name in tree_classes, f"the tree names {name!r}, which is no error class"
        cls = tree_classes[name]
        if cls["module"] != exc_module.__name__:
            assert cls["module"] in line, f"the tree line of {name} must name {cls['module']}"
        del parents[depth:]
        if depth:
            assert len(parents) == depth, f"{name}: the tree skips a level"
            parent = parents[-1]
            assert parent in cls["bases"], (
                f"the tree draws {name} under {parent}; its bases are {cls['bases']}"
            )
            placed.setdefault(name, set()).add(parent)
        parents.append(name)
    missing = sorted(set(tree_classes) - {name for _, name, _ in rows})
    assert missing == [], f"error classes missing from the drawn tree: {missing}"
    assert set(_module_classes()) <= {name for _, name, _ in rows}
    for name, cls in tree_classes.items():
        if name != "AmlError":
            bases = set(cls["bases"])
            assert placed[name] == bases, f"{name} is drawn under {placed[name]}, bases {bases}"


def test_the_tree_names_the_v1_root_alias_and_all_lists_every_class():
    assert exc_module.AzureMLException is AmlError
    assert "AzureMLException" in _drawn_tree_text()
    assert set(_module_classes()) <= set(exc_module.__all__)
    assert all(hasattr(exc_module, name) for name in exc_module.__all__)


def test_moved_classes_keep_their_old_import_paths():
    from airflow_aml.api.service import ApiError as service_api_error
    from airflow_aml.operators.base import StepFailed as base_step_failed

    assert base_step_failed is StepFailed
    assert service_api_error is ApiError


def test_step_failed_carries_the_stderr_tail():
    err = StepFailed("script 'train.py' exited with code 3", "Traceback ...\nKeyError: 'x'")
    assert isinstance(err, ActivityFailedException) and err.status == "Failed"
    assert err.stderr_tail == "Traceback ...\nKeyError: 'x'"
    assert str(err) == (
        "script 'train.py' exited with code 3\n--- stderr (last lines) ---\n"
        "Traceback ...\nKeyError: 'x'"
    )
    assert str(StepFailed("input 'raw': /x does not exist")) == "input 'raw': /x does not exist"


def test_api_error_is_a_user_error_with_a_status():
    err = ApiError(404, "published pipeline 'p' not found")
    assert isinstance(err, UserErrorException)
    assert (err.status, err.reason) == (404, "published pipeline 'p' not found")
    assert str(err) == err.reason


# ------------------------------------------------------- the converted cases
@pytest.fixture
def step_env(tmp_path, monkeypatch):
    """A step's environment, as the operator gives it (see tests/core/test_run_context.py)."""
    record = tmp_path / "record"
    monkeypatch.setenv("AIRFLOW_AML_RUN_RECORD", str(record))
    monkeypatch.setenv("AZUREML_RUN_ID", "manual__2025_train")
    monkeypatch.setenv("AZUREML_ROOT_RUN_ID", "manual__2025")
    return record


@pytest.mark.parametrize(
    "log",
    [
        lambda run: run.log("", 1),
        lambda run: run.log(None, 1),
        lambda run: run.log_list("", [1, 2]),
        lambda run: run.log_row("", a=1),
        lambda run: run.parent.log("", 1),
    ],
    ids=["log", "log-None", "log_list", "log_row", "parent-log"],
)
def test_an_empty_metric_name_is_a_validation_error(step_env, log):
    from airflow_aml.core import Run

    with pytest.raises(ValidationError, match="a metric name must be a non-empty string") as info:
        log(Run.get_context())
    assert info.value.field == "name"
    assert not (step_env / "metrics.jsonl").exists()


def test_upload_file_errors_name_what_is_wrong(step_env, tmp_path):
    from airflow_aml.core import Run

    run = Run.get_context()
    src = tmp_path / "model.pkl"
    src.write_bytes(b"model")
    with pytest.raises(ValidationError, match="upload_file needs a file name, got ''"):
        run.upload_file("", str(src))
    with pytest.raises(ValidationError, match="upload_file needs a file name, got '.'"):
        run.upload_file(".", str(src))
    missing = tmp_path / "nope.pkl"
    with pytest.raises(ValidationError, match=r"'.*nope\.pkl' is not a file") as info:
        run.upload_file("outputs/model.pkl", str(missing))
    assert info.value.field == "path_or_stream"
    with pytest.raises(ValidationError, match="is not a file"):
        run.upload_file("outputs/dir", str(tmp_path))
    assert run.upload_file("outputs/model.pkl", str(src)) == "outputs/model.pkl"


def test_editing_a_missing_registry_record_is_record_not_found(tmp_path):
    from airflow_aml.artifacts.registry import Registry

    registry = Registry(tmp_path / "registry")
    with (
        pytest.raises(RecordNotFound, match="no published pipeline 'nope' in the workspace") as e,
        registry.update("published", "nope"),
    ):
        pass  # pragma: no cover
    info = e
    assert isinstance(info.value, UserErrorException)
    assert str(tmp_path / "registry") in str(info.value)
    with (
        pytest.raises(RecordNotFound, match=r"no pipeline endpoint '\.hidden'"),
        registry.update("endpoints", ".hidden"),
    ):
        pass  # pragma: no cover


def test_an_unreadable_registry_spec_is_a_datastore_error_in_its_stand_in_dag(
    tmp_path, monkeypatch
):
    from airflow_aml.artifacts.registry import Registry
    from airflow_aml.compiler.loader import dags_from_registry

    monkeypatch.setattr(Registry, "spec_texts", lambda self: [("gone", None)])
    dags = dags_from_registry(tmp_path / "registry")
    broken = dags["aml_broken__gone"]
    assert broken.description.startswith(
        "airflow-aml cannot load this pipeline: DatastoreException: spec gone.json cannot be "
        f"read from {tmp_path / 'registry'}"
    )


def test_an_unknown_step_kind_is_not_supported():
    from airflow_aml.compiler.step_kinds import kind_named

    with pytest.raises(NotSupportedError, match="step kind 'HyperDriveStep' is not supported"):
        kind_named("HyperDriveStep")
    assert kind_named("PythonScriptStep").name == "PythonScriptStep"


def test_deleting_a_compute_target_without_workspace_says_so():
    from airflow_aml.core.compute import AmlCompute

    target = AmlCompute(None, "cpu")
    with pytest.raises(ComputeTargetException, match="'cpu' belongs to no workspace"):
        target.delete()


def test_a_run_canceled_before_it_started_records_a_typed_error(tmp_path):
    run_file = tmp_path / "r1.json"
    run_file.write_text(json.dumps({"spec": {}, "run_id": "r1", "conf": {}}), encoding="utf-8")
    (tmp_path / "r1.canceled").write_text("1", encoding="utf-8")
    code = (
        "import sys; from pathlib import Path;"
        "from airflow_aml.backends.embedded_runner import run_job; run_job(Path(sys.argv[1]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(run_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / "r1.done").read_text(encoding="utf-8") == "error"
    error = (tmp_path / "r1.error").read_text(encoding="utf-8")
    assert error.startswith(
        "ExperimentExecutionException: the run was canceled before it started\n"
    )
    assert issubclass(ExperimentExecutionException, AmlError)


def test_datastore_errors_are_user_errors():
    # A user's ``except UserErrorException`` catches storage refusals too.
    assert issubclass(DatastoreException, UserErrorException)
