"""DsvmCompute (SDK v1 ``azureml.core.compute.DsvmCompute``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["DsvmCompute"]


class DsvmCompute(Unsupported):
    """A Data Science VM as compute target (SDK v1, deprecated there)."""

    _alternative = (
        "run steps on an AmlCompute cluster (an Airflow pool) or the local Airflow worker"
    )
