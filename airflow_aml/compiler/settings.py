"""Step settings: source folder, compute target, run configuration, reuse options."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow_aml._limits import env_problem, value_problem
from airflow_aml.compiler.context import CompileContext, shown
from airflow_aml.core.compute import AmlCompute, ComputeTarget, LocalCompute
from airflow_aml.core.runconfig import RunConfiguration
from airflow_aml.pipeline.steps.python_script_step import PythonScriptStep

__all__ = ["source_directory", "data_aware", "max_age", "compute", "runconfig"]


def source_directory(ctx: CompileContext, step: PythonScriptStep) -> str | None:
    src = step.source_directory or ctx.pipeline._default_source_directory
    if src is None:
        ctx.warnings.append(f"step {step.name!r} has no source_directory; using the current folder")
        src = "."
    if not isinstance(src, str | Path) or "\x00" in str(src):
        ctx.error(
            f"source_directory {shown(src)} must be a folder path (a string without NUL bytes)",
            step=step.name,
            field_name="source_directory",
        )
        return None
    path = Path(src).expanduser().resolve()
    if not path.is_dir():
        ctx.error(
            f"source_directory {str(src)!r} does not exist",
            step=step.name,
            field_name="source_directory",
        )
        return None
    return str(path)


def data_aware(ctx: CompileContext, step: PythonScriptStep) -> str:
    value = step.data_aware_reuse
    if value is None:
        value = ctx.pipeline.data_aware_reuse
    if value in (False, None, "", "off"):
        return ""
    if value in (True, "stat"):
        return "stat"
    if value == "digest":
        return "digest"
    ctx.error(
        f"data_aware_reuse must be False, True, 'stat' or 'digest', got {value!r}",
        step=step.name,
        field_name="data_aware_reuse",
    )
    return ""


def max_age(ctx: CompileContext, step: PythonScriptStep) -> float | None:
    value = step.reuse_max_age
    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
        ctx.error(
            f"reuse_max_age must be a positive number of seconds or a timedelta, got {value!r}",
            step=step.name,
            field_name="reuse_max_age",
        )
        return None
    return float(seconds)


def compute(ctx: CompileContext, step: PythonScriptStep) -> dict[str, Any]:
    target = step.compute_target
    if target is None and isinstance(step.runconfig, RunConfiguration):
        t = step.runconfig.target
        target = None if t in (None, "local") else t
    if target is None or target == "local":
        return {"name": "local", "type": "Local"}
    if isinstance(target, str):
        if ctx.compute_cache is None:
            ctx.compute_cache = ctx.ws.compute_targets
        found = ctx.compute_cache.get(target)
        if found is None:
            ctx.error(
                f"compute target {target!r} is not registered in workspace "
                f"{ctx.ws.name!r}; create it with ComputeTarget.create(...) or "
                "omit compute_target to run on the Airflow worker",
                step=step.name,
                field_name="compute_target",
            )
            return {}
        target = found
    if isinstance(target, AmlCompute):
        return {
            "name": target.name,
            "type": "AmlCompute",
            "pool": target.pool,
            "max_nodes": target.max_nodes,
        }
    if isinstance(target, LocalCompute):
        return {"name": target.name, "type": "Local"}
    kind = target.type if isinstance(target, ComputeTarget) else type(target).__name__
    ctx.error(
        f"compute target of kind {kind} is not supported for PythonScriptStep yet; "
        "use an AmlCompute cluster or the local worker",
        step=step.name,
        field_name="compute_target",
    )
    return {}


def _environment_variables(
    ctx: CompileContext, step: PythonScriptStep, variables: Any, owner: str
) -> dict[str, Any]:
    """The valid entries of a run configuration's (``owner`` "") or its environment's
    (``owner`` "environment") ``environment_variables``; problems go to ``ctx``."""
    field_name = ".".join(p for p in ("runconfig", owner, "environment_variables") if p)
    if not isinstance(variables, dict):
        ctx.error(
            f"environment_variables must be a dict of names to values, not "
            f"{type(variables).__name__}",
            step=step.name,
            field_name=field_name,
        )
        return {}
    valid: dict[str, Any] = {}
    for key, value in variables.items():
        problem = env_problem(key)
        if problem is None and not isinstance(value, str | int | float | bool):
            problem = f"has a value of type {type(value).__name__}: use a plain value"
        if problem is None:
            problem = value_problem(value, env_name=key)
        if problem is not None:
            ctx.error(
                f"environment variable {shown(key)} {problem}",
                step=step.name,
                field_name=field_name,
            )
            continue
        valid[key] = value
    return valid


def runconfig(ctx: CompileContext, step: PythonScriptStep) -> dict[str, Any]:
    rc = step.runconfig
    if rc is None:
        return {}
    if not isinstance(rc, RunConfiguration):
        ctx.error(
            f"runconfig must be a RunConfiguration, not {type(rc).__name__}",
            step=step.name,
            field_name="runconfig",
        )
        return {}
    env = rc.environment
    deps = env.python.conda_dependencies
    packages = list(deps.pip_packages) + list(deps.conda_packages)
    packages = [
        p
        for p in packages
        if not p.split("=")[0]
        .split("<")[0]
        .split(">")[0]
        .strip()
        .lower()
        .startswith(("python", "pip", "azureml-defaults"))
    ]
    if packages and not env.python.user_managed_dependencies:
        ctx.error(
            f"environment {env.name!r} asks for packages {packages}: building per-step "
            "environments is not supported yet. Install them on the Airflow workers and set "
            "runconfig.environment.python.user_managed_dependencies = True",
            step=step.name,
            field_name="runconfig.environment",
        )
    if rc.docker.use_docker or env.docker.enabled:
        ctx.error(
            "running steps in Docker is not supported yet; unset "
            "runconfig.docker.use_docker to run on the Airflow worker",
            step=step.name,
            field_name="runconfig.docker",
        )
    variables = {
        **_environment_variables(ctx, step, env.environment_variables, "environment"),
        **_environment_variables(ctx, step, rc.environment_variables, ""),
    }
    return {
        "environment_variables": {str(k): str(v) for k, v in variables.items()},
        "environment": env.name,
        "max_run_duration_seconds": rc.max_run_duration_seconds,
    }
