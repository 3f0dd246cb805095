"""AutoMLStep (SDK v1 ``azureml.pipeline.steps.AutoMLStep``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["AutoMLStep", "AutoMLStepRun"]


class AutoMLStep(Unsupported):
    """A step running automated ML (SDK v1)."""

    _alternative = "train with your own library in a PythonScriptStep"


class AutoMLStepRun(Unsupported):
    """The run of an AutoMLStep (SDK v1)."""

    _alternative = "AutoMLStep is not supported; see AutoMLStep"
