"""Mirror of ``azureml.core.compute``."""

from airflow_aml.core.compute.compute import (
    AmlCompute,
    AmlComputeProvisioningConfiguration,
    ComputeTarget,
    LocalCompute,
)
from airflow_aml.exceptions import ComputeTargetException

__all__ = [
    "AmlCompute",
    "AmlComputeProvisioningConfiguration",
    "ComputeTarget",
    "ComputeTargetException",
    "LocalCompute",
]
