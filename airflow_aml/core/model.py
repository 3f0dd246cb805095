"""Model (SDK v1 ``azureml.core.Model``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["Model"]


class Model(Unsupported):
    """A registered model (SDK v1 model registry)."""

    _alternative = (
        "there is no model registry; write model files to a PipelineData output or upload"
        " them with Datastore.upload_files"
    )
