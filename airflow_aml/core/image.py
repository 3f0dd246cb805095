"""Image (SDK v1 ``azureml.core.Image``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["Image"]


class Image(Unsupported):
    """A deployment image built from a model (SDK v1, deprecated there)."""

    _alternative = "model deployment is not part of airflow-aml; build images with your own tooling"
