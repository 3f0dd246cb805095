"""Compile a :class:`Pipeline` into a :class:`PipelineSpec`, collecting every error.

This is where SDK v1 objects are resolved: bindings to inputs, PipelineData
to producers, PipelineParameters to typed parameters, compute targets to
their definitions, source folders to snapshots. Nothing here imports Airflow.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_aml._names import (
    IDENTIFIER_RE,
    check_experiment_name,
    safe_relative_path,
    task_id_for,
)
from airflow_aml.artifacts.git import git_properties
from airflow_aml.artifacts.snapshot import Snapshot, take_snapshot
from airflow_aml.core.compute import AmlCompute, ComputeTarget, LocalCompute
from airflow_aml.core.datastore import Datastore
from airflow_aml.data.data_reference import DataReference
from airflow_aml.data.datapath import DataPath, DataPathComputeBinding
from airflow_aml.exceptions import UserErrorException, ValidationError
from airflow_aml.pipeline.core.builder import PipelineData, PipelineStep
from airflow_aml.pipeline.core.graph import InputPortBinding, PipelineParameter
from airflow_aml.pipeline.steps.python_script_step import PythonScriptStep
from airflow_aml.spec import (
    RESERVED_CONF_KEY,
    InputSpec,
    OutputSpec,
    ParameterSpec,
    PipelineSpec,
    StepSpec,
)

if TYPE_CHECKING:
    from airflow_aml.pipeline.core.pipeline import Pipeline

__all__ = ["CompileResult", "compile_pipeline", "resolve_parameter_values", "topological_order"]

_PARAM_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


@dataclass
class CompileResult:
    """The spec (when there were no errors), the errors and the warnings."""

    spec: PipelineSpec | None
    errors: list[ValidationError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    snapshots: dict[str, Snapshot] = field(default_factory=dict)


def parameter_type(value: Any) -> str | None:
    """The JSON type name of a parameter default, or None if not supported."""
    if isinstance(value, DataPath):
        return "datapath"
    t = _JSON_TYPES.get(type(value))
    if t == "number" and not math.isfinite(value):
        return None
    return t


def topological_order(
    steps: list[PipelineStep], edges: dict[PipelineStep, list[PipelineStep]]
) -> tuple[list[PipelineStep], list[PipelineStep]]:
    """Kahn's order of ``steps`` (stable) and the steps left on a cycle."""
    indeg = {s: 0 for s in steps}
    downstream: dict[PipelineStep, list[PipelineStep]] = {s: [] for s in steps}
    for s in steps:
        for up in edges.get(s, []):
            if up in indeg:
                indeg[s] += 1
                downstream[up].append(s)
    ready = [s for s in steps if indeg[s] == 0]
    order: list[PipelineStep] = []
    i = 0
    while i < len(ready):
        s = ready[i]
        i += 1
        order.append(s)
        for d in downstream[s]:
            indeg[d] -= 1
            if indeg[d] == 0:
                ready.append(d)
    return order, [s for s in steps if indeg[s] > 0]


class _Compiler:
    def __init__(self, pipeline: Pipeline, experiment_name: str):
        self.pipeline = pipeline
        self.ws = pipeline._workspace
        self.experiment_name = experiment_name
        self.errors: list[ValidationError] = []
        self.warnings: list[str] = []
        self.params: dict[str, PipelineParameter] = {}
        self.snapshots: dict[str, Snapshot] = {}
        self.datastores: dict[str, dict[str, Any]] = {}
        self._task_ids: set[str] = set()
        self._stores_cache: dict[str, Any] | None = None
        self._compute_cache: dict[str, Any] | None = None
        self._git: dict[str, dict[str, str]] = {}

    def error(self, message: str, step: str | None = None, field_name: str | None = None) -> None:
        self.errors.append(ValidationError(message, step=step, field=field_name))

    # ------------------------------------------------------------------ run
    def run(self) -> PipelineSpec | None:
        try:
            check_experiment_name(self.experiment_name)
        except ValidationError as exc:
            self.errors.append(exc)
        steps = self.pipeline._all_steps()
        self._check_names(steps)
        edges = {
            s: list(dict.fromkeys(s._upstream_steps() + self.pipeline._extra_upstream(s)))
            for s in steps
        }
        self._check_membership(steps, edges)
        order, cyclic = topological_order(steps, edges)
        if cyclic:
            names = ", ".join(repr(s.name) for s in cyclic)
            self.error(
                f"steps form a cycle (through run_after or data dependencies): {names}",
                step=cyclic[0].name,
                field_name="run_after",
            )
            return None
        self._check_producers(steps)
        default_store = self._default_datastore()
        specs = [self._step_spec(s, edges[s], default_store) for s in order]
        self._check_shared_sources(order)
        if self.errors:
            return None
        params = tuple(
            ParameterSpec(
                p.name,
                parameter_type(p.default_value) or "string",
                self._param_default_json(p.default_value),
            )
            for p in self.params.values()
        )
        return PipelineSpec(
            dag_id=self.experiment_name,
            experiment_name=self.experiment_name,
            steps=tuple(s for s in specs if s is not None),
            parameters=params,
            description=self.pipeline.description,
            datastores=self.datastores,
            default_datastore=default_store,
            workspace=self.ws._to_runtime_config(),
        )

    # ---------------------------------------------------------------- checks
    def _check_names(self, steps: list[PipelineStep]) -> None:
        seen: dict[str, PipelineStep] = {}
        for s in steps:
            if not isinstance(s.name, str) or not s.name.strip():
                self.error(
                    "step name must be a non-empty string", step=str(s.name), field_name="name"
                )
                continue
            if s.name in seen:
                self.error(
                    f"duplicate step name {s.name!r}: step names must be unique in a pipeline",
                    step=s.name,
                    field_name="name",
                )
            seen[s.name] = s

    def _check_membership(
        self, steps: list[PipelineStep], edges: dict[PipelineStep, list[PipelineStep]]
    ) -> None:
        members = set(steps)
        for s in steps:
            for up in edges[s]:
                if up not in members:
                    self.error(
                        f"depends on step {up.name!r}, which is not in the pipeline "
                        "(pass it in steps=, or keep resolve_closure=True)",
                        step=s.name,
                        field_name="inputs",
                    )

    def _check_producers(self, steps: list[PipelineStep]) -> None:
        """A step may list a PipelineData as an output only while it is its producer: the
        last step constructed with it (SDK v1: "already an output of step ...")."""
        for s in steps:
            for out in s._outputs:
                if isinstance(out, PipelineData) and out.producer is not s:
                    current = out.producer.name if out.producer is not None else None
                    self.error(
                        f"PipelineData {out.name!r} is also produced by step(s) {current!r}, "
                        "constructed later with it as an output: each PipelineData has "
                        "exactly one producer. Rebuild this step too, or leave it out of "
                        "the pipeline",
                        step=s.name,
                        field_name="outputs",
                    )

    def _check_shared_sources(self, steps: list[PipelineStep]) -> None:
        """Warn when steps running *different* scripts share one source folder.

        Their snapshot is shared (SDK v1 semantics), so editing one script
        reruns them all. Steps running the same script from the same folder
        (one script, several configurations) are not warned about.
        """
        by_dir: dict[str, list[PythonScriptStep]] = {}
        for s in steps:
            d = getattr(s, "_resolved_source", None)
            if d and isinstance(s, PythonScriptStep):
                by_dir.setdefault(d, []).append(s)
        for d, group in by_dir.items():
            if len({s.script_name for s in group}) > 1:
                names = ", ".join(str(s.name) for s in group)
                self.warnings.append(
                    f"steps {names} share source_directory {d}: a change to any file in it "
                    "reruns all of them. Give each step its own folder (or list files a step "
                    "does not use in .amlignore) to reuse them independently."
                )

    # ------------------------------------------------------------- resolution
    def _default_datastore(self) -> str:
        store = self.pipeline._default_datastore
        if store is None:
            store = self.ws.get_default_datastore()
        return self._datastore_name(store, None, "default_datastore") or "workspaceblobstore"

    def _datastore_name(self, store: Any, step: str | None, field_name: str) -> str | None:
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
        self.datastores[store.name] = store._definition()
        return store.name

    def _register_param(self, p: PipelineParameter, step: str) -> str | None:
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
                f"PipelineParameter {p.name!r} has default {p.default_value!r} of type "
                f"{type(p.default_value).__name__}: defaults must be str, int, float "
                "(finite), bool or DataPath",
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
                or self._param_default_json(known.default_value)
                != self._param_default_json(p.default_value)
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

    def _param_default_json(self, value: Any) -> Any:
        if isinstance(value, DataPath):
            if value.datastore is not None:
                self.datastores[value.datastore.name] = value.datastore._definition()
            return value._to_json()
        return value

    def _source_directory(self, step: PythonScriptStep) -> str | None:
        src = step.source_directory or self.pipeline._default_source_directory
        if src is None:
            self.warnings.append(
                f"step {step.name!r} has no source_directory; using the current folder"
            )
            src = "."
        path = Path(src).expanduser().resolve()
        if not path.is_dir():
            self.error(
                f"source_directory {str(src)!r} does not exist",
                step=step.name,
                field_name="source_directory",
            )
            return None
        return str(path)

    def _data_aware(self, step: PythonScriptStep) -> str:
        value = step.data_aware_reuse
        if value is None:
            value = self.pipeline.data_aware_reuse
        if value in (False, None, "", "off"):
            return ""
        if value in (True, "stat"):
            return "stat"
        if value == "digest":
            return "digest"
        self.error(
            f"data_aware_reuse must be False, True, 'stat' or 'digest', got {value!r}",
            step=step.name,
            field_name="data_aware_reuse",
        )
        return ""

    def _max_age(self, step: PythonScriptStep) -> float | None:
        value = step.reuse_max_age
        if value is None:
            return None
        seconds = value.total_seconds() if isinstance(value, timedelta) else value
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
            self.error(
                f"reuse_max_age must be a positive number of seconds or a timedelta, got {value!r}",
                step=step.name,
                field_name="reuse_max_age",
            )
            return None
        return float(seconds)

    def _git_properties(self, source: str) -> dict[str, str]:
        if source not in self._git:
            self._git[source] = git_properties(source)
        return self._git[source]

    def _compute(self, step: PythonScriptStep) -> dict[str, Any]:
        target = step.compute_target
        if target is None and step.runconfig is not None:
            t = step.runconfig.target
            target = None if t in (None, "local") else t
        if target is None or target == "local":
            return {"name": "local", "type": "Local"}
        if isinstance(target, str):
            if self._compute_cache is None:
                self._compute_cache = self.ws.compute_targets
            found = self._compute_cache.get(target)
            if found is None:
                self.error(
                    f"compute target {target!r} is not registered in workspace "
                    f"{self.ws.name!r}; create it with ComputeTarget.create(...) or "
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
        self.error(
            f"compute target of kind {kind} is not supported for PythonScriptStep yet; "
            "use an AmlCompute cluster or the local worker",
            step=step.name,
            field_name="compute_target",
        )
        return {}

    def _runconfig(self, step: PythonScriptStep) -> dict[str, Any]:
        rc = step.runconfig
        if rc is None:
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
            self.error(
                f"environment {env.name!r} asks for packages {packages}: building per-step "
                "environments is not supported yet. Install them on the Airflow workers and set "
                "runconfig.environment.python.user_managed_dependencies = True",
                step=step.name,
                field_name="runconfig.environment",
            )
        if rc.docker.use_docker or env.docker.enabled:
            self.error(
                "running steps in Docker is not supported yet; unset "
                "runconfig.docker.use_docker to run on the Airflow worker",
                step=step.name,
                field_name="runconfig.docker",
            )
        variables = {**env.environment_variables, **rc.environment_variables}
        bad = [
            k
            for k, v in variables.items()
            if not isinstance(k, str) or not isinstance(v, str | int | float | bool)
        ]
        if bad:
            self.error(
                f"environment variables must map names to plain values; bad: {bad}",
                step=step.name,
                field_name="runconfig.environment_variables",
            )
        return {
            "environment_variables": {str(k): str(v) for k, v in variables.items()},
            "environment": env.name,
            "max_run_duration_seconds": rc.max_run_duration_seconds,
        }

    def _input(self, step: PipelineStep, inp: Any, edges_ok: bool) -> InputSpec | None:
        name = step.name
        if _is_datapath_tuple(inp):
            param, binding = inp
            if not isinstance(param.default_value, DataPath):
                self.error(
                    f"input parameter {param.name!r} must have a DataPath default",
                    step=name,
                    field_name="inputs",
                )
                return None
            if not isinstance(binding, DataPathComputeBinding):
                self.error(
                    f"input parameter {param.name!r} must be bound with a "
                    f"DataPathComputeBinding, got {type(binding).__name__}",
                    step=name,
                    field_name="inputs",
                )
                return None
            if binding.mode not in ("mount", "download"):
                self.error(
                    f"DataPathComputeBinding mode {binding.mode!r} of {param.name!r} is not "
                    "supported: use 'mount' or 'download'",
                    step=name,
                    field_name="inputs",
                )
                return None
            pname = self._register_param(param, str(name))
            return InputSpec(
                name=param.name,
                kind="datapath_param",
                mode=binding.mode,
                param=pname,
                path_on_compute=binding.path_on_compute,
                overwrite=bool(binding.overwrite),
            )
        if isinstance(inp, PipelineData):
            inp = inp.as_mount()
        if isinstance(inp, InputPortBinding):
            data = inp.bind_object
            if isinstance(data, PipelineData):
                producer = data.producer
                if producer is None or producer not in self.pipeline._all_steps_set():
                    self.error(
                        f"input {inp.name!r} consumes PipelineData {data.name!r}, which "
                        "no step of the pipeline produces (list it in a step's outputs)",
                        step=name,
                        field_name="inputs",
                    )
                    return None
                if producer is step:
                    self.error(
                        f"PipelineData {data.name!r} is both an input and an output",
                        step=name,
                        field_name="inputs",
                    )
                    return None
                return InputSpec(
                    name=inp.name,
                    kind="pipeline_data",
                    mode=inp.bind_mode,
                    producer=producer.name,
                    output=data.output_name,
                    path_on_compute=inp.path_on_compute,
                    overwrite=bool(inp.overwrite),
                )
            if isinstance(data, DataReference):
                inp = data
            else:
                self.error(
                    f"unsupported input binding to {type(data).__name__}",
                    step=name,
                    field_name="inputs",
                )
                return None
        if isinstance(inp, DataReference):
            store = self._datastore_name(inp.datastore, str(name), "inputs")
            if store is None:
                return None
            if inp.mode == "upload":
                self.error(
                    f"data reference {inp.data_reference_name!r} is in upload mode; "
                    "use it as an output",
                    step=name,
                    field_name="inputs",
                )
                return None
            return InputSpec(
                name=inp.data_reference_name,
                kind="data_reference",
                mode=inp.mode,
                datastore=store,
                path=inp.path_on_datastore or "",
                path_on_compute=inp.path_on_compute,
                overwrite=bool(inp.overwrite),
            )
        self.error(
            f"unsupported input of type {type(inp).__name__}: use PipelineData, an "
            "input binding, a DataReference or (PipelineParameter, "
            "DataPathComputeBinding)",
            step=name,
            field_name="inputs",
        )
        return None

    def _output(self, step: PipelineStep, out: Any, default_store: str) -> OutputSpec | None:
        if not isinstance(out, PipelineData):
            self.error(
                f"unsupported output of type {type(out).__name__}: use PipelineData",
                step=step.name,
                field_name="outputs",
            )
            return None
        if not isinstance(out.name, str) or not IDENTIFIER_RE.match(out.name):
            self.error(
                f"output name {out.name!r} is not a valid identifier (letters, digits "
                "and '_'; no path separators or '..')",
                step=step.name,
                field_name="outputs",
            )
            return None
        if not isinstance(out.output_name, str) or not IDENTIFIER_RE.match(out.output_name):
            self.error(
                f"output_name {out.output_name!r} is not a valid identifier",
                step=step.name,
                field_name="outputs",
            )
            return None
        store = default_store
        if out.datastore is not None:
            store = self._datastore_name(out.datastore, str(step.name), "outputs") or store
        return OutputSpec(
            name=out.output_name,
            datastore=store,
            mode=out._output_mode,
            path_on_compute=out._output_path_on_compute,
            overwrite=bool(out._output_overwrite),
            is_directory=out._is_directory,
        )

    def _argument(
        self, step: PipelineStep, arg: Any, inputs: dict[int, str], outputs: dict[int, str]
    ) -> dict[str, Any] | None:
        name = str(step.name)
        if isinstance(arg, PipelineParameter):
            pname = self._register_param(arg, name)
            return {"param": pname} if pname else None
        if _is_datapath_tuple(arg):
            # (PipelineParameter(DataPath), DataPathComputeBinding): the path on compute of
            # the input it names; v1 requires the tuple in inputs too.
            found = inputs.get(("param", arg[0].name))  # type: ignore[call-overload]
            if found is not None:
                return {"input": found}
            self.error(
                f"parameterized datapath {arg[0].name!r} appears in arguments but is not "
                "in this step's inputs (list the same tuple in inputs=)",
                step=name,
                field_name="arguments",
            )
            return None
        if isinstance(arg, InputPortBinding | PipelineData | DataReference):
            key = id(arg.bind_object) if isinstance(arg, InputPortBinding) else id(arg)
            if isinstance(arg, DataReference):
                key = ("dr", arg.datastore.name, arg.path_on_datastore, arg.data_reference_name)  # type: ignore[assignment]
            if key in outputs:
                return {"output": outputs[key]}
            if key in inputs:
                return {"input": inputs[key]}
            label = getattr(arg, "name", None) or getattr(arg, "data_reference_name", "?")
            self.error(
                f"argument {label!r} is not listed in this step's inputs or outputs",
                step=name,
                field_name="arguments",
            )
            return None
        if isinstance(arg, bool | int | float | str):
            return {"literal": arg}
        self.error(
            f"argument {arg!r} of type {type(arg).__name__} is not supported: use "
            "strings, numbers, PipelineParameter, PipelineData or DataReference",
            step=name,
            field_name="arguments",
        )
        return None

    def _step_spec(
        self, step: PipelineStep, upstream: list[PipelineStep], default_store: str
    ) -> StepSpec | None:
        if not isinstance(step, PythonScriptStep):
            self.error(
                f"step kind {type(step).__name__} is not supported yet",
                step=step.name,
                field_name="kind",
            )
            return None
        name = str(step.name)
        n_errors = len(self.errors)
        inputs: list[InputSpec] = []
        input_keys: dict[Any, str] = {}
        for inp in step._inputs:
            spec = self._input(step, inp, True)
            if spec is None:
                continue
            inputs.append(spec)
            obj = inp.bind_object if isinstance(inp, InputPortBinding) else inp
            if _is_datapath_tuple(inp):
                input_keys[("param", inp[0].name)] = spec.name
            if isinstance(obj, DataReference):
                input_keys[
                    ("dr", obj.datastore.name, obj.path_on_datastore, obj.data_reference_name)
                ] = spec.name
            input_keys.setdefault(id(obj), spec.name)
            if isinstance(inp, InputPortBinding):
                input_keys[id(inp)] = spec.name
        outputs: list[OutputSpec] = []
        output_keys: dict[Any, str] = {}
        for out in step._outputs:
            ospec = self._output(step, out, default_store)
            if ospec is not None:
                outputs.append(ospec)
                output_keys[id(out)] = ospec.name
        port_names = [i.name for i in inputs] + [o.name for o in outputs]
        dupes = sorted({n for n in port_names if port_names.count(n) > 1})
        if dupes:
            self.error(
                f"input/output names must be unique within a step; repeated: {dupes}",
                step=name,
                field_name="inputs",
            )
        for i in inputs:
            if not isinstance(i.name, str) or not IDENTIFIER_RE.match(i.name):
                self.error(
                    f"input name {i.name!r} is not a valid identifier",
                    step=name,
                    field_name="inputs",
                )
        arguments = [self._argument(step, a, input_keys, output_keys) for a in step._arguments]
        params: list[tuple[str, dict[str, Any]]] = []
        for key, value in step.params.items():
            if not isinstance(key, str) or not key:
                self.error(
                    f"params key {key!r} must be a non-empty string", step=name, field_name="params"
                )
            elif isinstance(value, PipelineParameter):
                pname = self._register_param(value, name)
                if pname:
                    params.append((key, {"param": pname}))
            elif isinstance(value, bool | int | float | str):
                params.append((key, {"literal": value}))
            else:
                self.error(
                    f"params[{key!r}] must be a plain value or PipelineParameter",
                    step=name,
                    field_name="params",
                )
        source = self._source_directory(step)
        digest = ""
        if source is not None:
            script = Path(source) / step.script_name
            if os.path.isabs(step.script_name) or ".." in Path(step.script_name).parts:
                self.error(
                    f"script_name {step.script_name!r} must be relative to source_directory",
                    step=name,
                    field_name="script_name",
                )
            elif not script.is_file():
                self.error(
                    f"script {step.script_name!r} not found in source_directory {source}",
                    step=name,
                    field_name="script_name",
                )
            else:
                snap = self.snapshots.get(source)
                if snap is None:
                    snap = self.snapshots[source] = take_snapshot(source)
                digest = snap.digest
                step._resolved_source = source  # type: ignore[attr-defined]
        compute = self._compute(step)
        runconfig = self._runconfig(step)
        if len(self.errors) > n_errors:
            return None
        return StepSpec(
            name=name,
            task_id=task_id_for(name, self._task_ids),
            kind=step._kind,
            script_name=step.script_name.replace("\\", "/"),
            source_directory=source or "",
            source_digest=digest,
            arguments=tuple(a for a in arguments if a is not None),
            inputs=tuple(inputs),
            outputs=tuple(outputs),
            params=tuple(params),
            upstream=tuple(str(u.name) for u in upstream),
            allow_reuse=step.allow_reuse,
            version=step.version,
            compute=compute,
            runconfig=runconfig,
            properties=self._git_properties(source) if source else {},
            data_aware=self._data_aware(step),
            reuse_max_age=self._max_age(step),
        )


def _is_datapath_tuple(value: Any) -> bool:
    """Whether ``value`` is v1's ``(PipelineParameter, DataPathComputeBinding)`` input."""
    return isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], PipelineParameter)


def compile_pipeline(pipeline: Pipeline, experiment_name: str) -> CompileResult:
    """Compile ``pipeline`` for ``experiment_name``; never raises for bad input."""
    c = _Compiler(pipeline, experiment_name)
    spec = c.run()
    return CompileResult(spec if not c.errors else None, c.errors, c.warnings, c.snapshots)


def _coerce(name: str, ptype: str, value: Any, spec: PipelineSpec) -> Any:
    if ptype == "datapath":
        if isinstance(value, DataPath):
            value = value._to_json()
        if not (
            isinstance(value, dict)
            and set(value) <= {"datastore", "path"}
            and isinstance(value.get("path", ""), str)
        ):
            raise ValidationError(
                f"expected a DataPath, got {type(value).__name__}",
                field=f"pipeline_parameters.{name}",
            )
        store = value.get("datastore") or spec.default_datastore
        if store not in spec.datastores:
            raise ValidationError(
                f"DataPath on datastore {store!r}, which this pipeline does not use; use one "
                f"of {sorted(spec.datastores)} (or give the PipelineParameter a default on "
                f"{store!r})",
                field=f"pipeline_parameters.{name}",
            )
        path = safe_relative_path(value.get("path", ""), field=f"pipeline_parameters.{name}")
        return {"datastore": store, "path": path}
    ok = {
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value),
        "string": isinstance(value, str),
    }[ptype]
    if not ok:
        raise ValidationError(
            f"expected a value of type {ptype}, got {value!r} ({type(value).__name__})",
            field=f"pipeline_parameters.{name}",
        )
    return float(value) if ptype == "number" else value


def _from_string(name: str, ptype: str, value: str) -> Any:
    """A REST ``ParameterAssignments`` string as a value of the parameter's type."""
    text = value.strip()
    try:
        if ptype == "integer":
            if not re.fullmatch(r"[+-]?\d+", text):
                raise ValueError
            return int(text)
        if ptype == "number":
            number = float(text)
            if not math.isfinite(number):
                raise ValueError
            return number
        if ptype == "boolean":
            lowered = text.lower()
            if lowered in ("true", "1", "yes"):
                return True
            if lowered in ("false", "0", "no"):
                return False
            raise ValueError
    except ValueError:
        raise ValidationError(
            f"value {value!r} cannot be converted to {ptype}", field=f"ParameterAssignments.{name}"
        ) from None
    return value


def resolve_parameter_values(
    spec: PipelineSpec, values: dict[str, Any] | None, *, coerce_strings: bool = False
) -> dict[str, Any]:
    """Check ``values`` against the spec's parameters; return the JSON values to use.

    Unknown names and wrong types raise :class:`ValidationError` naming the
    parameter; the message lists the valid parameter names.
    """
    values = dict(values or {})
    declared = {p.name: p for p in spec.parameters}
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise ValidationError(
            f"unknown pipeline parameter(s) {unknown}; this pipeline's parameters are "
            f"{sorted(declared) or 'none'}",
            field="pipeline_parameters",
        )
    resolved = {}
    for name, p in declared.items():
        if name in values:
            value = values[name]
            if coerce_strings and isinstance(value, str) and p.type != "string":
                value = _from_string(name, p.type, value)
            resolved[name] = _coerce(name, p.type, value, spec)
        else:
            resolved[name] = p.default
    return resolved
