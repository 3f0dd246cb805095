"""Modules (SDK v1 ``azureml.pipeline.core.module``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["Module", "ModuleVersion", "ModuleVersionDescriptor"]


class Module(Unsupported):
    """A versioned, reusable step definition (SDK v1)."""

    _planned = True
    _alternative = "modules are planned with ModuleStep; meanwhile use a PythonScriptStep"


class ModuleVersion(Unsupported):
    """One version of a Module (SDK v1)."""

    _planned = True
    _alternative = "modules are planned with ModuleStep; meanwhile use a PythonScriptStep"


class ModuleVersionDescriptor(Unsupported):
    """Version and id of a ModuleVersion (SDK v1)."""

    _planned = True
    _alternative = "modules are planned with ModuleStep; meanwhile use a PythonScriptStep"
