"""Render a :class:`PipelineSpec` as an Airflow DAG: the only place a DAG is built.

Two tasks per step: a reuse-check sensor (``<task id>__reuse_check``) then
the step itself (task id from the step name, display name = step name, step
summary as task docs). Edges from data dependencies and ``run_after`` run
from each upstream step to the downstream step's reuse check, whose trigger
rule ``none_failed`` lets it run when an upstream step was skipped because it
was reused. One typed ``Param`` per ``PipelineParameter``.
"""

from __future__ import annotations

from typing import Any

from airflow_aml.compiler.spec import PipelineSpec, StepSpec

__all__ = ["render_dag", "operator_class_for", "pipeline_context", "PARAM_TYPES"]

PARAM_TYPES = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "datapath": "object",
}


def operator_class_for(kind: str) -> type:
    """The operator class that runs steps of ``kind``."""
    if kind == "PythonScriptStep":
        from airflow_aml.operators.python_script import PythonScriptStepOperator

        return PythonScriptStepOperator
    raise ValueError(f"no operator for step kind {kind!r}")


def output_asset(dag_id: str, step: StepSpec, output: str) -> Any:
    """The Airflow asset of one output port of a step (the same for every run).

    Each run that produces the output (or reuses it) emits an asset event whose
    ``extra`` is the output's artifact reference, so DAGs scheduled on the
    asset see every new version, computed or reused.
    """
    from airflow.sdk import Asset

    return Asset(
        name=f"aml.{dag_id}.{step.task_id}.{output}",
        uri=f"x-aml://{dag_id}/{step.task_id}/{output}",
        group="airflow-aml",
    )


def reuse_alias(dag_id: str, step: StepSpec) -> Any:
    """The asset alias through which a reuse check emits events for reused outputs."""
    from airflow.sdk import AssetAlias

    return AssetAlias(name=f"aml.{dag_id}.{step.task_id}.reused", group="airflow-aml")


def spec_marker(spec: PipelineSpec) -> str:
    """An invisible line in the DAG docs naming the spec it was rendered from.

    A client that registered a new spec waits for the dag-processor by
    watching for this marker in the DAG details.
    """
    return f"<!-- airflow-aml spec {spec.digest()} -->"


def _check_display(step: StepSpec) -> str:
    return f"{step.name} · reuse check"


def pipeline_context(spec: PipelineSpec) -> dict[str, Any]:
    """Pipeline-wide settings every step operator of ``spec`` receives."""
    return {
        "experiment_name": spec.experiment_name,
        "datastores": spec.datastores,
        "artifact_datastore": spec.default_datastore,
        "workspace": spec.workspace,
        "continue_on_step_failure": spec.continue_on_step_failure,
        "parameters": {p.name: p.type for p in spec.parameters},
        "task_ids": {s.name: s.task_id for s in spec.steps},
    }


def _step_doc(step: StepSpec) -> str:
    lines = [f"**{step.kind}** `{step.name}`", "", f"* script: `{step.script_name}`"]
    if step.inputs:
        lines.append(
            "* inputs: "
            + ", ".join(
                f"`{i.name}`" + (f" ← {i.producer}.{i.output}" if i.producer else "")
                for i in step.inputs
            )
        )
    if step.outputs:
        lines.append("* outputs: " + ", ".join(f"`{o.name}`" for o in step.outputs))
    lines.append(f"* allow_reuse: {step.allow_reuse}")
    return "\n".join(lines)


def render_dag(spec: PipelineSpec, **dag_kwargs: Any) -> Any:
    """Build the DAG for ``spec``; extra keyword arguments go to ``DAG``."""
    from airflow.sdk import DAG, Param

    params = {}
    for p in spec.parameters:
        params[p.name] = Param(
            p.default, type=PARAM_TYPES[p.type], description=f"PipelineParameter {p.name}"
        )
    options: dict[str, Any] = {
        "dag_id": spec.dag_id,
        "schedule": None,
        "catchup": False,
        "params": params,
        "description": (spec.description or f"AML pipeline {spec.experiment_name}")[:1000],
        "doc_md": f"{spec.description or ''}\n\n{spec_marker(spec)}",
        "tags": ["airflow-aml"],
        "is_paused_upon_creation": True,
        "default_args": {"retries": 0, "trigger_rule": "none_failed"},
    }
    options.update(dag_kwargs)
    from airflow_aml.operators.common import check_task_id
    from airflow_aml.sensors.reuse_check import ReuseCheckSensor

    ctx = pipeline_context(spec)
    tasks: dict[str, Any] = {}
    checks: dict[str, Any] = {}
    with DAG(**options) as dag:
        for step in spec.steps:
            extra: dict[str, Any] = {}
            if step.compute.get("pool"):
                extra["pool"] = step.compute["pool"]
            step_json = _step_json(step)
            checks[step.name] = ReuseCheckSensor(
                task_id=check_task_id(step.task_id),
                task_display_name=_check_display(step),
                doc_md=f"Reuse check of step `{step.name}`: skips it when an identical "
                "execution's outputs can be reused, and says why not otherwise.",
                step=step_json,
                pipeline=ctx,
                step_task_id=step.task_id,
                trigger_rule="none_failed",
                outlets=[reuse_alias(spec.dag_id, step)] if step.outputs else [],
            )
            op_cls = operator_class_for(step.kind)
            tasks[step.name] = op_cls(
                task_id=step.task_id,
                task_display_name=step.name,
                doc_md=_step_doc(step),
                step=step_json,
                pipeline=ctx,
                trigger_rule="all_success",
                outlets=[output_asset(spec.dag_id, step, o.name) for o in step.outputs],
                **extra,
            )
            checks[step.name] >> tasks[step.name]
        for step in spec.steps:
            for up in step.upstream:
                tasks[up] >> checks[step.name]
    return dag


def _step_json(step: StepSpec) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(step)
