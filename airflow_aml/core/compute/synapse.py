"""SynapseCompute (SDK v1 ``azureml.core.compute.SynapseCompute``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["SynapseCompute"]


class SynapseCompute(Unsupported):
    """A Synapse Spark pool as compute target (SDK v1)."""

    _alternative = "submit Spark jobs from a PythonScriptStep through an Airflow connection"
