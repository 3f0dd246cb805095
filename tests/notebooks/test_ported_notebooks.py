# ruff: noqa: E501 - the notebooks' code cells keep their own line lengths
"""Public SDK v1 pipeline notebooks, run as a v1 user would: unmodified ``azureml``
imports under the import shim, step scripts with ``from azureml.core import Run``,
REST calls with ``requests`` and ``InteractiveLoginAuthentication``.

The code of each test's script follows the notebook's code cells in order
(Azure/MachineLearningNotebooks, ``how-to-use-azureml/machine-learning-pipelines/
intro-to-pipelines/``); only what needs Azure is replaced, and it is said where.
The embedded UI (``airflow-aml ui``, fixture ``ui_server``) serves the REST routes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e

STEP_SCRIPT = """
import argparse
import os

from azureml.core import Run  # the v1 import, left as it is

parser = argparse.ArgumentParser("train")
parser.add_argument("--arg1", type=str, help="sample string argument")
parser.add_argument("--arg2", type=str, help="sample datapath argument")
args = parser.parse_args()

print("Sample string argument  : %s" % args.arg1)
print("Sample datapath argument: %s" % args.arg2)
run = Run.get_context()
run.log("files", len(os.listdir(args.arg2)))
run.tag("arg1", args.arg1)
with open(os.path.join(args.arg2, "data.txt")) as fh:
    run.parent.tag("seen_" + args.arg1, fh.read().strip())
"""


def _run_under_shim(tmp_path: Path, code: str, timeout: float = 600) -> str:
    script = tmp_path / "notebook.py"
    script.write_text(textwrap.dedent(code), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "airflow_aml.shim", str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ),
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    return out.stdout


def test_datapath_and_pipelineparameter_notebook(ws, ui_server, tmp_path):
    """aml-pipelines-showcasing-datapath-and-pipelineparameter.ipynb (up to the Schedule
    cells: datastore-trigger schedules come with the schedules issue)."""
    (tmp_path / "train_with_datapath.py").write_text(STEP_SCRIPT)
    stdout = _run_under_shim(
        tmp_path,
        """
        import azureml.core
        from azureml.core import Workspace, Experiment
        from azureml.core.compute import ComputeTarget, AmlCompute
        from azureml.data.datapath import DataPath, DataPathComputeBinding
        from azureml.widgets import RunDetails

        from azureml.pipeline.core import PipelineParameter
        from azureml.pipeline.core import Pipeline, PipelineRun
        from azureml.pipeline.steps import PythonScriptStep

        print("SDK version:", azureml.core.VERSION)

        ws = Workspace.from_config()
        print(ws.name, ws.resource_group, ws.location, ws.subscription_id, sep = '\\n')

        experiment_name = 'showcasing-datapath'
        source_directory  = '.'
        experiment = Experiment(ws, experiment_name)

        amlcompute_cluster_name = "cpu-cluster"
        found = False
        cts = ws.compute_targets
        if amlcompute_cluster_name in cts and cts[amlcompute_cluster_name].type == 'AmlCompute':
            found = True
            print('Found existing compute target.')
            compute_target = cts[amlcompute_cluster_name]
        if not found:
            print('Creating a new compute target...')
            provisioning_config = AmlCompute.provisioning_configuration(
                vm_size = "STANDARD_D2_V2", max_nodes = 4)
            compute_target = ComputeTarget.create(ws, amlcompute_cluster_name, provisioning_config)
            compute_target.wait_for_completion(show_output = True, timeout_in_minutes = 10)
        print("STATUS", compute_target.get_status().serialize()["provisioningState"])

        def_blob_store = ws.get_default_datastore()
        print("Default datastore's name: {}".format(def_blob_store.name))

        # Not in the notebook: its sample folders already exist on Azure; create them here.
        import tempfile
        for i in (1, 2, 3):
            folder = tempfile.mkdtemp()
            open(folder + "/data.txt", "w").write(f"contents {i}")
            def_blob_store.upload(folder, target_path=f"sample_datapath{i}", overwrite=True)

        data_path = DataPath(datastore=def_blob_store, path_on_datastore='sample_datapath1')
        datapath1_pipeline_param = PipelineParameter(name="input_datapath", default_value=data_path)
        datapath_input = (datapath1_pipeline_param, DataPathComputeBinding(mode='mount'))

        string_pipeline_param = PipelineParameter(name="input_string", default_value='sample_string1')

        train_step = PythonScriptStep(
            name='train_step',
            script_name="train_with_datapath.py",
            arguments=["--arg1", string_pipeline_param, "--arg2", datapath_input],
            inputs=[datapath_input],
            compute_target=compute_target,
            source_directory=source_directory)
        pipeline = Pipeline(workspace=ws, steps=[train_step])

        pipeline_run = experiment.submit(pipeline)
        RunDetails(pipeline_run).show()
        pipeline_run.wait_for_completion()
        print("RUN1", pipeline_run.get_status(), pipeline_run.get_tags())

        pipeline_run_with_params = experiment.submit(pipeline, \\
                pipeline_parameters={'input_datapath': DataPath(datastore=def_blob_store, path_on_datastore='sample_datapath2'),
                                 'input_string': 'sample_string2'})
        RunDetails(pipeline_run_with_params).show()
        pipeline_run_with_params.wait_for_completion()
        print("RUN2", pipeline_run_with_params.get_status(), pipeline_run_with_params.get_tags())

        published_pipeline = pipeline.publish(name="DataPath_Pipeline", description="Pipeline to test Datapath", continue_on_step_failure=True)

        from azureml.core.authentication import InteractiveLoginAuthentication
        import requests

        auth = InteractiveLoginAuthentication()
        aad_token = auth.get_authentication_header()
        rest_endpoint = published_pipeline.endpoint
        print("You can perform HTTP POST on URL {} to trigger this pipeline".format(rest_endpoint))

        response = requests.post(rest_endpoint,
                                 headers=aad_token,
                                 json={"ExperimentName": "MyRestPipeline",
                                       "RunSource": "SDK",
                                       "DataPathAssignments": {
                                           "input_datapath": {
                                               "DataStoreName": def_blob_store.name,
                                               "RelativePath": 'sample_datapath3'
                                           }
                                       },
                                       "ParameterAssignments": {"input_string": "sample_string3"}
                                      }
                                )
        try:
            response.raise_for_status()
        except Exception:
            raise Exception('Received bad response from the endpoint: {}\\n'
                            'Response Code: {}\\n'
                            'Headers: {}\\n'
                            'Content: {}'.format(rest_endpoint, response.status_code, response.headers, response.content))

        run_id = response.json().get('Id')
        print('Submitted pipeline run: ', run_id)

        published_pipeline_run_via_rest = PipelineRun(ws.experiments["MyRestPipeline"], run_id)
        RunDetails(published_pipeline_run_via_rest).show()
        published_pipeline_run_via_rest.wait_for_completion()
        props = published_pipeline_run_via_rest.get_properties()
        print("RUN3", published_pipeline_run_via_rest.get_status(), published_pipeline_run_via_rest.get_tags())
        print("PIPELINEID", props["azureml.pipelineid"] == published_pipeline.id, props["azureml.runsource"])
        """,
    )
    assert "SDK version: " in stdout
    assert "STATUS Succeeded" in stdout
    # The script got the path on compute of each run's DataPath, set three ways.
    assert "RUN1 Finished {'seen_sample_string1': 'contents 1'}" in stdout
    assert "RUN2 Finished {'seen_sample_string2': 'contents 2'}" in stdout
    assert "RUN3 Finished {'seen_sample_string3': 'contents 3'}" in stdout
    assert "PIPELINEID True azureml.PipelineRun" in stdout
    assert f"{ui_server.base}/aml/pipelines/v1.0/" in stdout  # the endpoint of the served port


def test_versioned_pipeline_endpoints_notebook(ws, ui_server, tmp_path):
    """aml-pipelines-setup-versioned-pipeline-endpoints.ipynb, whole."""
    src = tmp_path / "publish_run_train"
    src.mkdir()
    # The notebook's train.py needs arguments its step does not pass; a v1-style stand-in.
    (src / "train.py").write_text(
        "from azureml.core import Run\nprint('In train.py')\nRun.get_context().log('trained', 1)\n"
    )
    stdout = _run_under_shim(
        tmp_path,
        """
        from azureml.core import Workspace

        ws = Workspace.from_config()
        print(ws.name, ws.resource_group, ws.location, ws.subscription_id, sep = '\\n')

        from azureml.core.compute import AmlCompute, ComputeTarget
        from azureml.pipeline.steps import PythonScriptStep
        from azureml.pipeline.core import Pipeline

        from azureml.core.compute_target import ComputeTargetException
        aml_compute_target = "cpu-cluster-2"
        try:
            aml_compute = AmlCompute(ws, aml_compute_target)
            print("Found existing compute target: {}".format(aml_compute_target))
        except ComputeTargetException:
            print("Creating new compute target: {}".format(aml_compute_target))
            provisioning_config = AmlCompute.provisioning_configuration(vm_size = "STANDARD_D2_V2",
                                                                        min_nodes = 1,
                                                                        max_nodes = 4)
            aml_compute = ComputeTarget.create(ws, aml_compute_target, provisioning_config)
            aml_compute.wait_for_completion(show_output=True, min_node_count=None, timeout_in_minutes=20)

        source_directory = 'publish_run_train'
        trainStep = PythonScriptStep(
            name="Training_Step",
            script_name="train.py",
            compute_target=aml_compute_target,
            source_directory=source_directory
        )
        pipeline = Pipeline(workspace=ws, steps=[trainStep])

        from datetime import datetime
        timenow = datetime.now().strftime('%m-%d-%Y-%H-%M')
        pipeline_name = timenow + "-Pipeline"
        published_pipeline = pipeline.publish(
            name=pipeline_name,
            description=pipeline_name)
        print("Newly published pipeline id: {}".format(published_pipeline.id))

        from azureml.pipeline.core import PipelineEndpoint
        pipeline_endpoint = PipelineEndpoint.publish(workspace=ws, name="PipelineEndpointTest",
                                                    pipeline=pipeline, description="Test description Notebook")

        pipeline_endpoint_by_name = PipelineEndpoint.get(workspace=ws, name="PipelineEndpointTest")
        endpoint_id = pipeline_endpoint_by_name.id
        pipeline_endpoint_by_id = PipelineEndpoint.get(workspace=ws, id=endpoint_id)
        endpoint_list = PipelineEndpoint.get_all(workspace=ws, active_only=True)
        print("LISTED", [e.name for e in endpoint_list])

        default_version = pipeline_endpoint_by_name.get_default_version()
        pipeline_endpoint_by_name.set_default_version("0")
        pipeline = pipeline_endpoint_by_name.get_pipeline("0")
        pipeline = pipeline_endpoint_by_name.get_pipeline()
        pipeline_endpoint_by_name.add(published_pipeline)
        pipeline_endpoint_by_name.set_default(published_pipeline)

        versions = pipeline_endpoint_by_name.get_all_versions()
        for ve in versions:
            print(ve.version)
            print(ve.pipeline.id)
        print("VERSIONS", [ve.version for ve in versions], versions[-1].pipeline.id == published_pipeline.id)
        pipelines = pipeline_endpoint_by_name.get_all_pipelines(active_only=True)
        pipeline_endpoint_by_name.set_name(name="NewName")

        pipeline_endpoint_by_name = PipelineEndpoint.get(workspace=ws, name="NewName")
        rest_endpoint_id =  pipeline_endpoint_by_name.endpoint
        rest_endpoint_id_without_version_with_id = rest_endpoint_id
        version="0"
        rest_endpoint_id_with_version = rest_endpoint_id_without_version_with_id+"/"+ version
        print(rest_endpoint_id_with_version)

        rest_endpoint_name = rest_endpoint_id.split("Id", 1)[0] + "Name?name=" + pipeline_endpoint_by_name.name
        rest_endpoint_name_without_version = rest_endpoint_name
        version="0"
        rest_endpoint_name_with_version = rest_endpoint_name_without_version+"&pipelineVersion="+ version
        print(rest_endpoint_name_with_version)

        from azureml.core.authentication import InteractiveLoginAuthentication
        import requests

        auth = InteractiveLoginAuthentication()
        aad_token = auth.get_authentication_header()
        print("You can perform HTTP POST on URL {} to trigger this pipeline".format(rest_endpoint_name_with_version))
        response = requests.post(rest_endpoint_name_with_version,
                                 headers=aad_token,
                                 json={"ExperimentName": "default_pipeline",
                                       "RunSource": "SDK",
                                       "ParameterAssignments": {"1": "united", "2":"city"}})
        response.raise_for_status()  # the AML service accepts undeclared assignments too
        run_id = response.json()["Id"]
        print(run_id)

        run_id = pipeline_endpoint_by_name.submit("NewName", pipeline_version="0")
        print(run_id)
        run_id = pipeline_endpoint_by_name.submit("NewName")
        print(run_id)

        from azureml.core import Experiment
        pipeline_run = Experiment(ws, name="submit_from_endpoint").submit(pipeline_endpoint_by_name, tags={'endpoint_tag': "1"}, pipeline_version="0")

        # Not in the notebook (it ends at submit): check what the runs did.
        from azureml.pipeline.core import PipelineRun
        rest_run = PipelineRun(ws.experiments["default_pipeline"], response.json()["Id"])
        print("REST", rest_run.wait_for_completion(show_output=False))
        print("IGNORED", rest_run.get_properties().get("airflow_aml.ignoredParameterAssignments"))
        print("TAGS", pipeline_run.wait_for_completion(show_output=False), pipeline_run.get_tags())
        print("DAGRUN", rest_run._dag_id, rest_run.id)
        """,
    )
    assert "PipelineEndpointTest" in stdout.split("LISTED", 1)[1].splitlines()[0]
    assert "VERSIONS ['0', '1'] True" in stdout
    assert "REST Finished" in stdout
    assert "IGNORED 1,2" in stdout
    assert "TAGS Finished {'endpoint_tag': '1'}" in stdout
    dag_id, run_id = stdout.split("DAGRUN ", 1)[1].split()[:2]
    got = httpx.get(
        f"{ui_server.base}/api/v2/dags/{dag_id}/dagRuns/{run_id}",
        headers=ui_server.headers(),
        timeout=30,
    )
    assert got.status_code == 200, got.text
    assert "ParameterAssignments not declared by this pipeline were ignored: 1, 2" in (
        got.json().get("note") or ""
    )
