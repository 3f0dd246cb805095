"""ContainerRegistry (SDK v1 ``azureml.core.ContainerRegistry``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["ContainerRegistry"]


class ContainerRegistry(Unsupported):
    """Credentials of a container registry for environment images (SDK v1)."""

    _alternative = (
        "set Environment.docker.base_image to an image the Airflow workers can pull; "
        "registry credentials belong in an Airflow Docker connection, never in code"
    )
