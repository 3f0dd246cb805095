"""ParallelRunConfig (SDK v1 ``azureml.pipeline.steps.ParallelRunConfig``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["ParallelRunConfig"]


class ParallelRunConfig(Unsupported):
    """Settings of a ParallelRunStep (SDK v1)."""

    _planned = True
    _alternative = (
        "ParallelRunStep is planned; meanwhile split the work across several PythonScriptSteps"
    )
