"""RemoteCompute (SDK v1 ``azureml.core.compute.RemoteCompute``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["RemoteCompute"]


class RemoteCompute(Unsupported):
    """A remote machine reached over SSH as compute target (SDK v1)."""

    _alternative = (
        "run steps on the Airflow workers: an AmlCompute cluster (an Airflow pool) or the"
        " local worker"
    )
