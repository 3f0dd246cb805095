"""Mirror of ``azureml.core``: Workspace, Experiment, Datastore, Run, environments.

Names v1 has here that airflow-aml does not support (Dataset, Model,
Webservice, ...) import, and every use raises
:class:`~airflow_aml.exceptions.NotSupportedError` naming the alternative.
"""

from airflow_aml._version import __version__ as VERSION
from airflow_aml.core.compute import ComputeTarget
from airflow_aml.core.conda_dependencies import CondaDependencies
from airflow_aml.core.container_registry import ContainerRegistry
from airflow_aml.core.dataset import Dataset
from airflow_aml.core.datastore import Datastore
from airflow_aml.core.environment import Environment
from airflow_aml.core.experiment import Experiment
from airflow_aml.core.image import Image
from airflow_aml.core.keyvault import Keyvault
from airflow_aml.core.linked_service import LinkedService
from airflow_aml.core.model import Model
from airflow_aml.core.private_endpoint import PrivateEndPoint, PrivateEndPointConfig
from airflow_aml.core.run import Run, get_run
from airflow_aml.core.runconfig import RunConfiguration
from airflow_aml.core.script_run import ScriptRun
from airflow_aml.core.script_run_config import ScriptRunConfig
from airflow_aml.core.webservice import Webservice
from airflow_aml.core.workspace import Workspace

__version__ = VERSION

__all__ = [
    "VERSION",
    "ComputeTarget",
    "CondaDependencies",
    "ContainerRegistry",
    "Dataset",
    "Datastore",
    "Environment",
    "Experiment",
    "Image",
    "Keyvault",
    "LinkedService",
    "Model",
    "PrivateEndPoint",
    "PrivateEndPointConfig",
    "Run",
    "RunConfiguration",
    "ScriptRun",
    "ScriptRunConfig",
    "Webservice",
    "Workspace",
    "get_run",
]
