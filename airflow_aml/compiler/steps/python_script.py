"""The spec builder of ``PythonScriptStep`` (its row in the step-kind table)."""

from __future__ import annotations

import os
from pathlib import Path

from airflow_aml._names import task_id_for
from airflow_aml.artifacts.snapshot import take_snapshot
from airflow_aml.compiler.bindings import step_params, step_ports
from airflow_aml.compiler.context import CompileContext, shown
from airflow_aml.compiler.settings import compute, data_aware, max_age, runconfig, source_directory
from airflow_aml.pipeline.core.builder import PipelineStep
from airflow_aml.pipeline.steps.python_script_step import PythonScriptStep
from airflow_aml.spec import StepSpec

__all__ = ["build_python_script_step"]


def _source_digest(ctx: CompileContext, step: PythonScriptStep, source: str) -> str:
    """The snapshot digest of ``source`` (checking the script is in it), or "" on error."""
    name = str(step.name)
    if "\x00" in step.script_name:
        ctx.error(
            f"script_name {shown(step.script_name)} contains a NUL byte (\\x00)",
            step=name,
            field_name="script_name",
        )
        return ""
    if os.path.isabs(step.script_name) or ".." in Path(step.script_name).parts:
        ctx.error(
            f"script_name {step.script_name!r} must be relative to source_directory",
            step=name,
            field_name="script_name",
        )
        return ""
    if not (Path(source) / step.script_name).is_file():
        ctx.error(
            f"script {step.script_name!r} not found in source_directory {source}",
            step=name,
            field_name="script_name",
        )
        return ""
    snap = ctx.snapshots.get(source)
    if snap is None:
        snap = ctx.snapshots[source] = take_snapshot(source)
    step._resolved_source = source  # type: ignore[attr-defined]
    return snap.digest


def _identity_options(ctx: CompileContext, step: PythonScriptStep) -> None:
    """``version`` is a string (or None) and ``allow_reuse`` a boolean."""
    if step.version is not None and not isinstance(step.version, str):
        ctx.error(
            f"version must be a string (or None), not {type(step.version).__name__} "
            f"{shown(step.version)}",
            step=str(step.name),
            field_name="version",
        )
    if not isinstance(step.allow_reuse, bool):
        ctx.error(
            f"allow_reuse must be True or False, not {type(step.allow_reuse).__name__} "
            f"{shown(step.allow_reuse)}",
            step=str(step.name),
            field_name="allow_reuse",
        )


def build_python_script_step(
    ctx: CompileContext, step: PipelineStep, upstream: list[PipelineStep], default_store: str
) -> StepSpec | None:
    """The spec of a ``PythonScriptStep`` (None when it has errors, reported to ``ctx``)."""
    assert isinstance(step, PythonScriptStep)
    name = str(step.name)
    n_errors = len(ctx.errors)
    ports = step_ports(ctx, step, default_store)
    params = step_params(ctx, step)
    source = source_directory(ctx, step)
    digest = _source_digest(ctx, step, source) if source is not None else ""
    step_compute = compute(ctx, step)
    step_runconfig = runconfig(ctx, step)
    reuse = (data_aware(ctx, step), max_age(ctx, step))
    _identity_options(ctx, step)
    if len(ctx.errors) > n_errors:
        return None
    return StepSpec(
        name=name,
        task_id=task_id_for(name, ctx.task_ids),
        kind=step._kind,
        script_name=step.script_name.replace("\\", "/"),
        source_directory=source or "",
        source_digest=digest,
        arguments=ports.arguments,
        inputs=ports.inputs,
        outputs=ports.outputs,
        params=params,
        upstream=tuple(str(u.name) for u in upstream),
        allow_reuse=step.allow_reuse,
        version=step.version,
        compute=step_compute,
        runconfig=step_runconfig,
        properties=ctx.git_properties(source) if source else {},
        data_aware=reuse[0],
        reuse_max_age=reuse[1],
    )
