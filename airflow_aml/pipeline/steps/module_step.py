"""ModuleStep (SDK v1 ``azureml.pipeline.steps.ModuleStep``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["ModuleStep"]


class ModuleStep(Unsupported):
    """A step running a published Module version (SDK v1)."""

    _planned = True
    _alternative = "ModuleStep is planned; meanwhile use a PythonScriptStep"
