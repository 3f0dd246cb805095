"""Private endpoints (SDK v1 ``azureml.core.PrivateEndPoint``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["PrivateEndPoint", "PrivateEndPointConfig"]


class PrivateEndPoint(Unsupported):
    """A private endpoint of the workspace (SDK v1)."""

    _alternative = "network access is set up on your Airflow deployment, not through the SDK"


class PrivateEndPointConfig(Unsupported):
    """Settings of a workspace private endpoint (SDK v1)."""

    _alternative = "network access is set up on your Airflow deployment, not through the SDK"
