"""Compute targets: lookup, the v1 create idiom, AmlCompute pools in the spec."""

from __future__ import annotations

import pytest

from airflow_aml.core import Workspace
from airflow_aml.core.compute import AmlCompute, ComputeTarget, LocalCompute
from airflow_aml.core.runconfig import RunConfiguration
from airflow_aml.exceptions import ComputeTargetException
from airflow_aml.pipeline.core import Pipeline
from airflow_aml.pipeline.steps import PythonScriptStep


@pytest.fixture
def fresh_ws(tmp_path):
    return Workspace("sub", "rg", "compute_ws", home=tmp_path / "ws_home")


def _get_or_create(ws: Workspace, name: str, max_nodes: int = 4) -> ComputeTarget:
    """The SDK v1 notebook idiom, unchanged apart from the import rename."""
    try:
        target = ComputeTarget(workspace=ws, name=name)
        print("Found existing compute target")
    except ComputeTargetException:
        config = AmlCompute.provisioning_configuration(
            vm_size="STANDARD_D2_V2", max_nodes=max_nodes
        )
        target = ComputeTarget.create(ws, name, config)
        target.wait_for_completion(show_output=True)
    return target


def test_missing_compute_target_raises_not_found(fresh_ws):
    with pytest.raises(ComputeTargetException) as info:
        ComputeTarget(fresh_ws, "x")
    assert "ComputeTargetNotFound" in str(info.value)
    assert "'x'" in str(info.value)
    with pytest.raises(ComputeTargetException, match="ComputeTargetNotFound"):
        AmlCompute(fresh_ws, "x")


def test_v1_create_idiom(fresh_ws, capsys):
    target = _get_or_create(fresh_ws, "cpu-cluster", max_nodes=4)
    out = capsys.readouterr().out
    assert "Found existing" not in out
    assert "cpu-cluster" in out and "Succeeded" in out
    assert isinstance(target, AmlCompute)
    assert target.name == "cpu-cluster"
    assert target.type == "AmlCompute"
    assert target.get_status() == "Succeeded"

    again = _get_or_create(fresh_ws, "cpu-cluster", max_nodes=9)
    assert "Found existing compute target" in capsys.readouterr().out
    assert isinstance(again, AmlCompute)
    assert again.max_nodes == 4  # the existing cluster is kept, not re-created


def test_amlcompute_lookup_gives_max_nodes_and_pool(fresh_ws):
    ComputeTarget.create(
        fresh_ws, "gpu", AmlCompute.provisioning_configuration(vm_size="NC6", max_nodes=3)
    )
    target = AmlCompute(fresh_ws, "gpu")
    assert type(target) is AmlCompute
    assert target.max_nodes == 3
    assert target.pool == "aml_gpu"
    generic = ComputeTarget(fresh_ws, "gpu")
    assert type(generic) is AmlCompute
    assert set(fresh_ws.compute_targets) == {"gpu"}
    assert [t.name for t in ComputeTarget.list(fresh_ws)] == ["gpu"]
    # Survives a reload of the workspace.
    reopened = Workspace("sub", "rg", "compute_ws", home=fresh_ws.home)
    assert AmlCompute(reopened, "gpu").max_nodes == 3


def test_lookup_with_wrong_class_refused(fresh_ws):
    ComputeTarget.create(fresh_ws, "cl", AmlCompute.provisioning_configuration(max_nodes=2))
    with pytest.raises(ComputeTargetException, match="not a LocalCompute"):
        LocalCompute(fresh_ws, "cl")


def test_provisioning_rejects_bad_max_nodes():
    with pytest.raises(ComputeTargetException, match="max_nodes"):
        AmlCompute.provisioning_configuration(max_nodes=0)


def test_delete_removes_target(fresh_ws):
    target = ComputeTarget.create(fresh_ws, "tmp", AmlCompute.provisioning_configuration())
    target.delete()
    with pytest.raises(ComputeTargetException, match="ComputeTargetNotFound"):
        ComputeTarget(fresh_ws, "tmp")


# ------------------------------------------------------------ in a pipeline
@pytest.fixture
def cluster(fresh_ws):
    return _get_or_create(fresh_ws, "cpu-cluster", max_nodes=4)


EXPECTED_COMPUTE = {
    "name": "cpu-cluster",
    "type": "AmlCompute",
    "pool": "aml_cpu-cluster",
    "max_nodes": 4,
}


@pytest.mark.parametrize("by", ["object", "name"])
def test_step_on_amlcompute_validates_and_compiles(fresh_ws, cluster, make_source, by):
    src = make_source({"train.py": "print('train')\n"})
    target = cluster if by == "object" else "cpu-cluster"
    step = PythonScriptStep(
        "train.py", name="train", compute_target=target, source_directory=str(src)
    )
    pipeline = Pipeline(fresh_ws, [step])
    assert pipeline.validate() == []
    spec = pipeline._compile("exp").spec
    assert spec is not None
    assert spec.step("train").compute == EXPECTED_COMPUTE


def test_step_compute_from_runconfig_target(fresh_ws, cluster, make_source):
    src = make_source({"train.py": "print('train')\n"})
    rc = RunConfiguration()
    rc.target = cluster
    step = PythonScriptStep("train.py", name="train", runconfig=rc, source_directory=str(src))
    spec = Pipeline(fresh_ws, [step])._compile("exp").spec
    assert spec is not None
    assert spec.step("train").compute == EXPECTED_COMPUTE


def test_step_without_compute_runs_locally(fresh_ws, make_source):
    src = make_source({"train.py": "print('train')\n"})
    step = PythonScriptStep("train.py", name="train", source_directory=str(src))
    spec = Pipeline(fresh_ws, [step])._compile("exp").spec
    assert spec is not None
    assert spec.step("train").compute == {"name": "local", "type": "Local"}


def test_step_on_unknown_compute_name_is_a_validation_error(fresh_ws, make_source):
    src = make_source({"train.py": "print('train')\n"})
    step = PythonScriptStep(
        "train.py", name="train", compute_target="ghost", source_directory=str(src)
    )
    errors = Pipeline(fresh_ws, [step]).validate()
    assert len(errors) == 1
    assert errors[0].step == "train"
    assert errors[0].field == "compute_target"
    assert "'ghost'" in str(errors[0])
