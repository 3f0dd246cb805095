"""Render a :class:`PipelineSpec` as an Airflow DAG: the only place a DAG is built.

One task per step (task id from the step name, display name = step name,
step summary as task docs), run by the operator of its step kind; the
operator makes the reuse check before any compute starts. Edges from data
dependencies and ``run_after`` join the step tasks; the trigger rule is
Airflow's default ``all_success`` (a reused step succeeds with the reused
outputs; a failure makes its downstream steps ``upstream_failed``, v1's
NotStarted). One typed ``Param`` per ``PipelineParameter``, and one ``Param``
``azureml`` whose JSON schema (:data:`AZUREML_CONF_SCHEMA`) is the per-run AML
options of the DAG-run conf, so that Airflow itself refuses a trigger with bad
options (``{"azureml": {"regenerate_outputs": "no"}}``: HTTP 400 naming it).
"""

from __future__ import annotations

import copy
from dataclasses import asdict
from typing import Any

from airflow_aml._limits import MAX_ARG_STRLEN
from airflow_aml._names import EXPERIMENT_NAME_RE, MAX_EXPERIMENT_NAME
from airflow_aml.compiler.assets import output_asset
from airflow_aml.compiler.step_kinds import operator_class
from airflow_aml.runtime.contract import parameter_env
from airflow_aml.spec import RESERVED_CONF_KEY, PipelineSpec, StepSpec

__all__ = [
    "render_dag",
    "operator_class_for",
    "pipeline_context",
    "PARAM_TYPES",
    "EMBEDDED_DOC",
    "AZUREML_CONF_SCHEMA",
    "JSON_SCHEMA_DIALECT",
    "parameter_schema",
]

PARAM_TYPES = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "datapath": "object",
}


#: The JSON Schema dialect of every ``Param`` schema of ours. Airflow validates a Param
#: with ``jsonschema.validate``, which first checks the schema itself against its
#: dialect's metaschema, at every call (about 14 calls per task of a run). Checking
#: against Draft 7's metaschema costs a quarter of Draft 2020-12's (the default), which
#: is about 0.3 s of a 10-step run (``benchmarks/bench_foundation.py``); our schemas use
#: nothing that Draft 7 lacks.
JSON_SCHEMA_DIALECT = "http://json-schema.org/draft-07/schema#"

_TEXT = {"type": "string"}
_OPTIONAL_TEXT = {"type": ["string", "null"]}
#: The JSON schema of ``conf["azureml"]``: what :meth:`RunOptions.conf` writes (every key
#: our own triggers set) plus the per-run reuse switch ``allow_reuse``. Other keys are
#: refused, so a misspelt option is an error rather than silently ignored.
AZUREML_CONF_SCHEMA: dict[str, Any] = {
    "$schema": JSON_SCHEMA_DIALECT,
    "type": "object",
    "properties": {
        "regenerate_outputs": {"type": "boolean"},
        "continue_on_step_failure": {"type": "boolean"},
        # False/True for every step, or {step name: False/True}
        "allow_reuse": {"type": ["boolean", "object"], "additionalProperties": {"type": "boolean"}},
        "tags": {"type": "object", "additionalProperties": _TEXT},
        "experiment_name": {
            "type": "string",
            "pattern": EXPERIMENT_NAME_RE.pattern,
            "maxLength": MAX_EXPERIMENT_NAME,
        },
        "parent_run_id": _OPTIONAL_TEXT,
        "description": _OPTIONAL_TEXT,
        "run_source": _TEXT,
        "run_type": _TEXT,
        "published_pipeline_id": _OPTIONAL_TEXT,
        "pipeline_endpoint_id": _OPTIONAL_TEXT,
        "submitted_by": _OPTIONAL_TEXT,
        "ignored_parameters": {"type": ["array", "null"], "items": _TEXT},
    },
    "additionalProperties": False,
}


def parameter_schema(name: str, ptype: str) -> dict[str, Any]:
    """The JSON schema of the ``Param`` of a pipeline parameter: its type; a string also
    has no NUL byte and fits one argument / ``AML_PARAMETER_<name>`` (characters are
    counted; the byte limit is checked at submit)."""
    schema: dict[str, Any] = {"$schema": JSON_SCHEMA_DIALECT, "type": PARAM_TYPES[ptype]}
    if ptype == "string":
        schema["maxLength"] = MAX_ARG_STRLEN - len(parameter_env(name)) - 2
        schema["pattern"] = "^[^\\x00]*$"
    return schema


def operator_class_for(kind: str) -> type:
    """The operator class that runs steps of ``kind`` (from the step-kind table)."""
    return operator_class(kind)


def spec_marker(spec: PipelineSpec) -> str:
    """An invisible line in the DAG docs naming the spec it was rendered from.

    A client that registered a new spec waits for the dag-processor by
    watching for this marker in the DAG details.
    """
    return f"<!-- airflow-aml spec {spec.digest()} -->"


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
        "concurrent_steps": concurrent_steps(spec),
    }


def concurrent_steps(spec: PipelineSpec) -> list[str]:
    """Steps that some other step may run alongside (neither upstream nor downstream).

    Only these need to ask Airflow whether another step has failed before they start
    (``continue_on_step_failure`` off): a step whose every other step is an ancestor or
    a descendant starts only after its ancestors succeeded, and stops its descendants.
    """
    index = {s.name: i for i, s in enumerate(spec.steps)}
    ancestors = [0] * len(spec.steps)
    for i, s in enumerate(spec.steps):  # topological order
        for up in s.upstream:
            ancestors[i] |= ancestors[index[up]] | (1 << index[up])
    descendants = [0] * len(spec.steps)
    for i in reversed(range(len(spec.steps))):
        for up in spec.steps[i].upstream:
            descendants[index[up]] |= descendants[i] | (1 << i)
    everyone = (1 << len(spec.steps)) - 1
    return [
        s.name
        for i, s in enumerate(spec.steps)
        if ancestors[i] | descendants[i] | (1 << i) != everyone
    ]


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


EMBEDDED_DOC = (
    "**Embedded workspace:** no scheduler runs on this Airflow home. Runs submitted from "
    "Python (`Experiment.submit`, `PublishedPipeline.submit`) and through the AML REST routes "
    "(`/aml/...`) run at once; a run started with Airflow's Trigger button or "
    "`POST /api/v2/dags/{dag_id}/dagRuns` only waits in the queue here (it runs on a "
    "deployment with a scheduler)."
)


def render_dag(spec: PipelineSpec, *, embedded: bool = False, **dag_kwargs: Any) -> Any:
    """Build the DAG for ``spec``; extra keyword arguments go to ``DAG``.

    ``embedded`` adds to the DAG docs what runs on an embedded home (no scheduler).
    """
    from airflow.sdk import DAG, Param  # lazy: imports Airflow; clients import this module

    params = {}
    for p in spec.parameters:
        params[p.name] = Param(
            p.default,
            description=f"PipelineParameter {p.name}",
            **parameter_schema(p.name, p.type),
        )
    params[RESERVED_CONF_KEY] = Param(
        {},
        description="airflow-aml run options: regenerate_outputs, continue_on_step_failure, "
        "allow_reuse (true/false, or per step name), tags",
        schema=copy.deepcopy(AZUREML_CONF_SCHEMA),
    )
    doc = f"{spec.description or ''}\n\n" + (f"{EMBEDDED_DOC}\n\n" if embedded else "")
    options: dict[str, Any] = {
        "dag_id": spec.dag_id,
        "schedule": None,
        "catchup": False,
        "params": params,
        "description": (spec.description or f"AML pipeline {spec.experiment_name}")[:1000],
        "doc_md": f"{doc}{spec_marker(spec)}",
        "tags": ["airflow-aml"],
        "is_paused_upon_creation": True,
        "default_args": {"retries": 0},
    }
    options.update(dag_kwargs)
    ctx = pipeline_context(spec)
    tasks: dict[str, Any] = {}
    with DAG(**options) as dag:
        for step in spec.steps:
            extra: dict[str, Any] = {}
            if step.compute.get("pool"):
                extra["pool"] = step.compute["pool"]
            op_cls = operator_class_for(step.kind)
            tasks[step.name] = op_cls(
                task_id=step.task_id,
                task_display_name=step.name,
                doc_md=_step_doc(step),
                step=_step_json(step),
                pipeline=ctx,
                outlets=[output_asset(spec.dag_id, step.task_id, o.name) for o in step.outputs],
                **extra,
            )
        for step in spec.steps:
            for up in step.upstream:
                tasks[up] >> tasks[step.name]
    return dag


def _step_json(step: StepSpec) -> dict[str, Any]:
    return asdict(step)
