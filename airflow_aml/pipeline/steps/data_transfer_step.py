"""DataTransferStep (SDK v1 ``azureml.pipeline.steps.DataTransferStep``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["DataTransferStep"]


class DataTransferStep(Unsupported):
    """A step copying data between datastores (SDK v1)."""

    _planned = True
    _alternative = "DataTransferStep is planned; meanwhile copy the data in a PythonScriptStep"
