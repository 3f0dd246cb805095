"""Compute target helpers (SDK v1 ``azureml.core.compute_target``).

v1 notebooks import ``ComputeTargetException`` from here.
"""

from airflow_aml.exceptions import ComputeTargetException

__all__ = ["ComputeTargetException"]
