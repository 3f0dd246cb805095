"""Mirror of ``azureml.core.compute``.

``AmlCompute`` (an Airflow pool) and ``LocalCompute`` (the Airflow worker)
are supported; the other v1 compute kinds import, and every use raises
:class:`~airflow_aml.exceptions.NotSupportedError` naming the alternative.
"""

from airflow_aml.core.compute.adla import AdlaCompute
from airflow_aml.core.compute.aks import AksCompute
from airflow_aml.core.compute.amlcompute import (
    AmlCompute,
    AmlComputeNodeStateCounts,
    AmlComputeProvisioningConfiguration,
    AmlComputeStatus,
    ScaleSettings,
)
from airflow_aml.core.compute.batch import BatchCompute
from airflow_aml.core.compute.compute import ComputeTarget, ComputeTargetStatus, LocalCompute
from airflow_aml.core.compute.computeinstance import ComputeInstance
from airflow_aml.core.compute.databricks import DatabricksCompute
from airflow_aml.core.compute.datafactory import DataFactoryCompute
from airflow_aml.core.compute.dsvm import DsvmCompute
from airflow_aml.core.compute.hdinsight import HDInsightCompute
from airflow_aml.core.compute.kubernetescompute import KubernetesCompute
from airflow_aml.core.compute.kusto import KustoCompute
from airflow_aml.core.compute.remote import RemoteCompute
from airflow_aml.core.compute.synapse import SynapseCompute
from airflow_aml.exceptions import ComputeTargetException

__all__ = [
    "AdlaCompute",
    "AksCompute",
    "AmlCompute",
    "AmlComputeNodeStateCounts",
    "AmlComputeProvisioningConfiguration",
    "AmlComputeStatus",
    "BatchCompute",
    "ComputeInstance",
    "ComputeTarget",
    "ComputeTargetException",
    "ComputeTargetStatus",
    "DataFactoryCompute",
    "DatabricksCompute",
    "DsvmCompute",
    "HDInsightCompute",
    "KubernetesCompute",
    "KustoCompute",
    "LocalCompute",
    "RemoteCompute",
    "ScaleSettings",
    "SynapseCompute",
]
