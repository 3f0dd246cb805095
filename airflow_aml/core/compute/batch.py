"""BatchCompute (SDK v1 ``azureml.core.compute.BatchCompute``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["BatchCompute"]


class BatchCompute(Unsupported):
    """An Azure Batch account as compute target (SDK v1)."""

    _alternative = (
        "run steps on an AmlCompute cluster (an Airflow pool) or the local Airflow worker"
    )
