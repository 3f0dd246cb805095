"""Graph building blocks: PipelineParameter, port bindings and the pipeline graph view."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["PipelineParameter", "InputPortBinding", "OutputPortBinding", "Graph", "Node", "Edge"]


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
