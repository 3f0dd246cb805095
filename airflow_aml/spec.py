"""The pipeline spec: a frozen, JSON-serialisable description of one pipeline.

The compiler turns the object model into a :class:`PipelineSpec`; the
renderer turns a spec into a DAG. Specs hold names, paths and values only:
never secrets, never Python objects, so they can be stored in the registry
and rendered by a dag-processor that imports no user code.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from airflow_aml.exceptions import SpecError

__all__ = [
    "SPEC_VERSION",
    "ParameterSpec",
    "InputSpec",
    "OutputSpec",
    "StepSpec",
    "PipelineSpec",
    "RESERVED_CONF_KEY",
]

SPEC_VERSION = 1
# DAG-run conf key holding per-run AML options (regenerate_outputs, tags, ...).
RESERVED_CONF_KEY = "azureml"


@dataclass(frozen=True)
class ParameterSpec:
    """A pipeline parameter: name, JSON type and default value."""

    name: str
    type: str  # string | integer | number | boolean | datapath
    default: Any


@dataclass(frozen=True)
class InputSpec:
    """A step input.

    ``kind`` is ``pipeline_data`` (from ``producer``/``output``), ``data_reference``
    (``datastore``/``path``) or ``datapath_param`` (parameter ``param``).
    """

    name: str
    kind: str
    mode: str = "mount"
    producer: str | None = None
    output: str | None = None
    datastore: str | None = None
    path: str | None = None
    param: str | None = None
    path_on_compute: str | None = None
    overwrite: bool = False


@dataclass(frozen=True)
class OutputSpec:
    """A step output written to ``datastore`` under the run's artifact prefix."""

    name: str
    datastore: str
    mode: str = "mount"
    path_on_compute: str | None = None
    overwrite: bool = False
    is_directory: bool | None = None


@dataclass(frozen=True)
class StepSpec:
    """One step: what to run, with which arguments, inputs and outputs."""

    name: str
    task_id: str
    kind: str
    script_name: str
    source_directory: str
    source_digest: str
    arguments: tuple[dict[str, Any], ...] = ()
    inputs: tuple[InputSpec, ...] = ()
    outputs: tuple[OutputSpec, ...] = ()
    params: tuple[tuple[str, dict[str, Any]], ...] = ()
    upstream: tuple[str, ...] = ()
    allow_reuse: bool = True
    version: str | None = None
    compute: dict[str, Any] = field(default_factory=dict)
    runconfig: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    # Reuse options beyond SDK v1: "" (off), "stat" (size+mtime) or "digest" (content)
    # identity of datastore inputs, and the maximum age (seconds) of a reusable result.
    data_aware: str = ""
    reuse_max_age: float | None = None
    # True when source_directory is a frozen, content-addressed snapshot (submit);
    # False for a live folder (a pipeline rendered by ``as_dag`` in a DAG file).
    source_frozen: bool = False

    @classmethod
    def from_json(cls, s: dict[str, Any]) -> StepSpec:
        """Rebuild a step spec from its JSON form."""
        return cls(
            **{
                k: v
                for k, v in s.items()
                if k not in ("inputs", "outputs", "arguments", "params", "upstream")
            },
            arguments=tuple(s.get("arguments", ())),
            inputs=tuple(InputSpec(**i) for i in s.get("inputs", ())),
            outputs=tuple(OutputSpec(**o) for o in s.get("outputs", ())),
            params=tuple((k, v) for k, v in s.get("params", ())),
            upstream=tuple(s.get("upstream", ())),
        )

    def input(self, name: str) -> InputSpec:
        """The input called ``name``."""
        return next(i for i in self.inputs if i.name == name)

    def output(self, name: str) -> OutputSpec:
        """The output called ``name``."""
        return next(o for o in self.outputs if o.name == name)


@dataclass(frozen=True)
class PipelineSpec:
    """A whole pipeline, ready to render as a DAG."""

    dag_id: str
    experiment_name: str
    steps: tuple[StepSpec, ...]
    parameters: tuple[ParameterSpec, ...] = ()
    description: str | None = None
    datastores: dict[str, dict[str, Any]] = field(default_factory=dict)
    default_datastore: str = "workspaceblobstore"
    workspace: dict[str, Any] = field(default_factory=dict)
    continue_on_step_failure: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    spec_version: int = SPEC_VERSION

    # ----------------------------------------------------------- helpers
    def step(self, name: str) -> StepSpec:
        """The step called ``name``."""
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(name)

    def parameter_defaults(self) -> dict[str, Any]:
        """Parameter name -> default value."""
        return {p.name: p.default for p in self.parameters}

    def with_changes(self, **changes: Any) -> PipelineSpec:
        """A copy with fields replaced."""
        return replace(self, **changes)

    # -------------------------------------------------------- serialisation
    def to_json(self) -> dict[str, Any]:
        """The spec as plain JSON data."""
        return asdict(self)

    def dumps(self) -> str:
        """The spec as canonical JSON text."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))

    def digest(self) -> str:
        """A content digest of the spec (for change detection)."""
        import hashlib  # lazy: keeps import airflow_aml.core fast (it imports this module)

        return hashlib.sha256(self.dumps().encode()).hexdigest()[:16]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PipelineSpec:
        """Rebuild a spec from :meth:`to_json` output, checking it against the spec schema
        (:mod:`airflow_aml.spec_schema`: a corrupt or foreign spec raises ``SpecError``)."""
        from airflow_aml.spec_schema import validate_spec  # lazy: pydantic (~0.1 s to import)

        data = validate_spec(data, SPEC_VERSION)
        steps = tuple(StepSpec.from_json(s) for s in data["steps"])
        params = tuple(ParameterSpec(**p) for p in data.get("parameters", ()))
        rest = {k: v for k, v in data.items() if k not in ("steps", "parameters")}
        return cls(steps=steps, parameters=params, **rest)

    @classmethod
    def loads(cls, text: str) -> PipelineSpec:
        """Parse :meth:`dumps` output (a spec that is not JSON raises ``SpecError``)."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise SpecError(f"a pipeline spec must be JSON: {exc}") from None
        return cls.from_json(data)
