"""LinkedService (SDK v1 ``azureml.core.LinkedService``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["LinkedService"]


class LinkedService(Unsupported):
    """A link between the workspace and a Synapse workspace (SDK v1)."""

    _alternative = "reach Synapse through an Airflow connection from a PythonScriptStep"
