"""MpiStep (SDK v1 ``azureml.pipeline.steps.MpiStep``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["MpiStep"]


class MpiStep(Unsupported):
    """A step running an MPI job (SDK v1)."""

    _alternative = "multi-node MPI jobs are not supported; use a PythonScriptStep"
