"""HyperDriveStep (SDK v1 ``azureml.pipeline.steps.HyperDriveStep``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["HyperDriveStep", "HyperDriveStepRun"]


class HyperDriveStep(Unsupported):
    """A step running a hyperparameter sweep (SDK v1)."""

    _alternative = (
        "run the sweep as several PythonScriptSteps with different arguments, or a tuning"
        " library inside one step"
    )


class HyperDriveStepRun(Unsupported):
    """The run of a HyperDriveStep (SDK v1)."""

    _alternative = "HyperDriveStep is not supported; see HyperDriveStep"
