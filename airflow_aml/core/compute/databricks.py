"""DatabricksCompute (SDK v1 ``azureml.core.compute.DatabricksCompute``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["DatabricksCompute"]


class DatabricksCompute(Unsupported):
    """An attached Databricks workspace as compute target (SDK v1)."""

    _planned = True
    _alternative = (
        "Databricks targets are planned with DatabricksStep (Databricks provider); meanwhile "
        "call Databricks from a PythonScriptStep through an Airflow Databricks connection"
    )
