"""EstimatorStep (SDK v1 ``azureml.pipeline.steps.EstimatorStep``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["EstimatorStep"]


class EstimatorStep(Unsupported):
    """A step running an Estimator (SDK v1, deprecated there)."""

    _alternative = "use a PythonScriptStep with a RunConfiguration (environment, compute target)"
