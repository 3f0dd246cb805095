"""Request bodies of the AML-compatible routes: SDK v1's ``PipelineSubmissionInfo``.

Field names and shapes follow the SDK's REST model (``AML_API.md`` §3). Types
are checked strictly (a ``Description`` that is an object, a ``RunSource``
that is a list, a nested value under ``ParameterAssignments`` are refused with
the field named); keys the model does not know are kept, as the AML service
accepts them. Semantic checks (experiment name, declared parameters,
datastores, value conversion) stay in :mod:`airflow_aml.api.service`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    PlainValidator,
    StrictBool,
    StrictStr,
)
from pydantic_core import PydanticCustomError

__all__ = ["PipelineSubmissionInfo", "DataPathAssignment", "json_kind"]


def json_kind(value: Any) -> str:
    """How JSON calls the type of ``value`` (for error messages)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _parameter_value(value: Any) -> Any:
    if isinstance(value, str | int | float | bool):
        return value
    raise PydanticCustomError(
        "parameter_value",
        "must be a string, number or boolean, not {kind}",
        {"kind": json_kind(value)},
    )


ParameterValue = Annotated[
    Any, PlainValidator(_parameter_value, json_schema_input_type=str | int | float | bool)
]
"""A ``ParameterAssignments`` value: the SDK sends strings; JSON scalars are accepted too."""


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class DataPathAssignment(_Open):
    """A ``DataPath`` value for a pipeline parameter: a path on a workspace datastore."""

    DataStoreName: StrictStr
    RelativePath: StrictStr | None = None


class PipelineSubmissionInfo(_Open):
    """The body SDK v1 posts to a published pipeline's or endpoint's REST endpoint."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "example": {
                "ExperimentName": "nightly",
                "ParameterAssignments": {"pipeline_arg": "20"},
                "DataPathAssignments": {
                    "input_path": {"DataStoreName": "workspaceblobstore", "RelativePath": "in/"}
                },
            }
        },
    )

    ExperimentName: StrictStr
    Description: StrictStr | None = None
    RunSource: StrictStr | None = None
    RunType: StrictStr | None = None
    ParameterAssignments: dict[str, ParameterValue] | None = None
    DataPathAssignments: dict[str, DataPathAssignment] | None = None
    DataSetDefinitionValueAssignments: dict[str, dict[str, Any]] | None = None
    ScheduleId: StrictStr | None = None
    ContinueRunOnStepFailure: StrictBool | None = None
    EnableNotification: StrictBool | None = None
    tags: dict[str, StrictStr] | None = None
    Tags: dict[str, StrictStr] | None = None
    Properties: dict[str, StrictStr] | None = None

    def as_body(self) -> dict[str, Any]:
        """The fields the client sent (and only those), as plain JSON values."""
        return self.model_dump(exclude_unset=True)
