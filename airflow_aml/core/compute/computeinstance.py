"""ComputeInstance (SDK v1 ``azureml.core.compute.ComputeInstance``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["ComputeInstance"]


class ComputeInstance(Unsupported):
    """A managed development VM (SDK v1)."""

    _alternative = (
        "run steps on an AmlCompute cluster (an Airflow pool) or the local Airflow worker"
    )
