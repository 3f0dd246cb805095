"""ParallelRunStep (SDK v1 ``azureml.pipeline.steps.ParallelRunStep``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["ParallelRunStep"]


class ParallelRunStep(Unsupported):
    """A step processing mini-batches of data in parallel (SDK v1)."""

    _planned = True
    _alternative = (
        "ParallelRunStep is planned; meanwhile split the work across several PythonScriptSteps"
    )
