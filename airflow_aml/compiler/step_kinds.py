"""The step-kind table: for each kind, its v1 class, its spec builder and its operator.

One row per step kind, the way astronomer-cosmos maps execution modes to
operator classes. A new kind is a new model module (``pipeline/steps/``), a
new spec builder (``compiler/steps/``) and a new operator (``operators/``),
plus one row here; no branch anywhere else. The spec IR also declares the
kind's fields (one pydantic model in ``airflow_aml.spec_schema``, a member of
the union discriminated by ``kind``): that is the schema specs are checked
against when loaded, not a dispatch. Operators are named by dotted path, so
compiling a pipeline imports no operator module (and no Airflow).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow_aml.compiler.steps.python_script import build_python_script_step
from airflow_aml.exceptions import NotSupportedError
from airflow_aml.pipeline.steps.python_script_step import PythonScriptStep

__all__ = ["StepKind", "STEP_KINDS", "kind_of", "kind_named", "operator_class"]


@dataclass(frozen=True)
class StepKind:
    """One step kind: the spec's ``kind``, the v1 class, the spec builder, the operator."""

    name: str
    model: type
    #: ``builder(compiler, step, upstream, default_datastore) -> StepSpec | None``
    builder: Callable[..., Any]
    #: dotted path of the operator class that runs steps of this kind
    operator: str


STEP_KINDS: tuple[StepKind, ...] = (
    StepKind(
        name="PythonScriptStep",
        model=PythonScriptStep,
        builder=build_python_script_step,
        operator="airflow_aml.operators.python_script.PythonScriptStepOperator",
    ),
)


def kind_of(step: Any) -> StepKind | None:
    """The row for a step object (None for a kind airflow-aml does not run yet)."""
    return next((k for k in STEP_KINDS if type(step) is k.model), None) or next(
        (k for k in STEP_KINDS if isinstance(step, k.model)), None
    )


def kind_named(name: str) -> StepKind:
    """The row for a spec's step ``kind``."""
    for kind in STEP_KINDS:
        if kind.name == name:
            return kind
    raise NotSupportedError(
        f"step kind {name!r} is not supported by this airflow-aml; known: "
        f"{[k.name for k in STEP_KINDS]}"
    )


def operator_class(name: str) -> type:
    """The operator class that runs steps of kind ``name`` (imported on first use)."""
    return import_string(kind_named(name).operator)


def import_string(dotted: str) -> Any:
    """The object at ``package.module.Name``."""
    module, _, attr = dotted.rpartition(".")
    return getattr(importlib.import_module(module), attr)
