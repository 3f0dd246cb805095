"""Compile a :class:`Pipeline` into a :class:`PipelineSpec`, collecting every error.

The pipeline's steps are resolved into a graph (closure, ``run_after``,
``StepSequence``), checked (:mod:`~airflow_aml.compiler.validation`), and each
step becomes a :class:`StepSpec` through the spec builder of its kind (the
step-kind table, :mod:`~airflow_aml.compiler.step_kinds`). Nothing here
imports Airflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from airflow_aml._limits import command_problem
from airflow_aml._names import check_experiment_name
from airflow_aml.artifacts.snapshot import Snapshot
from airflow_aml.compiler.context import CompileContext, parameter_type, shown
from airflow_aml.compiler.step_kinds import kind_of
from airflow_aml.compiler.validation import (
    check_membership,
    check_names,
    check_producers,
    check_shared_sources,
    topological_order,
)
from airflow_aml.exceptions import ValidationError
from airflow_aml.pipeline.core.builder import PipelineStep
from airflow_aml.spec import PipelineSpec, StepSpec

if TYPE_CHECKING:
    from airflow_aml.pipeline.core.pipeline import Pipeline

__all__ = ["CompileResult", "compile_pipeline", "parameter_type", "topological_order"]


@dataclass
class CompileResult:
    """The spec (when there were no errors), the errors and the warnings."""

    spec: PipelineSpec | None
    errors: list[ValidationError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    snapshots: dict[str, Snapshot] = field(default_factory=dict)


def _step_spec(
    ctx: CompileContext, step: PipelineStep, upstream: list[PipelineStep], default_store: str
) -> StepSpec | None:
    kind = kind_of(step)
    if kind is None:
        ctx.error(
            f"step kind {type(step).__name__} is not supported yet",
            step=step.name,
            field_name="kind",
        )
        return None
    spec: StepSpec | None = kind.builder(ctx, step, upstream, default_store)
    return spec


def _ordered_steps(
    ctx: CompileContext,
) -> tuple[list[PipelineStep], dict[PipelineStep, list[PipelineStep]]] | None:
    """The pipeline's steps in topological order and their upstream steps (None on a cycle)."""
    pipeline = ctx.pipeline
    steps = pipeline._all_steps()
    check_names(ctx, steps)
    edges = {
        s: list(dict.fromkeys(s._upstream_steps() + pipeline._extra_upstream(s))) for s in steps
    }
    check_membership(ctx, steps, edges)
    order, cyclic = topological_order(steps, edges)
    if cyclic:
        names = ", ".join(repr(s.name) for s in cyclic)
        ctx.error(
            f"steps form a cycle (through run_after or data dependencies): {names}",
            step=cyclic[0].name,
            field_name="run_after",
        )
        return None
    check_producers(ctx, steps)
    return order, edges


def _check_pipeline_fields(ctx: CompileContext) -> None:
    """The experiment name and the pipeline's own fields."""
    try:
        check_experiment_name(ctx.experiment_name)
    except ValidationError as exc:
        ctx.errors.append(exc)
    description = ctx.pipeline.description
    if description is not None and not isinstance(description, str):
        ctx.error(
            f"description must be a string (or None), not {type(description).__name__} "
            f"{shown(description)}",
            field_name="description",
        )


def _check_commands(ctx: CompileContext, spec: PipelineSpec) -> None:
    """Every step's arguments and environment, with the parameters' defaults, fit the OS
    limit (see :mod:`airflow_aml._limits`)."""
    defaults = {p.name: p.default for p in spec.parameters}
    for step in spec.steps:
        problem = command_problem(spec, step, defaults)
        if problem is not None:
            ctx.error(
                f"step {step.name!r} cannot start: {problem}",
                step=step.name,
                field_name="arguments",
            )


def _compile(ctx: CompileContext) -> PipelineSpec | None:
    _check_pipeline_fields(ctx)
    ordered = _ordered_steps(ctx)
    if ordered is None:
        return None
    order, edges = ordered
    default_store = ctx.default_datastore()
    specs = [_step_spec(ctx, s, edges[s], default_store) for s in order]
    check_shared_sources(ctx, order)
    if ctx.errors:
        return None
    spec = PipelineSpec(
        dag_id=ctx.experiment_name,
        experiment_name=ctx.experiment_name,
        steps=tuple(s for s in specs if s is not None),
        parameters=ctx.parameter_specs(),
        description=ctx.pipeline.description,
        datastores=ctx.datastores,
        default_datastore=default_store,
        workspace=ctx.ws._to_runtime_config(),
    )
    _check_commands(ctx, spec)
    return None if ctx.errors else spec


def compile_pipeline(pipeline: Pipeline, experiment_name: str) -> CompileResult:
    """Compile ``pipeline`` for ``experiment_name``; never raises for bad input."""
    ctx = CompileContext(pipeline, experiment_name)
    spec = _compile(ctx)
    return CompileResult(spec if not ctx.errors else None, ctx.errors, ctx.warnings, ctx.snapshots)
