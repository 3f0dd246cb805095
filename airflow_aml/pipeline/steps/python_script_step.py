"""PythonScriptStep: run a Python script (SDK v1 ``azureml.pipeline.steps``)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow_aml.exceptions import ValidationError
from airflow_aml.pipeline.core.builder import PipelineStep

__all__ = ["PythonScriptStep"]


class PythonScriptStep(PipelineStep):
    """Run ``script_name`` from ``source_directory`` with ``arguments``.

    The script runs as its own process with an argument list (never a shell).
    ``PipelineData``/``DataReference`` arguments become paths,
    ``PipelineParameter`` arguments become values; ``params`` entries are
    exported as ``AML_PARAMETER_<name>`` environment variables.

    :param script_name: script path relative to ``source_directory``.
    :param name: step name (defaults to ``script_name``).
    :param arguments: command-line arguments.
    :param compute_target: compute target (object or name); default: the worker.
    :param runconfig: a :class:`RunConfiguration` (environment, env vars, target).
    :param runconfig_pipeline_params: accepted for compatibility.
    :param inputs: input bindings / PipelineData / DataReference.
    :param outputs: PipelineData written by the script.
    :param params: name -> value or PipelineParameter, exported as env vars.
    :param source_directory: folder snapshotted and run from.
    :param allow_reuse: reuse a previous identical execution's outputs (``True``/``False``).
    :param version: free-form version tag, a string (part of the step identity).
    :param hash_paths: deprecated in v1; the whole source directory is hashed.
    :param data_aware_reuse: beyond v1: make the *content* of datastore inputs
        part of the reuse fingerprint, so changed data at an unchanged path is
        noticed. ``True``/``"stat"`` uses file sizes and modification times,
        ``"digest"`` hashes the bytes. Default: the pipeline's setting.
    :param reuse_max_age: beyond v1: reuse only results younger than this
        (seconds or a ``timedelta``).
    """

    _kind = "PythonScriptStep"

    def __init__(
        self,
        script_name: str,
        name: str | None = None,
        arguments: Sequence[Any] | None = None,
        compute_target: Any = None,
        runconfig: Any = None,
        runconfig_pipeline_params: dict[str, Any] | None = None,
        inputs: Sequence[Any] | None = None,
        outputs: Sequence[Any] | None = None,
        params: dict[str, Any] | None = None,
        source_directory: str | None = None,
        allow_reuse: bool = True,
        version: str | None = None,
        hash_paths: list[str] | None = None,
        *,
        data_aware_reuse: bool | str | None = None,
        reuse_max_age: float | timedelta | None = None,
    ):
        if not isinstance(script_name, str) or not script_name:
            raise ValidationError(
                "script_name is required and must be a string", step=name, field="script_name"
            )
        if arguments is not None and isinstance(arguments, str | bytes):
            raise ValidationError(
                "arguments must be a list, not a string",
                step=name or script_name,
                field="arguments",
            )
        if params is not None and not isinstance(params, dict):
            raise ValidationError("params must be a dict", step=name or script_name, field="params")
        super().__init__(name or script_name, inputs, outputs, arguments)
        self.script_name = script_name
        self.compute_target = compute_target
        self.runconfig = runconfig
        self.runconfig_pipeline_params = dict(runconfig_pipeline_params or {})
        self.params = dict(params or {})
        self.source_directory = source_directory
        # Checked by validate() (a string such as "false" is not False).
        self.allow_reuse = allow_reuse
        self.version = version
        self.hash_paths = list(hash_paths or [])
        self.data_aware_reuse = data_aware_reuse
        self.reuse_max_age = reuse_max_age
        if hash_paths:
            warnings.warn(
                "Parameter 'hash_paths' is deprecated, will be removed. All files under "
                "source_directory are hashed except files listed in .amlignore or .gitignore.",
                DeprecationWarning,
                stacklevel=2,
            )
