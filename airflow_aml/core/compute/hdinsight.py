"""HDInsightCompute (SDK v1 ``azureml.core.compute.HDInsightCompute``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["HDInsightCompute"]


class HDInsightCompute(Unsupported):
    """An HDInsight cluster as compute target (SDK v1)."""

    _alternative = (
        "submit Spark jobs from a PythonScriptStep, or run the step on an AmlCompute "
        "cluster or the local worker"
    )
