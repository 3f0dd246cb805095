"""ScriptRunConfig (SDK v1 ``azureml.core.ScriptRunConfig``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["ScriptRunConfig"]


class ScriptRunConfig(Unsupported):
    """How to submit a single script run (SDK v1)."""

    _alternative = (
        "run the script as PythonScriptStep(script_name, source_directory=..., "
        "arguments=..., runconfig=...) in a Pipeline and submit that"
    )
