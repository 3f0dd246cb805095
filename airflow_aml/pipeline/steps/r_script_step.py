"""RScriptStep (SDK v1 ``azureml.pipeline.steps.RScriptStep``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["RScriptStep"]


class RScriptStep(Unsupported):
    """A step running an R script (SDK v1)."""

    _alternative = "run Rscript from a PythonScriptStep script (subprocess with an argument list)"
