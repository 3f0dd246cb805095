"""CommandStep (SDK v1 ``azureml.pipeline.steps.CommandStep``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["CommandStep"]


class CommandStep(Unsupported):
    """A step running a shell command (SDK v1)."""

    _planned = True
    _alternative = (
        "CommandStep is planned; meanwhile run the command from a PythonScriptStep script"
        " (subprocess with an argument list)"
    )
