"""Every SDK v1 import path of AML_API.md §A imports, as ``airflow_aml.X`` and as ``azureml.X``.

Names we do not support yet are placeholders: they import, and every use
raises NotSupportedError naming the alternative. Removing a name fails here.
"""

from __future__ import annotations

import importlib
import inspect
import pickle
import subprocess
import sys

import pytest

from airflow_aml._unsupported import Unsupported
from airflow_aml.exceptions import AmlError, NotSupportedError, UserErrorException

# module path (under airflow_aml. / azureml.) -> names it must export
SURFACE: dict[str, list[str]] = {
    "core": [
        "Workspace", "Experiment", "RunConfiguration", "Environment", "ScriptRunConfig",
        "ScriptRun", "Run", "get_run", "Datastore", "ComputeTarget", "ContainerRegistry",
        "Model", "Image", "Webservice", "Dataset", "Keyvault", "LinkedService",
        "PrivateEndPoint", "PrivateEndPointConfig", "CondaDependencies", "VERSION",
    ],
    "core.compute": [
        "ComputeTarget", "AmlCompute", "AksCompute", "BatchCompute", "ComputeInstance",
        "DsvmCompute", "DataFactoryCompute", "AdlaCompute", "DatabricksCompute",
        "HDInsightCompute", "RemoteCompute", "KubernetesCompute", "KustoCompute",
        "SynapseCompute", "LocalCompute", "AmlComputeProvisioningConfiguration",
        "ComputeTargetException", "AmlComputeStatus", "ComputeTargetStatus",
    ],
    "core.compute.amlcompute": [
        "AmlCompute", "AmlComputeStatus", "AmlComputeProvisioningConfiguration",
    ],
    "core.compute_target": ["ComputeTargetException"],
    "core.runconfig": [
        "RunConfiguration", "DockerConfiguration", "MpiConfiguration", "PyTorchConfiguration",
        "TensorflowConfiguration", "DataReferenceConfiguration", "DEFAULT_CPU_IMAGE",
        "DEFAULT_GPU_IMAGE",
    ],
    "core.conda_dependencies": ["CondaDependencies"],
    "core.environment": [
        "Environment", "CondaDependencies", "DEFAULT_CPU_IMAGE", "DEFAULT_GPU_IMAGE",
    ],
    "core.databricks": ["PyPiLibrary", "MavenLibrary", "JarLibrary", "EggLibrary", "RCranLibrary"],
    "core.authentication": [
        "InteractiveLoginAuthentication", "ServicePrincipalAuthentication", "MsiAuthentication",
        "AzureCliAuthentication",
    ],
    "data": [
        "TabularDataset", "FileDataset", "DataType", "OutputFileDatasetConfig",
        "HDFSOutputDatasetConfig", "LinkFileOutputDatasetConfig",
        "LinkTabularOutputDatasetConfig", "DatacacheStore", "DataReference", "DataPath",
        "DataPathComputeBinding",
    ],
    "data.data_reference": ["DataReference"],
    "data.sql_data_reference": ["SqlDataReference"],
    "data.datapath": ["DataPath", "DataPathComputeBinding"],
    "data.dataset_consumption_config": ["DatasetConsumptionConfig"],
    "data.output_dataset_config": ["OutputFileDatasetConfig", "OutputTabularDatasetConfig"],
    "data.dataset_factory": ["DataType"],
    "pipeline.core": [
        "PipelineStep", "PipelineData", "StepSequence", "Pipeline", "PublishedPipeline",
        "PortDataReference", "OutputPortBinding", "InputPortBinding", "TrainingOutput",
        "PipelineParameter", "PipelineDataset", "Schedule", "ScheduleRecurrence", "TimeZone",
        "PipelineEndpoint", "Module", "ModuleVersion", "ModuleVersionDescriptor", "PipelineRun",
        "StepRun", "StepRunOutput", "PipelineDraft",
    ],
    "pipeline.core.graph": [
        "InputPortDef", "OutputPortDef", "ParamDef", "Graph", "Node", "DataType",
        "StoredProcedureParameter", "StoredProcedureParameterType", "PublishedPipeline",
        "PortDataReference", "OutputPortBinding", "InputPortBinding", "TrainingOutput",
        "PipelineParameter", "PipelineDataset",
    ],
    "pipeline.core.module": ["Module", "ModuleVersion", "ModuleVersionDescriptor"],
    "pipeline.core.pipeline_endpoint": ["PipelineEndpoint", "PipelineVersion"],
    "pipeline.core.schedule": ["Schedule", "ScheduleRecurrence", "TimeZone"],
    "pipeline.steps": [
        "AdlaStep", "AutoMLStep", "AutoMLStepRun", "DatabricksStep", "DataTransferStep",
        "PythonScriptStep", "RScriptStep", "CommandStep", "EstimatorStep", "MpiStep",
        "HyperDriveStep", "HyperDriveStepRun", "AzureBatchStep", "ModuleStep",
        "ParallelRunConfig", "ParallelRunStep", "KustoStep", "SynapseSparkStep",
    ],
    "pipeline.steps.databricks_step": ["DatabricksStep"],
    "pipeline.steps.data_transfer_step": ["DataTransferStep"],
    "pipeline.steps.python_script_step": ["PythonScriptStep"],
    "train.estimator": ["Estimator"],
    "widgets": ["RunDetails"],
    "exceptions": [
        "AzureMLException", "UserErrorException", "WebserviceException",
        "AuthenticationException", "ProjectSystemException", "RunEnvironmentException",
        "TrainingException", "DatasetException", "ComputeTargetException",
        "ActivityFailedException", "ExperimentExecutionException", "WorkspaceException",
        "RunConfigurationException", "SnapshotException", "ModelNotFoundException",
        "ServiceException",
    ],
}  # fmt: skip

ENTRIES = [(mod, name) for mod, names in SURFACE.items() for name in names]
PLACEHOLDERS = sorted(
    {
        (obj.__module__, obj.__qualname__): obj
        for mod, name in ENTRIES
        if isinstance(obj := getattr(importlib.import_module(f"airflow_aml.{mod}"), name), type)
        and issubclass(obj, Unsupported)
    }.items()
)


@pytest.fixture
def shim():
    import airflow_aml.shim

    airflow_aml.shim.install()
    yield
    airflow_aml.shim.uninstall()


def _check(module_name: str, names: list[str]) -> None:
    module = importlib.import_module(module_name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{module_name} has no __all__"
    for name in names:
        assert hasattr(module, name), f"{module_name}.{name} is missing"
        assert name in exported, f"{name} is not in {module_name}.__all__"


@pytest.mark.parametrize("module", sorted(SURFACE))
def test_names_import_from_airflow_aml(module):
    _check(f"airflow_aml.{module}", SURFACE[module])


@pytest.mark.parametrize("module", sorted(SURFACE))
def test_names_import_from_azureml_under_the_shim(shim, module):
    _check(f"azureml.{module}", SURFACE[module])
    assert importlib.import_module(f"azureml.{module}") is importlib.import_module(
        f"airflow_aml.{module}"
    )


def test_every_name_is_in_the_table_once_at_least():
    """Also catches a table entry that names a module twice by mistake."""
    assert len(ENTRIES) == len(set(ENTRIES))
    assert len(PLACEHOLDERS) >= 40


def test_version():
    import airflow_aml
    from airflow_aml.core import VERSION

    assert airflow_aml.__version__ == VERSION
    assert isinstance(VERSION, str) and VERSION


def test_exceptions_are_in_our_tree():
    import airflow_aml.exceptions as exc

    assert exc.AzureMLException is AmlError
    assert issubclass(exc.AuthenticationException, UserErrorException)
    assert issubclass(exc.AuthenticationException, exc.WorkspaceException)
    for name in SURFACE["exceptions"]:
        assert issubclass(getattr(exc, name), AmlError), name


# ------------------------------------------------------------- placeholders
@pytest.mark.parametrize("cls", [c for _, c in PLACEHOLDERS], ids=[k[1] for k, _ in PLACEHOLDERS])
def test_placeholder_construction_names_the_alternative(cls):
    with pytest.raises(NotSupportedError) as info:
        cls()
    message = str(info.value)
    prefix = f"{cls.__name__} is not supported by airflow-aml"
    assert message.startswith(prefix), message
    assert message.endswith(cls._alternative), message
    assert len(cls._alternative) >= 20
    if cls._planned:
        assert "yet" in message and "planned" in cls._alternative
    with pytest.raises(NotSupportedError):
        cls("positional", keyword=1)
    assert cls.__doc__ and "SDK v1" in cls.__doc__


@pytest.mark.parametrize(
    ("module", "expr"),
    [
        ("core", "Dataset.File.from_files(path='x')"),
        ("core", "Dataset.Tabular.from_delimited_files(path='x')"),
        ("core", "Dataset.get_by_name(None, 'name')"),
        ("core", "Model.register(None, 'model.pkl', 'm')"),
        ("core.compute", "DatabricksCompute.attach_configuration(resource_group='rg')"),
        ("core.compute", "AksCompute.provisioning_configuration()"),
        ("pipeline.core", "Schedule.create(None, name='s', pipeline_id='p', experiment_name='e')"),
        ("pipeline.core", "TimeZone.UTC"),
        ("pipeline.core", "Module.create(None, 'm', 'd')"),
        ("data", "OutputFileDatasetConfig.something"),
    ],
)
def test_placeholder_class_attributes_raise_not_supported(module, expr):
    namespace = vars(importlib.import_module(f"airflow_aml.{module}"))
    with pytest.raises(NotSupportedError, match="not supported by airflow-aml"):
        eval(expr, dict(namespace))


def test_placeholders_stay_probeable():
    """Dunder/private lookups raise AttributeError, so inspect, pickle, pytest, IPython work."""
    from airflow_aml.core import Dataset

    assert not hasattr(Dataset, "__wrapped__")
    assert not hasattr(Dataset, "_repr_html_")
    with pytest.raises(AttributeError):
        _ = Dataset._private  # noqa: B018
    assert inspect.isclass(Dataset)
    assert pickle.loads(pickle.dumps(Dataset)) is Dataset
    assert not isinstance(object(), Dataset)
    assert "Dataset" in repr(Dataset)
    inspect.getmembers(Dataset)


# ------------------------------------------------------------- value holders
def test_value_holders_keep_their_v1_arguments():
    from airflow_aml.core.databricks import MavenLibrary, PyPiLibrary
    from airflow_aml.core.runconfig import (
        DockerConfiguration,
        MpiConfiguration,
        PyTorchConfiguration,
        TensorflowConfiguration,
    )
    from airflow_aml.data import DataType
    from airflow_aml.exceptions import RunConfigurationException, ValidationError
    from airflow_aml.pipeline.core import TrainingOutput
    from airflow_aml.pipeline.core.graph import (
        InputPortDef,
        OutputPortDef,
        ParamDef,
        StoredProcedureParameter,
        StoredProcedureParameterType,
    )

    assert MpiConfiguration(process_count_per_node=2, node_count=3).node_count == 3
    assert PyTorchConfiguration(communication_backend="Gloo").communication_backend == "gloo"
    with pytest.raises(RunConfigurationException, match="Nccl"):
        PyTorchConfiguration(communication_backend="mpi")
    assert TensorflowConfiguration(worker_count=2).parameter_server_count == 1
    assert DockerConfiguration(use_docker=True).use_docker is True
    assert PyPiLibrary(package="pandas") == PyPiLibrary(package="pandas")
    assert MavenLibrary(coordinates="a:b:1").exclusions == []
    assert DataType.to_float(decimal_mark=",") == DataType("float", decimal_mark=",")
    assert DataType.to_datetime("%Y").options == {"formats": ["%Y"]}
    assert TrainingOutput("Model", metric="AUC").metric == "AUC"
    with pytest.raises(ValidationError):
        TrainingOutput("Metrics", iteration=1)
    with pytest.raises(ValidationError):
        TrainingOutput("Weights")
    assert InputPortDef("in").data_types == ["AnyFile", "AnyDirectory"]
    assert OutputPortDef("out", is_directory=True).data_type == "AnyDirectory"
    assert ParamDef("p", default_value=1).default_value == 1
    param = StoredProcedureParameter("n", "5", StoredProcedureParameterType.Int)
    assert param.type is StoredProcedureParameterType.from_str("1")
    assert StoredProcedureParameter("s", "x").type is StoredProcedureParameterType.String


# ------------------------------------------------------------- import cost
def test_object_model_imports_no_airflow():
    code = (
        "import sys\n"
        "import airflow_aml.core, airflow_aml.core.compute, airflow_aml.core.authentication\n"
        "import airflow_aml.core.databricks, airflow_aml.core.compute_target\n"
        "import airflow_aml.data, airflow_aml.pipeline.core, airflow_aml.pipeline.steps\n"
        "import airflow_aml.train.estimator, airflow_aml.widgets, airflow_aml.exceptions\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('airflow', 'rich', 'IPython')"
        " or m.startswith(('airflow_aml.backends.deployed', 'airflow_aml.operators')))\n"
        "print(bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
