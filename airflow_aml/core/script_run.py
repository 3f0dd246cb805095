"""ScriptRun (SDK v1 ``azureml.core.ScriptRun``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["ScriptRun"]


class ScriptRun(Unsupported):
    """A run of a single script (SDK v1)."""

    _alternative = (
        "runs here are PipelineRun and StepRun (azureml.pipeline.core); inside a step use"
        " Run.get_context()"
    )
