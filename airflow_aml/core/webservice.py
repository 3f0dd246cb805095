"""Webservice (SDK v1 ``azureml.core.Webservice``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["Webservice"]


class Webservice(Unsupported):
    """A deployed model web service (SDK v1)."""

    _alternative = (
        "model deployment is not part of airflow-aml; serve models with your own serving stack"
    )
