"""Mirror of ``azureml.pipeline.steps``: one module per step kind.

``PythonScriptStep`` runs; the other v1 step kinds import but raise
:class:`~airflow_aml.exceptions.NotSupportedError` naming the alternative.
"""

from airflow_aml.pipeline.steps.adla_step import AdlaStep
from airflow_aml.pipeline.steps.automl_step import AutoMLStep, AutoMLStepRun
from airflow_aml.pipeline.steps.azurebatch_step import AzureBatchStep
from airflow_aml.pipeline.steps.command_step import CommandStep
from airflow_aml.pipeline.steps.data_transfer_step import DataTransferStep
from airflow_aml.pipeline.steps.databricks_step import DatabricksStep
from airflow_aml.pipeline.steps.estimator_step import EstimatorStep
from airflow_aml.pipeline.steps.hyper_drive_step import HyperDriveStep, HyperDriveStepRun
from airflow_aml.pipeline.steps.kusto_step import KustoStep
from airflow_aml.pipeline.steps.module_step import ModuleStep
from airflow_aml.pipeline.steps.mpi_step import MpiStep
from airflow_aml.pipeline.steps.parallel_run_config import ParallelRunConfig
from airflow_aml.pipeline.steps.parallel_run_step import ParallelRunStep
from airflow_aml.pipeline.steps.python_script_step import PythonScriptStep
from airflow_aml.pipeline.steps.r_script_step import RScriptStep
from airflow_aml.pipeline.steps.synapse_spark_step import SynapseSparkStep

__all__ = [
    "AdlaStep",
    "AutoMLStep",
    "AutoMLStepRun",
    "AzureBatchStep",
    "CommandStep",
    "DataTransferStep",
    "DatabricksStep",
    "EstimatorStep",
    "HyperDriveStep",
    "HyperDriveStepRun",
    "KustoStep",
    "ModuleStep",
    "MpiStep",
    "ParallelRunConfig",
    "ParallelRunStep",
    "PythonScriptStep",
    "RScriptStep",
    "SynapseSparkStep",
]
