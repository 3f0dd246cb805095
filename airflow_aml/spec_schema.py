"""The JSON schema of a pipeline spec: pydantic models, checked when a spec is loaded.

Specs are read back from the registry by the loader (dag-processor), the
embedded runner and run readers; any stored object may be corrupt or come
from another version, so :func:`validate_spec` checks every field's type
and the step kinds before anything renders or runs it. Steps form a union
discriminated by ``kind``: one model per step kind in :data:`STEP_MODELS`
(a new kind adds its model here, next to its row in the step-kind table).

Imported on first load only: ``import airflow_aml.core`` does not pay for
pydantic.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_validator,
)

from airflow_aml.exceptions import SpecError

__all__ = ["SpecError", "validate_spec", "STEP_MODELS"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParameterModel(_Model):
    """A pipeline parameter."""

    name: str
    type: Literal["string", "integer", "number", "boolean", "datapath"]
    default: Any


class InputModel(_Model):
    """A step input."""

    name: str
    kind: Literal["pipeline_data", "data_reference", "datapath_param"]
    mode: Literal["mount", "download"] = "mount"
    producer: str | None = None
    output: str | None = None
    datastore: str | None = None
    path: str | None = None
    param: str | None = None
    path_on_compute: str | None = None
    overwrite: StrictBool = False


class OutputModel(_Model):
    """A step output."""

    name: str
    datastore: str
    mode: str = "mount"
    path_on_compute: str | None = None
    overwrite: StrictBool = False
    is_directory: StrictBool | None = None


class _StepModel(_Model):
    """What every step kind's spec has."""

    name: str
    task_id: str
    arguments: tuple[dict[str, Any], ...] = ()
    inputs: tuple[InputModel, ...] = ()
    outputs: tuple[OutputModel, ...] = ()
    params: tuple[tuple[str, dict[str, Any]], ...] = ()
    upstream: tuple[str, ...] = ()
    allow_reuse: StrictBool = True
    version: str | None = None
    compute: dict[str, Any] = Field(default_factory=dict)
    runconfig: dict[str, Any] = Field(default_factory=dict)
    properties: dict[str, Any] = Field(default_factory=dict)
    data_aware: Literal["", "stat", "digest"] = ""
    reuse_max_age: StrictFloat | StrictInt | None = None
    source_frozen: StrictBool = False

    @field_validator("arguments")
    @classmethod
    def _one_kind_per_argument(cls, value: tuple[dict[str, Any], ...]) -> Any:
        for arg in value:
            if len(arg) != 1 or next(iter(arg)) not in ("literal", "param", "input", "output"):
                raise ValueError(f"malformed argument {arg!r}")
        return value


class PythonScriptStepModel(_StepModel):
    """A ``PythonScriptStep``."""

    kind: Literal["PythonScriptStep"]
    script_name: str
    source_directory: str
    source_digest: str


#: One model per step kind, by the spec's ``kind``.
STEP_MODELS: dict[str, type[_StepModel]] = {"PythonScriptStep": PythonScriptStepModel}

StepModel = Annotated[PythonScriptStepModel, Field(discriminator="kind")]


class PipelineModel(_Model):
    """A whole pipeline."""

    dag_id: str
    experiment_name: str
    steps: tuple[StepModel, ...]
    parameters: tuple[ParameterModel, ...] = ()
    description: str | None = None
    datastores: dict[str, dict[str, Any]] = Field(default_factory=dict)
    default_datastore: str = "workspaceblobstore"
    workspace: dict[str, Any] = Field(default_factory=dict)
    continue_on_step_failure: StrictBool = False
    tags: dict[str, str] = Field(default_factory=dict)
    spec_version: StrictInt


def validate_spec(data: Any, version: int) -> dict[str, Any]:
    """``data`` checked against the schema of spec ``version`` (raises :class:`SpecError`
    naming the field)."""
    if not isinstance(data, dict):
        raise SpecError(f"a pipeline spec must be a JSON object, got {type(data).__name__}")
    if data.get("spec_version") != version:
        raise SpecError(
            f"unsupported spec_version {data.get('spec_version')!r} (expected {version})"
        )
    kinds = {s.get("kind") for s in data.get("steps", ()) if isinstance(s, dict)}
    unknown = sorted(str(k) for k in kinds - set(STEP_MODELS))
    if unknown:
        raise SpecError(f"unknown step kind(s) {unknown}; known: {sorted(STEP_MODELS)}")
    try:
        return PipelineModel.model_validate(data).model_dump()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SpecError(
            f"invalid pipeline spec at {where}: {first['msg']} ({exc.error_count()} error(s))"
        ) from None
