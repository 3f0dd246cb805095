"""PipelineDraft (SDK v1 ``azureml.pipeline.core.PipelineDraft``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["PipelineDraft"]


class PipelineDraft(Unsupported):
    """A mutable pipeline kept in the workspace (SDK v1)."""

    _alternative = "build the Pipeline in code and submit or publish it (pipeline.publish(...))"
