"""KustoCompute (SDK v1 ``azureml.core.compute.KustoCompute``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["KustoCompute"]


class KustoCompute(Unsupported):
    """An Azure Data Explorer (Kusto) cluster as compute target (SDK v1)."""

    _alternative = "query Kusto from a PythonScriptStep through an Airflow connection"
