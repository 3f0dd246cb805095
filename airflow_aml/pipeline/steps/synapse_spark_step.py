"""SynapseSparkStep (SDK v1 ``azureml.pipeline.steps.SynapseSparkStep``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["SynapseSparkStep"]


class SynapseSparkStep(Unsupported):
    """A step running a Spark job on a Synapse pool (SDK v1)."""

    _alternative = "submit the Spark job from a PythonScriptStep through an Airflow connection"
