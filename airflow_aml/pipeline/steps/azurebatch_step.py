"""AzureBatchStep (SDK v1 ``azureml.pipeline.steps.AzureBatchStep``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["AzureBatchStep"]


class AzureBatchStep(Unsupported):
    """A step running a job on Azure Batch (SDK v1)."""

    _alternative = (
        "use a PythonScriptStep on an AmlCompute cluster (an Airflow pool) or the local worker"
    )
