"""Data bindings: a step's inputs, outputs and arguments as spec ports.

``PipelineData`` (and its ``as_input``/``as_mount``/``as_download`` bindings),
``DataReference`` and v1's ``(PipelineParameter(DataPath),
DataPathComputeBinding)`` tuples become :class:`InputSpec`/:class:`OutputSpec`;
arguments naming them become ``{"input": name}``/``{"output": name}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_aml._limits import env_problem, value_problem
from airflow_aml._names import IDENTIFIER_RE
from airflow_aml.compiler.context import CompileContext, shown
from airflow_aml.data.data_reference import DataReference
from airflow_aml.data.datapath import DataPath, DataPathComputeBinding
from airflow_aml.pipeline.core.builder import PipelineData, PipelineStep
from airflow_aml.pipeline.core.graph import InputPortBinding, PipelineParameter
from airflow_aml.runtime.contract import parameter_env
from airflow_aml.spec import InputSpec, OutputSpec

__all__ = [
    "is_datapath_tuple",
    "input_spec",
    "output_spec",
    "argument_spec",
    "StepPorts",
    "step_ports",
    "step_params",
]


def is_datapath_tuple(value: Any) -> bool:
    """Whether ``value`` is v1's ``(PipelineParameter, DataPathComputeBinding)`` input."""
    return isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], PipelineParameter)


def _datapath_input(
    ctx: CompileContext, name: str | None, inp: tuple[Any, Any]
) -> InputSpec | None:
    """v1's ``(PipelineParameter(DataPath), DataPathComputeBinding)`` input."""
    param, binding = inp
    if not isinstance(param.default_value, DataPath):
        ctx.error(
            f"input parameter {param.name!r} must have a DataPath default",
            step=name,
            field_name="inputs",
        )
        return None
    if not isinstance(binding, DataPathComputeBinding):
        ctx.error(
            f"input parameter {param.name!r} must be bound with a "
            f"DataPathComputeBinding, got {type(binding).__name__}",
            step=name,
            field_name="inputs",
        )
        return None
    if binding.mode not in ("mount", "download"):
        ctx.error(
            f"DataPathComputeBinding mode {binding.mode!r} of {param.name!r} is not "
            "supported: use 'mount' or 'download'",
            step=name,
            field_name="inputs",
        )
        return None
    pname = ctx.register_param(param, str(name))
    return InputSpec(
        name=param.name,
        kind="datapath_param",
        mode=binding.mode,
        param=pname,
        path_on_compute=binding.path_on_compute,
        overwrite=bool(binding.overwrite),
    )


def _pipeline_data_input(
    ctx: CompileContext, step: PipelineStep, inp: InputPortBinding, data: PipelineData
) -> InputSpec | None:
    """An upstream step's ``PipelineData`` (mount or download)."""
    name = step.name
    producer = data.producer
    if producer is None or producer not in ctx.pipeline._all_steps_set():
        ctx.error(
            f"input {inp.name!r} consumes PipelineData {data.name!r}, which "
            "no step of the pipeline produces (list it in a step's outputs)",
            step=name,
            field_name="inputs",
        )
        return None
    if producer is step:
        ctx.error(
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


def _data_reference_input(
    ctx: CompileContext, name: str | None, inp: DataReference
) -> InputSpec | None:
    """A ``DataReference`` to a datastore path."""
    store = ctx.datastore_name(inp.datastore, str(name), "inputs")
    if store is None:
        return None
    if inp.mode == "upload":
        ctx.error(
            f"data reference {inp.data_reference_name!r} is in upload mode; use it as an output",
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


def input_spec(
    ctx: CompileContext, step: PipelineStep, inp: Any, edges_ok: bool
) -> InputSpec | None:
    """The spec of one of ``step``'s inputs (None when invalid; reported to ``ctx``)."""
    name = step.name
    if is_datapath_tuple(inp):
        return _datapath_input(ctx, name, inp)
    if isinstance(inp, PipelineData):
        inp = inp.as_mount()
    if isinstance(inp, InputPortBinding):
        data = inp.bind_object
        if isinstance(data, PipelineData):
            return _pipeline_data_input(ctx, step, inp, data)
        if not isinstance(data, DataReference):
            ctx.error(
                f"unsupported input binding to {type(data).__name__}",
                step=name,
                field_name="inputs",
            )
            return None
        inp = data
    if isinstance(inp, DataReference):
        return _data_reference_input(ctx, name, inp)
    ctx.error(
        f"unsupported input of type {type(inp).__name__}: use PipelineData, an "
        "input binding, a DataReference or (PipelineParameter, "
        "DataPathComputeBinding)",
        step=name,
        field_name="inputs",
    )
    return None


def output_spec(
    ctx: CompileContext, step: PipelineStep, out: Any, default_store: str
) -> OutputSpec | None:
    if not isinstance(out, PipelineData):
        ctx.error(
            f"unsupported output of type {type(out).__name__}: use PipelineData",
            step=step.name,
            field_name="outputs",
        )
        return None
    if not isinstance(out.name, str) or not IDENTIFIER_RE.match(out.name):
        ctx.error(
            f"output name {out.name!r} is not a valid identifier (letters, digits "
            "and '_'; no path separators or '..')",
            step=step.name,
            field_name="outputs",
        )
        return None
    if not isinstance(out.output_name, str) or not IDENTIFIER_RE.match(out.output_name):
        ctx.error(
            f"output_name {out.output_name!r} is not a valid identifier",
            step=step.name,
            field_name="outputs",
        )
        return None
    store = default_store
    if out.datastore is not None:
        store = ctx.datastore_name(out.datastore, str(step.name), "outputs") or store
    return OutputSpec(
        name=out.output_name,
        datastore=store,
        mode=out._output_mode,
        path_on_compute=out._output_path_on_compute,
        overwrite=bool(out._output_overwrite),
        is_directory=out._is_directory,
    )


def argument_spec(
    ctx: CompileContext,
    step: PipelineStep,
    arg: Any,
    inputs: dict[int, str],
    outputs: dict[int, str],
) -> dict[str, Any] | None:
    name = str(step.name)
    if isinstance(arg, PipelineParameter):
        pname = ctx.register_param(arg, name)
        return {"param": pname} if pname else None
    if is_datapath_tuple(arg):
        # (PipelineParameter(DataPath), DataPathComputeBinding): the path on compute of
        # the input it names; v1 requires the tuple in inputs too.
        found = inputs.get(("param", arg[0].name))  # type: ignore[call-overload]
        if found is not None:
            return {"input": found}
        ctx.error(
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
        ctx.error(
            f"argument {label!r} is not listed in this step's inputs or outputs",
            step=name,
            field_name="arguments",
        )
        return None
    if isinstance(arg, bool | int | float | str):
        problem = value_problem(arg)
        if problem is not None:
            ctx.error(f"argument {shown(arg)} {problem}", step=name, field_name="arguments")
            return None
        return {"literal": arg}
    ctx.error(
        f"argument {shown(arg)} of type {type(arg).__name__} is not supported: use "
        "strings, numbers, PipelineParameter, PipelineData or DataReference",
        step=name,
        field_name="arguments",
    )
    return None


@dataclass(frozen=True)
class StepPorts:
    """A step's inputs, outputs and arguments as spec parts."""

    inputs: tuple[InputSpec, ...]
    outputs: tuple[OutputSpec, ...]
    arguments: tuple[dict[str, Any], ...]


def _input_keys(inp: Any, name: str) -> list[Any]:
    """Every way an argument may refer to input ``inp`` (its object, binding, identity)."""
    obj = inp.bind_object if isinstance(inp, InputPortBinding) else inp
    keys: list[Any] = []
    if is_datapath_tuple(inp):
        keys.append(("param", inp[0].name))
    if isinstance(obj, DataReference):
        keys.append(("dr", obj.datastore.name, obj.path_on_datastore, obj.data_reference_name))
    keys.append(id(obj))
    if isinstance(inp, InputPortBinding):
        keys.append(id(inp))
    return keys


def step_ports(ctx: CompileContext, step: PipelineStep, default_store: str) -> StepPorts:
    """The inputs, outputs and arguments of ``step`` (problems go to ``ctx``)."""
    name = str(step.name)
    inputs: list[InputSpec] = []
    input_keys: dict[Any, str] = {}
    for inp in step._inputs:
        spec = input_spec(ctx, step, inp, True)
        if spec is not None:
            inputs.append(spec)
            for key in _input_keys(inp, spec.name):
                input_keys.setdefault(key, spec.name)
    outputs: list[OutputSpec] = []
    output_keys: dict[Any, str] = {}
    for out in step._outputs:
        ospec = output_spec(ctx, step, out, default_store)
        if ospec is not None:
            outputs.append(ospec)
            output_keys[id(out)] = ospec.name
    port_names = [i.name for i in inputs] + [o.name for o in outputs]
    dupes = sorted({n for n in port_names if port_names.count(n) > 1})
    if dupes:
        ctx.error(
            f"input/output names must be unique within a step; repeated: {dupes}",
            step=name,
            field_name="inputs",
        )
    for i in inputs:
        if not isinstance(i.name, str) or not IDENTIFIER_RE.match(i.name):
            ctx.error(
                f"input name {i.name!r} is not a valid identifier", step=name, field_name="inputs"
            )
    arguments = [argument_spec(ctx, step, a, input_keys, output_keys) for a in step._arguments]
    return StepPorts(tuple(inputs), tuple(outputs), tuple(a for a in arguments if a is not None))


def _param_entry(
    ctx: CompileContext, name: str, key: Any, value: Any
) -> tuple[str, dict[str, Any]] | None:
    """One ``params={}`` entry (exported as ``AML_PARAMETER_<key>``), or None if invalid."""
    problem = env_problem(key)
    if problem is not None:
        ctx.error(
            f"params key {shown(key)} {problem}: it names the environment variable "
            "AML_PARAMETER_<key>",
            step=name,
            field_name="params",
        )
        return None
    if isinstance(value, PipelineParameter):
        pname = ctx.register_param(value, name)
        return (key, {"param": pname}) if pname else None
    if not isinstance(value, bool | int | float | str):
        ctx.error(
            f"params[{key!r}] must be a plain value or PipelineParameter",
            step=name,
            field_name="params",
        )
        return None
    problem = value_problem(value, env_name=parameter_env(key))
    if problem is not None:
        ctx.error(f"params[{key!r}] {shown(value)} {problem}", step=name, field_name="params")
        return None
    return (key, {"literal": value})


def step_params(ctx: CompileContext, step: PipelineStep) -> tuple[tuple[str, dict[str, Any]], ...]:
    """A step's ``params={}`` entries (exported as ``AML_PARAMETER_<key>``)."""
    name = str(step.name)
    entries = [_param_entry(ctx, name, k, v) for k, v in getattr(step, "params", {}).items()]
    return tuple(e for e in entries if e is not None)
