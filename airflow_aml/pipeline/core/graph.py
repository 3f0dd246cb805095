"""Graph building blocks: PipelineParameter, port bindings and the pipeline graph view."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from airflow_aml._unsupported import Unsupported
from airflow_aml.exceptions import ValidationError

if TYPE_CHECKING:  # re-exported lazily, see __getattr__ at the end
    from airflow_aml.pipeline.core.published_pipeline import PublishedPipeline
    from airflow_aml.pipeline.core.run import PortDataReference

__all__ = [
    "PipelineParameter",
    "InputPortBinding",
    "OutputPortBinding",
    "Graph",
    "Node",
    "Edge",
    "TrainingOutput",
    "InputPortDef",
    "OutputPortDef",
    "ParamDef",
    "StoredProcedureParameter",
    "StoredProcedureParameterType",
    "DataType",
    "PipelineDataset",
    "PublishedPipeline",
    "PortDataReference",
]


class PipelineParameter:
    """A pipeline parameter (SDK v1): a named value with a default, settable per run.

    In Airflow it becomes a typed DAG ``Param``; per run it is set by
    ``pipeline_parameters``, by REST ``conf`` or by AML ``ParameterAssignments``.
    """

    def __init__(self, name: str, default_value: Any):
        self.name = name
        self.default_value = default_value

    def __str__(self) -> str:
        return f"$AML_PARAMETER_{self.name}"

    def __repr__(self) -> str:
        return f"PipelineParameter(name={self.name!r}, default_value={self.default_value!r})"


class InputPortBinding:
    """How an upstream output (or data) is bound to a step input (mode, name, path)."""

    def __init__(
        self,
        name: str,
        bind_object: Any,
        bind_mode: str = "mount",
        path_on_compute: str | None = None,
        overwrite: bool | None = None,
        is_resource: bool = False,
        **kwargs: Any,
    ):
        self.name = name
        self.bind_object = bind_object
        self.bind_mode = bind_mode
        self.path_on_compute = path_on_compute
        self.overwrite = overwrite
        self.is_resource = is_resource

    @property
    def data_reference_name(self) -> str:
        """The name the script sees (``$AZUREML_DATAREFERENCE_<name>``)."""
        return self.name

    def __str__(self) -> str:
        return f"$AZUREML_DATAREFERENCE_{self.name}"

    def __repr__(self) -> str:
        return f"InputPortBinding(name={self.name!r}, mode={self.bind_mode!r})"


class OutputPortBinding:
    """How a step output is stored (kept for API compatibility)."""

    def __init__(
        self,
        name: str,
        datastore: Any = None,
        output_name: str | None = None,
        bind_mode: str = "mount",
        path_on_compute: str | None = None,
        is_directory: bool | None = None,
        overwrite: bool | None = None,
        **kwargs: Any,
    ):
        self.name = name
        self.datastore = datastore
        self.output_name = output_name or name
        self.bind_mode = bind_mode
        self.path_on_compute = path_on_compute
        self.is_directory = is_directory
        self.overwrite = overwrite


@dataclass(frozen=True)
class Node:
    """A step in the pipeline graph."""

    name: str
    kind: str
    node_id: str


@dataclass(frozen=True)
class Edge:
    """A dependency: ``source`` must finish before ``target`` (via ``port`` if data)."""

    source: str
    target: str
    port: str | None = None


@dataclass(frozen=True)
class Graph:
    """The pipeline graph: nodes in topological order and their edges."""

    nodes: tuple[Node, ...] = field(default_factory=tuple)
    edges: tuple[Edge, ...] = field(default_factory=tuple)
    params: dict[str, Any] = field(default_factory=dict)

    def node_names(self) -> list[str]:
        """Step names, in topological order."""
        return [n.name for n in self.nodes]

    @classmethod
    def from_spec(cls, spec: Any) -> Graph:
        """The graph of a compiled pipeline spec: one edge per data port, plus
        ``run_after``/sequence edges (port ``None``)."""
        nodes = tuple(Node(s.name, s.kind, s.task_id) for s in spec.steps)
        edges: list[Edge] = []
        for s in spec.steps:
            ports = [(i.producer, i.output) for i in s.inputs if i.kind == "pipeline_data"]
            for up in s.upstream:
                names = [port for producer, port in ports if producer == up]
                edges.extend(Edge(up, s.name, port) for port in names or [None])
        return cls(nodes, tuple(edges), spec.parameter_defaults())


# ----------------------------------------------------------------------------
# Further SDK v1 names of ``azureml.pipeline.core.graph``: plain value holders
# (they store their v1 constructor arguments and run nothing) and placeholders.


class TrainingOutput:
    """A specialised step output (metrics or model) of AutoML/HyperDrive steps (SDK v1).

    A value holder: those step kinds are not supported, so a pipeline using it
    fails when the step is constructed.
    """

    def __init__(
        self,
        type: str,
        iteration: int | None = None,
        metric: str | None = None,
        model_file: str | None = None,
    ):
        kind = str(type).lower()
        if kind == "metrics" and (iteration or metric):
            raise ValidationError(
                "iteration and metric are only allowed for output type Model",
                field="TrainingOutput",
            )
        if kind == "model" and iteration and metric:
            raise ValidationError(
                "give either iteration or metric, not both", field="TrainingOutput"
            )
        if kind not in ("metrics", "model"):
            raise ValidationError(
                f"unknown training output type {type!r}; expected 'Metrics' or 'Model'",
                field="TrainingOutput",
            )
        self.type = type
        self.iteration = iteration
        self.metric = metric
        self.model_file = model_file

    def __repr__(self) -> str:
        return f"TrainingOutput(type={self.type!r})"


class InputPortDef:
    """Definition of an input port of a Module (SDK v1); a value holder."""

    def __init__(
        self,
        name: str,
        data_types: list[str] | None = None,
        default_datastore_mode: str | None = None,
        default_path_on_compute: str | None = None,
        is_optional: bool = False,
        default_overwrite: bool | None = None,
        default_data_reference_name: str | None = None,
        is_resource: bool = False,
        label: str | None = None,
        additional_transformations: Any = None,
        **kwargs: Any,
    ):
        self.name = name
        self.data_types = (
            list(data_types) if data_types is not None else ["AnyFile", "AnyDirectory"]
        )
        self.default_datastore_mode = default_datastore_mode
        self.default_path_on_compute = default_path_on_compute
        self.is_optional = is_optional
        self.default_overwrite = default_overwrite
        self.default_data_reference_name = default_data_reference_name
        self.is_resource = is_resource
        self.label = label
        self.additional_transformations = additional_transformations

    def __repr__(self) -> str:
        return f"InputPortDef(name={self.name!r})"


class OutputPortDef:
    """Definition of an output port of a Module (SDK v1); a value holder."""

    def __init__(
        self,
        name: str,
        default_datastore_name: str | None = None,
        default_datastore_mode: str | None = None,
        default_path_on_compute: str | None = None,
        is_directory: bool = False,
        data_type: str | None = None,
        default_overwrite: bool | None = None,
        training_output: TrainingOutput | None = None,
        label: str | None = None,
    ):
        self.name = name
        self.default_datastore_name = default_datastore_name
        self.default_datastore_mode = default_datastore_mode
        self.default_path_on_compute = default_path_on_compute
        self.is_directory = is_directory
        self.data_type = data_type or ("AnyDirectory" if is_directory else "AnyFile")
        self.default_overwrite = default_overwrite
        self.training_output = training_output
        self.label = label

    def __repr__(self) -> str:
        return f"OutputPortDef(name={self.name!r})"


class ParamDef:
    """Definition of an execution parameter of a Module (SDK v1); a value holder."""

    def __init__(
        self,
        name: str,
        default_value: Any = None,
        is_metadata_param: bool = False,
        is_optional: bool = False,
        set_env_var: bool = False,
        calculate_hash: bool = True,
        env_var_override: str | None = None,
    ):
        self.name = name
        self.default_value = default_value
        self.is_metadata_param = is_metadata_param
        self.is_optional = is_optional
        self.set_env_var = set_env_var
        self.calculate_hash = calculate_hash
        self.env_var_override = env_var_override

    def __repr__(self) -> str:
        return f"ParamDef(name={self.name!r}, default_value={self.default_value!r})"


class StoredProcedureParameterType(Enum):
    """Types of SQL stored procedure parameters (SDK v1)."""

    String = "String"
    Int = "Int"
    Decimal = "Decimal"
    Guid = "Guid"
    Boolean = "Boolean"
    Date = "Date"

    @staticmethod
    def from_str(code: str) -> StoredProcedureParameterType:
        """The type named ``code`` (a name, or its v1 number ``"0"``..``"5"``)."""
        members = list(StoredProcedureParameterType)
        if code.isdigit() and int(code) < len(members):
            return members[int(code)]
        try:
            return StoredProcedureParameterType(code)
        except ValueError:
            raise ValidationError(
                f"unknown stored procedure parameter type {code!r}; expected one of "
                f"{[m.value for m in members]}",
                field="StoredProcedureParameterType",
            ) from None


class StoredProcedureParameter:
    """A SQL stored procedure parameter for SQL data references (SDK v1); a value holder."""

    def __init__(self, name: str, value: str, type: StoredProcedureParameterType | None = None):
        self.name = name
        self.value = value
        self.type = type or StoredProcedureParameterType.String

    def __repr__(self) -> str:
        return f"StoredProcedureParameter(name={self.name!r}, type={self.type.value})"


class DataType(Unsupported):
    """A registered pipeline data type (SDK v1 ``graph.DataType``, kept by the service)."""

    _alternative = (
        "registered data types are not needed here; describe outputs with "
        "PipelineData(name, is_directory=...)"
    )


class PipelineDataset(Unsupported):
    """A dataset bound to a pipeline input or parameter (SDK v1)."""

    _planned = True
    _alternative = (
        "datasets are planned; meanwhile pass data as a DataReference or a PipelineParameter "
        "whose default is a DataPath"
    )


_LAZY = {
    "PublishedPipeline": "airflow_aml.pipeline.core.published_pipeline",
    "PortDataReference": "airflow_aml.pipeline.core.run",
}


def __getattr__(name: str) -> Any:
    """v1 also exports ``PublishedPipeline`` and ``PortDataReference`` from this module;
    they are imported on first use (they live in modules that import this one)."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
