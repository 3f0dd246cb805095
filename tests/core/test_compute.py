"""Compute targets: lookup, the v1 create idiom, AmlCompute pools in the spec."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from airflow_aml.core import Workspace
from airflow_aml.core.compute import (
    AmlCompute,
    AmlComputeStatus,
    ComputeTarget,
    ComputeTargetStatus,
    LocalCompute,
)
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
    assert target.get_status() == "Succeeded"  # a status object, equal to its state string

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


# ------------------------------------------------------------------- status
V1_STATUS_KEYS = {
    "currentNodeCount",
    "targetNodeCount",
    "nodeStateCounts",
    "allocationState",
    "allocationStateTransitionTime",
    "errors",
    "creationTime",
    "modifiedTime",
    "provisioningState",
    "provisioningStateTransitionTime",
    "scaleSettings",
    "vmPriority",
    "vmSize",
}
V1_NODE_COUNT_KEYS = {
    "preparingNodeCount",
    "runningNodeCount",
    "idleNodeCount",
    "unusableNodeCount",
    "leavingNodeCount",
    "preemptedNodeCount",
}


def test_amlcompute_status_shape_before_any_run(fresh_ws):
    """No run used the cluster yet: its pool does not exist; every node is idle."""
    config = AmlCompute.provisioning_configuration(
        vm_size="STANDARD_D2_V2",
        vm_priority="lowpriority",
        min_nodes=1,
        max_nodes=3,
        idle_seconds_before_scaledown=600,
    )
    target = ComputeTarget.create(fresh_ws, "shape", config)
    status = target.get_status()
    assert isinstance(status, AmlComputeStatus)
    data = status.serialize()
    assert set(data) == V1_STATUS_KEYS
    assert set(data["nodeStateCounts"]) == V1_NODE_COUNT_KEYS
    assert data["currentNodeCount"] == 3
    assert data["targetNodeCount"] == 3
    assert data["nodeStateCounts"]["idleNodeCount"] == 3
    assert data["nodeStateCounts"]["runningNodeCount"] == 0
    assert data["nodeStateCounts"]["preparingNodeCount"] == 0
    assert data["allocationState"] == "Steady"
    assert data["provisioningState"] == "Succeeded"
    assert data["errors"] is None
    assert data["scaleSettings"] == {
        "minNodeCount": 1,
        "maxNodeCount": 3,
        "nodeIdleTimeBeforeScaleDown": "PT600S",
    }
    assert data["vmSize"] == "STANDARD_D2_V2"
    assert data["vmPriority"] == "LowPriority"
    created = datetime.fromisoformat(data["creationTime"])
    assert created.tzinfo is not None
    assert json.loads(json.dumps(data)) == data  # JSON-ready
    # Reloaded from the workspace: same creation time; ``.status`` is the same object kind.
    again = AmlCompute(fresh_ws, "shape")
    assert again.status.serialize() == data
    assert str(again.status) == "Succeeded"
    assert again.get_status() == "Succeeded" and again.get_status() != "Failed"


def test_status_tolerates_entries_without_creation_time(fresh_ws):
    """compute.json written by an older version has no creation time."""
    (fresh_ws.home / "compute.json").write_text(
        json.dumps({"compute_targets": {"old": {"type": "AmlCompute", "config": {"max_nodes": 2}}}})
    )
    data = AmlCompute(fresh_ws, "old").get_status().serialize()
    assert data["creationTime"] is None
    assert data["targetNodeCount"] == 2
    assert data["scaleSettings"]["minNodeCount"] == 0
    assert data["vmPriority"] == "Dedicated"


@pytest.mark.parametrize(
    ("pool", "expected"),
    [
        (
            {
                "slots": 4,
                "running_slots": 2,
                "queued_slots": 1,
                "scheduled_slots": 1,
                "open_slots": 1,
            },
            {"current": 4, "running": 2, "preparing": 2, "idle": 1, "allocation": "Steady"},
        ),
        (  # the pool still has the old size: the cluster is resizing
            {"slots": 2, "running_slots": 2, "queued_slots": 1, "open_slots": -1},
            {"current": 2, "running": 2, "preparing": 1, "idle": 0, "allocation": "Resizing"},
        ),
    ],
)
def test_amlcompute_status_maps_pool_figures(fresh_ws, monkeypatch, pool, expected):
    target = ComputeTarget.create(
        fresh_ws, "busy", AmlCompute.provisioning_configuration(max_nodes=4)
    )
    seen = []

    def pool_status(name):
        seen.append(name)
        return {"name": name, **pool}

    monkeypatch.setattr(fresh_ws._backend, "pool_status", pool_status)
    data = target.get_status().serialize()
    assert seen == ["aml_busy"]
    assert data["currentNodeCount"] == expected["current"]
    assert data["targetNodeCount"] == 4
    counts = data["nodeStateCounts"]
    assert counts["runningNodeCount"] == expected["running"]
    assert counts["preparingNodeCount"] == expected["preparing"]
    assert counts["idleNodeCount"] == expected["idle"]
    assert data["allocationState"] == expected["allocation"]


def test_local_compute_status_object():
    status = LocalCompute(None, None).get_status()
    assert isinstance(status, ComputeTargetStatus)
    assert status == "Succeeded" and str(status) == "Succeeded"
    assert status.serialize()["provisioningState"] == "Succeeded"
    assert status.serialize()["computeType"] == "Local"


def test_wait_for_completion_prints_v1_lines(fresh_ws, capsys):
    target = ComputeTarget.create(
        fresh_ws, "c1", AmlCompute.provisioning_configuration(max_nodes=2)
    )
    target.wait_for_completion(show_output=True, min_node_count=1, timeout_in_minutes=20)
    out = capsys.readouterr().out
    assert 'Provisioning operation finished, operation "Succeeded"' in out
    assert "AmlCompute wait for completion finished" in out
    assert "Minimum number of nodes requested have been provisioned" in out
    assert "aml_c1 with 2 slot(s)" in out
    target.wait_for_completion(show_output=False)
    assert capsys.readouterr().out == ""
    with pytest.raises(ComputeTargetException, match="max_nodes=2"):
        target.wait_for_completion(min_node_count=3)


def test_update_resizes_on_the_next_run(fresh_ws, monkeypatch):
    target = ComputeTarget.create(
        fresh_ws, "grow", AmlCompute.provisioning_configuration(max_nodes=2)
    )
    pool = {"slots": 2, "running_slots": 0, "queued_slots": 0, "open_slots": 2}
    monkeypatch.setattr(fresh_ws._backend, "pool_status", lambda name: pool)
    target.update(max_nodes=5, idle_seconds_before_scaledown=60)
    assert target.max_nodes == 5 and AmlCompute(fresh_ws, "grow").max_nodes == 5
    data = target.get_status().serialize()
    assert data["allocationState"] == "Resizing"
    assert data["currentNodeCount"] == 2 and data["targetNodeCount"] == 5
    assert data["scaleSettings"]["nodeIdleTimeBeforeScaleDown"] == "PT60S"
    with pytest.raises(ComputeTargetException, match="max_nodes"):
        target.update(max_nodes=0)
    with pytest.raises(ComputeTargetException, match="needs"):
        target.update()


def test_attach_is_not_supported_yet(fresh_ws):
    from airflow_aml.exceptions import NotSupportedError

    with pytest.raises(NotSupportedError, match="ComputeTarget.attach is not supported"):
        ComputeTarget.attach(fresh_ws, "dbx", object())


@pytest.mark.e2e
def test_run_on_amlcompute_creates_its_pool(ws, make_source, experiment_name):
    """A real 1-step run on a cluster; afterwards its Airflow pool exists with max_nodes
    slots and the status reports it, with no step running."""
    from airflow_aml.core import Experiment

    name = f"pool-{experiment_name[-6:]}"
    target = ComputeTarget.create(ws, name, AmlCompute.provisioning_configuration(max_nodes=3))
    try:
        src = make_source({"hello.py": "print('hello from the cluster')\n"})
        step = PythonScriptStep(
            "hello.py", name="hello", compute_target=target, source_directory=str(src)
        )
        run = Experiment(ws, experiment_name).submit(Pipeline(ws, [step]))
        assert run.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"

        pool = ws._backend.pool_status(target.pool)
        assert pool is not None, "the run did not create the cluster's pool"
        assert pool["name"] == f"aml_{name}"
        assert pool["slots"] == 3
        assert pool["running_slots"] == 0 and pool["open_slots"] == 3

        data = AmlCompute(ws, name).get_status().serialize()
        assert data["currentNodeCount"] == data["targetNodeCount"] == 3
        assert data["nodeStateCounts"]["runningNodeCount"] == 0
        assert data["nodeStateCounts"]["idleNodeCount"] == 3
        assert data["allocationState"] == "Steady"
    finally:
        target.delete()


@pytest.mark.e2e
def test_deployed_backend_reads_the_same_pool(ws, ui_server, tmp_path, monkeypatch):
    """``GET /api/v2/pools/{name}`` through the deployed client gives the figures the
    embedded backend reads from the metadata DB (same Airflow home)."""
    from airflow_aml.backends.deployed import DeployedBackend

    monkeypatch.setenv("AIRFLOW_AML_API_TOKEN", ui_server.token)
    client_ws = Workspace(home=tmp_path / "client", api_url=ui_server.base)
    deployed = DeployedBackend(client_ws, ui_server.base)
    embedded = ws._backend.pool_status("default_pool")
    assert embedded is not None and embedded["slots"] > 0
    assert deployed.pool_status("default_pool") == embedded
    assert deployed.pool_status("aml_no-such-cluster") is None
    assert ws._backend.pool_status("aml_no-such-cluster") is None
