"""Pipelines whose default datastore is an Azure Blob container (Azurite): outputs,
inputs, run records and the reuse index all live in the container, not on a disk."""

from __future__ import annotations

import pytest
from azure.storage.blob import BlobServiceClient

from airflow_aml.core import Workspace
from airflow_aml.core.datastore import AzureBlobDatastore
from tests.e2e.test_reuse import Project, _reasons

pytestmark = pytest.mark.e2e


@pytest.fixture
def blob_ws(tmp_path_factory, blob_container):
    """A fresh embedded workspace whose ``workspaceblobstore`` is the test container."""
    home = tmp_path_factory.mktemp("blob_home")
    workspace = Workspace(
        "sub", "rg", "blob_ws", home=home, datastore=f"wasb://aml_blob@{blob_container}"
    )
    yield workspace
    workspace._backend.shutdown()


def _blobs(azurite_blob, container: str, prefix: str) -> list[str]:
    client = BlobServiceClient.from_connection_string(azurite_blob.connection_string)
    return sorted(
        b.name for b in client.get_container_client(container).list_blobs(name_starts_with=prefix)
    )


def test_pipeline_on_a_blob_datastore_runs_reuses_and_reads_back(
    blob_ws, blob_container, azurite_blob, tmp_path, experiment_name
):
    store = blob_ws.get_default_datastore()
    assert isinstance(store, AzureBlobDatastore)
    project = Project(blob_ws, tmp_path / "project", experiment_name)

    first, executed = project.run()
    assert executed == ["compare", "extract", "train"]
    assert project.report(first) == "full: v1 n=3 lr=10"
    train = first.find_step_run("train")[0]
    out = train.get_output_data("model")
    assert out.datastore_name == "workspaceblobstore"
    names = _blobs(azurite_blob, blob_container, f"azureml/{first.id}_train/")
    assert f"azureml/{first.id}_train/model/model.txt" in names
    assert f"azureml/{first.id}_train/.outputs/model.json" in names  # the commit manifest
    assert any(n.startswith(f"azureml/{first.id}_train/.run/") for n in names)
    assert not any(".staging" in n for n in names)
    assert train.get_status() == "Finished"
    assert train.properties["airflow.try_number"] == 1  # from the run record, read from blob
    assert _blobs(azurite_blob, blob_container, "azureml/.reuse/index/")

    # Unchanged: reused from the blob reuse index, nothing executes.
    second, executed = project.run()
    assert executed == []
    assert all(s.is_reused for s in second.get_steps())
    assert project.report(second) == project.report(first)

    # New input data on the blob datastore reruns the data-aware first step only
    # as far as its output bytes change.
    project.data_aware = "digest"
    _, executed = project.run()
    assert executed == ["extract"]  # data-aware is a new fingerprint component
    project.write_input("alpha beta gamma delta")
    fourth, executed = project.run()
    assert executed == ["compare", "extract", "train"]
    assert _reasons(fourth)["extract"][0].startswith("input raw")
    assert project.report(fourth) == "full: v1 n=4 lr=10"


def test_deleted_blob_output_is_recomputed_not_reused(
    blob_ws, blob_container, azurite_blob, tmp_path, experiment_name
):
    project = Project(blob_ws, tmp_path / "project", experiment_name)
    first, _ = project.run()
    client = BlobServiceClient.from_connection_string(azurite_blob.connection_string)
    client.get_container_client(blob_container).delete_blob(
        f"azureml/{first.id}_train/model/model.txt"
    )
    second, executed = project.run()
    assert executed == ["train"]
    assert any("was deleted" in r for r in _reasons(second)["train"]), _reasons(second)
    assert project.report(second) == "full: v1 n=3 lr=10"


def test_blob_steps_leave_no_local_staging_behind(blob_ws, make_source, experiment_name):
    """A step's outputs for a blob datastore are staged in its work folder, which goes
    when the step ends: after success and after failure (no disk leak on workers)."""
    import tempfile
    from pathlib import Path

    from airflow_aml.core import Experiment
    from airflow_aml.exceptions import StepRunFailed
    from airflow_aml.pipeline.core import Pipeline, PipelineData
    from airflow_aml.pipeline.steps import PythonScriptStep

    write = (
        "import os, sys\nos.makedirs(sys.argv[1], exist_ok=True)\n"
        "open(os.path.join(sys.argv[1], 'x.txt'), 'w').write('x')\n"
        "sys.exit(int(sys.argv[2]))\n"
    )
    src = make_source({"write.py": write})
    tmp = Path(tempfile.gettempdir())  # the runners' temporary folder too (TMPDIR)

    def leftovers() -> list[str]:
        return sorted(p.name for p in tmp.glob("aml-*stag*")) + sorted(
            p.name for p in tmp.glob("aml-write_*")
        )

    for code in (0, 1):
        out = PipelineData("out")
        step = PythonScriptStep(
            "write.py",
            name=f"write_{code}",
            arguments=[out, str(code)],
            outputs=[out],
            source_directory=str(src),
            allow_reuse=False,
        )
        run = Experiment(blob_ws, experiment_name).submit(Pipeline(blob_ws, [step]))
        if code:
            with pytest.raises(StepRunFailed):
                run.wait_for_completion(show_output=False, timeout_seconds=300)
        else:
            assert run.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"
        assert leftovers() == []
