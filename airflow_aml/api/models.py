"""Request bodies of the AML-compatible routes: SDK v1's ``PipelineSubmissionInfo``.

Field names and shapes follow the SDK's REST model (``AML_API.md`` §3). Types
are checked strictly (a ``Description`` that is an object, a ``RunSource``
that is a list, a nested value under ``ParameterAssignments`` are refused with
the field named); keys the model does not know are kept, as the AML service
accepts them. Semantic checks (experiment name, declared parameters,
datastores, value conversion) stay in :mod:`airflow_aml.api.service`.

Before a body reaches the model, :func:`json_shape_problem` bounds its shape
(the app checks it on the raw bytes): nesting depth, string length (one
command-line argument), entries per object or array.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    PlainValidator,
    StrictBool,
    StrictStr,
)
from pydantic_core import PydanticCustomError

from airflow_aml._limits import MAX_ARG_STRLEN

__all__ = [
    "PipelineSubmissionInfo",
    "DataPathAssignment",
    "json_kind",
    "json_shape_problem",
    "MAX_JSON_DEPTH",
    "MAX_JSON_STRING",
    "MAX_JSON_ENTRIES",
]

#: Arrays/objects nested deeper than this are refused (the SDK's bodies nest 3 levels).
MAX_JSON_DEPTH = 32
#: The longest string (characters): one command-line argument (``MAX_ARG_STRLEN``).
MAX_JSON_STRING = MAX_ARG_STRLEN - 1
#: The most keys of an object (or items of an array), e.g. ``ParameterAssignments``.
MAX_JSON_ENTRIES = 1000

# A JSON string token, or a bracket outside strings (unrolled loop: fast on long strings).
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


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


def _too_deep(raw: bytes) -> bool:
    """Whether ``raw`` nests brackets deeper than :data:`MAX_JSON_DEPTH` (strings skipped).

    Checked before parsing: Python's JSON parser recurses, so a body of 50 KB of ``[``
    would end in a ``RecursionError``.
    """
    depth = 0
    for token in _TOKENS.finditer(raw):
        char = token.group()[:1]
        if char in (b"[", b"{"):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        elif char in (b"]", b"}"):
            depth -= 1
    return False


def _size_problem(value: Any, where: str) -> str | None:
    """The first string, object or array of ``value`` over its limit, named by path."""
    if isinstance(value, str):
        if len(value) > MAX_JSON_STRING:
            return (
                f"{where} is a string of {len(value)} characters: at most {MAX_JSON_STRING} "
                f"(the OS limit on one command-line argument, MAX_ARG_STRLEN = {MAX_ARG_STRLEN})"
            )
        return None
    if isinstance(value, dict | list):
        kind = "an object of" if isinstance(value, dict) else "an array of"
        if len(value) > MAX_JSON_ENTRIES:
            return f"{where} is {kind} {len(value)} entries: at most {MAX_JSON_ENTRIES}"
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            path = f"{where}.{key}" if where != "the body" else str(key)
            problem = _size_problem(key, f"a key of {where}") or _size_problem(item, path)
            if problem:
                return problem
    return None


def json_shape_problem(raw: bytes) -> str | None:
    """Why a JSON body is refused for its shape (None when it is fine, or not JSON:
    the model then names the parse error)."""
    if _too_deep(raw):
        return (
            f"the body nests arrays or objects more than {MAX_JSON_DEPTH} levels deep "
            "(PipelineSubmissionInfo needs 3)"
        )
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return _size_problem(value, "the body")


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
