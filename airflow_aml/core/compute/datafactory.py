"""DataFactoryCompute (SDK v1 ``azureml.core.compute.DataFactoryCompute``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["DataFactoryCompute"]


class DataFactoryCompute(Unsupported):
    """An Azure Data Factory as compute target for DataTransferStep (SDK v1)."""

    _planned = True
    _alternative = (
        "data transfers are planned with DataTransferStep, run by the Airflow workers; "
        "meanwhile copy data in a PythonScriptStep"
    )
