"""AdlaCompute (SDK v1 ``azureml.core.compute.AdlaCompute``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["AdlaCompute"]


class AdlaCompute(Unsupported):
    """An Azure Data Lake Analytics account as compute target (SDK v1)."""

    _alternative = (
        "Azure Data Lake Analytics is retired; run the work in a PythonScriptStep on an "
        "AmlCompute cluster or the local worker"
    )
