"""The contract between a step operator and the script it runs (SDK v1 appendix D).

* a ``PipelineData``/``DataReference`` argument becomes a path, also exported
  as ``AZUREML_DATAREFERENCE_<name>``;
* a ``PipelineParameter`` argument becomes its value, also exported as
  ``AML_PARAMETER_<name>``; ``params={}`` entries are exported the same way;
* run identity and the run-record folder are exported so that
  ``Run.get_context()`` works inside the script.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "ENV_RUN_ID",
    "ENV_PARENT_RUN_ID",
    "ENV_RECORD",
    "ENV_WORKSPACE",
    "ENV_EXPERIMENT",
    "ENV_WORKSPACE_NAME",
    "ENV_STEP_NAME",
    "ENV_DATASETS",
    "ENV_DATASET_OUTPUTS",
    "data_reference_env",
    "parameter_env",
    "format_value",
    "render_arguments",
    "step_run_id",
    "REUSE_XCOM_KEY",
]

ENV_RUN_ID = "AZUREML_RUN_ID"
ENV_PARENT_RUN_ID = "AZUREML_ROOT_RUN_ID"
ENV_EXPERIMENT = "AZUREML_ARM_PROJECT_NAME"
ENV_WORKSPACE_NAME = "AZUREML_ARM_WORKSPACE_NAME"
ENV_RECORD = "AIRFLOW_AML_RUN_RECORD"
ENV_WORKSPACE = "AIRFLOW_AML_WORKSPACE"
ENV_STEP_NAME = "AIRFLOW_AML_STEP_NAME"
ENV_DATASETS = "AZUREML_DATASET_ENVIRONMENT_VARS"
ENV_DATASET_OUTPUTS = "AZUREML_DATASET_FILE_OUTPUTS"


# XCom key under which a reused step publishes its reuse decision (for its task note).
REUSE_XCOM_KEY = "aml_reuse"


def data_reference_env(name: str) -> str:
    """Environment variable holding the path of input/output ``name``."""
    return f"AZUREML_DATAREFERENCE_{name}"


def parameter_env(name: str) -> str:
    """Environment variable holding the value of parameter ``name``."""
    return f"AML_PARAMETER_{name}"


def step_run_id(run_id: str, task_id: str) -> str:
    """The id of a step run: the pipeline run id and the task id."""
    return f"{run_id}_{task_id}"


def format_value(value: Any) -> str:
    """How a value appears on a command line (``str()``, as SDK v1 does)."""
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def render_arguments(
    arguments: tuple[dict[str, Any], ...] | list[dict[str, Any]],
    *,
    params: Mapping[str, Any],
    paths: Mapping[str, str],
) -> list[str]:
    """Turn spec arguments into argv strings.

    ``params`` maps parameter names to resolved values (DataPath parameters
    already resolved to paths); ``paths`` maps input/output names to paths.
    """
    argv: list[str] = []
    for arg in arguments:
        if "literal" in arg:
            argv.append(format_value(arg["literal"]))
        elif "param" in arg:
            argv.append(format_value(params[arg["param"]]))
        elif "input" in arg:
            argv.append(paths[arg["input"]])
        elif "output" in arg:
            argv.append(paths[arg["output"]])
        else:  # pragma: no cover - specs are produced by the compiler
            raise ValueError(f"malformed argument {arg!r}")
    return argv
