"""KustoStep (SDK v1 ``azureml.pipeline.steps.KustoStep``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["KustoStep"]


class KustoStep(Unsupported):
    """A step running a Kusto query (SDK v1)."""

    _alternative = "query Kusto from a PythonScriptStep through an Airflow connection"
