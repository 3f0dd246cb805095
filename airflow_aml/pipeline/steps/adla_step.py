"""AdlaStep (SDK v1 ``azureml.pipeline.steps.AdlaStep``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["AdlaStep"]


class AdlaStep(Unsupported):
    """A step running a U-SQL script on Azure Data Lake Analytics (SDK v1)."""

    _alternative = (
        "Azure Data Lake Analytics is retired; port the script and run it in a PythonScriptStep"
    )
