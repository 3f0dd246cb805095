"""ParallelRunStepDetails (SDK v1 ``azureml.widgets``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["ParallelRunStepDetails"]


class ParallelRunStepDetails(Unsupported):
    """A widget for ParallelRunStep runs (SDK v1)."""

    _planned = True
    _alternative = (
        "ParallelRunStep is planned; use RunDetails(pipeline_run).show() for pipeline runs"
    )
