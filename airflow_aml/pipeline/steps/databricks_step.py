"""DatabricksStep (SDK v1 ``azureml.pipeline.steps.DatabricksStep``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["DatabricksStep"]


class DatabricksStep(Unsupported):
    """A step running a notebook, Python script or JAR on Databricks (SDK v1)."""

    _planned = True
    _alternative = (
        "DatabricksStep is planned (Databricks provider); meanwhile call Databricks from "
        "a PythonScriptStep through an Airflow Databricks connection"
    )
