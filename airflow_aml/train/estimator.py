"""Estimator (SDK v1 ``azureml.train.estimator``, package azureml-train-core).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["Estimator"]


class Estimator(Unsupported):
    """A training job definition (SDK v1, deprecated there)."""

    _alternative = "use a PythonScriptStep with a RunConfiguration (environment, compute target)"
