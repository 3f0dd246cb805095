"""Mirror of ``azureml.core``: Workspace, Experiment, Datastore, Run, environments."""

from airflow_aml.core.compute import ComputeTarget
from airflow_aml.core.conda_dependencies import CondaDependencies
from airflow_aml.core.datastore import Datastore
from airflow_aml.core.environment import Environment
from airflow_aml.core.experiment import Experiment
from airflow_aml.core.run import Run, get_run
from airflow_aml.core.runconfig import RunConfiguration
from airflow_aml.core.workspace import Workspace

__all__ = [
    "ComputeTarget",
    "CondaDependencies",
    "Datastore",
    "Environment",
    "Experiment",
    "Run",
    "RunConfiguration",
    "Workspace",
    "get_run",
]
