"""The state of one compilation: errors, parameters, datastores, snapshots.

Every concern of the compiler (validation, data bindings, step settings, the
per-kind spec builders) takes a :class:`CompileContext` and reports problems
to it; nothing raises for bad input, so ``validate()`` lists every problem at
once, each naming the step and the field.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from airflow_aml._limits import value_problem
from airflow_aml._names import check_datastore_name, safe_relative_path
from airflow_aml.artifacts.git import git_properties as read_git_properties
from airflow_aml.artifacts.snapshot import Snapshot
from airflow_aml.core.datastore import Datastore
from airflow_aml.data.datapath import DataPath
from airflow_aml.exceptions import UserErrorException, ValidationError
from airflow_aml.pipeline.core.graph import PipelineParameter
from airflow_aml.runtime.contract import parameter_env
from airflow_aml.spec import RESERVED_CONF_KEY, ParameterSpec

if TYPE_CHECKING:
    from airflow_aml.pipeline.core.pipeline import Pipeline

__all__ = ["CompileContext", "parameter_type", "shown"]

_PARAM_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def shown(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters (error messages quote user values)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 5]}...{text[-2:]}"


def parameter_type(value: Any) -> str | None:
    """The JSON type name of a parameter default, or None if not supported."""
    if isinstance(value, DataPath):
        return "datapath"
    t = _JSON_TYPES.get(type(value))
    if t == "number" and not math.isfinite(value):
        return None
    return t


class CompileContext:
    """One compilation of ``pipeline`` for ``experiment_name``."""

    def __init__(self, pipeline: Pipeline, experiment_name: str):
        self.pipeline = pipeline
        self.ws = pipeline._workspace
        self.experiment_name = experiment_name
        self.errors: list[ValidationError] = []
        self.warnings: list[str] = []
        self.params: dict[str, PipelineParameter] = {}
        self.snapshots: dict[str, Snapshot] = {}
        self.datastores: dict[str, dict[str, Any]] = {}
        self.task_ids: set[str] = set()
        self.compute_cache: dict[str, Any] | None = None
        self.git: dict[str, dict[str, str]] = {}

    def error(self, message: str, step: str | None = None, field_name: str | None = None) -> None:
        self.errors.append(ValidationError(message, step=step, field=field_name))

    def default_datastore(self) -> str:
        store = self.pipeline._default_datastore
        if store is None:
            store = self.ws.get_default_datastore()
        return self.datastore_name(store, None, "default_datastore") or "workspaceblobstore"

    def datastore_name(self, store: Any, step: str | None, field_name: str) -> str | None:
        if isinstance(store, str):
            try:
                store = Datastore.get(self.ws, store)
            except UserErrorException as exc:
                self.error(str(exc), step=step, field_name=field_name)
                return None
        if not isinstance(store, Datastore):
            self.error(
                f"expected a Datastore, got {type(store).__name__}",
                step=step,
                field_name=field_name,
            )
            return None
        try:
            check_datastore_name(store.name)
        except ValidationError as exc:
            self.error(exc.reason, step=step, field_name=field_name)
            return None
        self.datastores[store.name] = store._definition()
        return store.name

    def register_param(self, p: PipelineParameter, step: str) -> str | None:
        if not isinstance(p.name, str) or not _PARAM_NAME_RE.match(p.name):
            self.error(
                f"PipelineParameter name {p.name!r} is invalid: letters, digits, '_', "
                "'-' and '.', starting with a letter or '_'",
                step=step,
                field_name="PipelineParameter.name",
            )
            return None
        if p.name == RESERVED_CONF_KEY:
            self.error(
                f"PipelineParameter name {p.name!r} is reserved",
                step=step,
                field_name="PipelineParameter.name",
            )
            return None
        if parameter_type(p.default_value) is None:
            self.error(
                f"PipelineParameter {p.name!r} has default {shown(p.default_value)} of type "
                f"{type(p.default_value).__name__}: defaults must be str, int, float "
                "(finite), bool or DataPath",
                step=step,
                field_name="PipelineParameter.default_value",
            )
            return None
        problem = self._default_problem(p)
        if problem is not None:
            self.error(
                f"PipelineParameter {p.name!r}: default {shown(p.default_value)} {problem}",
                step=step,
                field_name="PipelineParameter.default_value",
            )
            return None
        known = self.params.get(p.name)
        if (
            known is not None
            and known is not p
            and (
                type(known.default_value) is not type(p.default_value)
                or self.param_default_json(known.default_value)
                != self.param_default_json(p.default_value)
            )
        ):
            self.error(
                f"Parameter name {p.name!r} is already in use by another "
                f"PipelineParameter with default {known.default_value!r}",
                step=step,
                field_name="PipelineParameter.name",
            )
            return None
        self.params.setdefault(p.name, p)
        return p.name

    def _default_problem(self, p: PipelineParameter) -> str | None:
        """Why a default of a supported type still cannot be used (None when it can)."""
        value = p.default_value
        if not isinstance(value, DataPath):
            return value_problem(value, env_name=parameter_env(p.name))
        store = value.datastore
        if store is not None and not isinstance(store, Datastore):
            return f"is on {type(store).__name__} {shown(store)}, not a Datastore"
        try:
            if store is not None:
                check_datastore_name(store.name)
            safe_relative_path(value.path_on_datastore, field="path_on_datastore")
        except ValidationError as exc:
            return exc.reason
        return None

    def param_default_json(self, value: Any) -> Any:
        if isinstance(value, DataPath):
            if value.datastore is not None:
                self.datastores[value.datastore.name] = value.datastore._definition()
            return value._to_json()
        return value

    def git_properties(self, source: str) -> dict[str, str]:
        if source not in self.git:
            self.git[source] = read_git_properties(source)
        return self.git[source]

    def parameter_specs(self) -> tuple[ParameterSpec, ...]:
        """The pipeline's parameters, as registered by its steps."""
        return tuple(
            ParameterSpec(
                p.name,
                parameter_type(p.default_value) or "string",
                self.param_default_json(p.default_value),
            )
            for p in self.params.values()
        )
