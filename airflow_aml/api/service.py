"""What the AML-compatible routes do, independent of HTTP: resolve, validate, trigger.

Runs in the api-server process, whose ``[aml] registry`` names the registry. In an
embedded home (``[aml] embedded``, set by ``airflow-aml ui``) runs go to the
warm runner pool; in a deployment they are created as Airflow DagRuns for
the scheduler (``airflow.api.common.trigger_dag``).
"""

from __future__ import annotations

import re
import time
from typing import Any

from airflow.models.dagrun import DagRun
from airflow.utils.session import create_session
from sqlalchemy import select

from airflow_aml._names import safe_relative_path
from airflow_aml.artifacts.registry import Registry
from airflow_aml.backends.server import ApiServerBackend
from airflow_aml.compiler.loader import registry_location
from airflow_aml.core.experiment import RunOptions
from airflow_aml.exceptions import ApiError, CorruptObjectError, SpecError, ValidationError
from airflow_aml.pipeline.core.status import pipeline_status
from airflow_aml.provider import aml_flag
from airflow_aml.spec import RESERVED_CONF_KEY, PipelineSpec

__all__ = ["ApiError", "registry", "resolve_published", "resolve_endpoint", "submit", "run_record"]

_ID = re.compile(r"^[0-9a-fA-F-]{36}$")


def registry() -> Registry:
    """The registry this api-server serves (``[aml] registry``)."""
    return Registry(registry_location())


def resolve_published(pipeline_id: str) -> dict[str, Any]:
    """The published pipeline record ``pipeline_id`` (404 if unknown; 409 naming the object
    if its record or its spec cannot be read)."""
    reg = registry()
    try:
        record = reg.get("published", pipeline_id) if _ID.match(pipeline_id) else None
    except CorruptObjectError as exc:
        raise ApiError(409, str(exc)) from None
    if record is None:
        raise ApiError(404, f"published pipeline {pipeline_id!r} not found")
    dag_id = record.get("dag_id")
    if not isinstance(dag_id, str):
        raise ApiError(409, f"the record of published pipeline {pipeline_id!r} names no DAG")
    try:  # a published pipeline whose spec is corrupt cannot run: say so before submit
        reg.read_spec(dag_id)
    except SpecError as exc:
        raise ApiError(409, f"published pipeline {pipeline_id!r} cannot run: {exc}") from None
    return record


def resolve_endpoint(
    *, endpoint_id: str | None = None, name: str | None = None, version: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The endpoint and the published pipeline of ``version`` (default version if None)."""
    endpoint, label = _endpoint_record(endpoint_id, name)
    if endpoint.get("status") != "Active":
        raise ApiError(
            409, f"pipeline endpoint {endpoint['name']!r} is {str(endpoint.get('status')).lower()}"
        )
    versions = endpoint.get("versions")
    if not isinstance(versions, list) or not all(
        isinstance(v, dict) and isinstance(v.get("version"), str) for v in versions
    ):
        raise ApiError(409, f"the record of pipeline endpoint {label!r} has no valid versions")
    wanted = version if version not in (None, "") else endpoint.get("default_version")
    entry = next((v for v in versions if v["version"] == str(wanted)), None)
    if entry is None:
        known = [v["version"] for v in versions]
        raise ApiError(
            404,
            f"pipeline endpoint {endpoint.get('name')!r} has no version {wanted!r}; "
            f"versions: {known}",
        )
    return endpoint, resolve_published(str(entry.get("pipeline_id")))


def _endpoint_record(endpoint_id: str | None, name: str | None) -> tuple[dict[str, Any], str]:
    """The endpoint record by id or name, and how to call it in messages (404 if unknown,
    409 if the record asked for by id is corrupt; corrupt records are skipped by name)."""
    reg = registry()
    skipped: list[str] = []
    if endpoint_id is not None:
        try:
            endpoint = reg.get("endpoints", endpoint_id) if _ID.match(endpoint_id) else None
        except CorruptObjectError as exc:
            raise ApiError(409, str(exc)) from None
        label = endpoint_id
    else:
        endpoints = reg.all("endpoints", skipped=skipped)
        endpoint = next((e for e in endpoints if e.get("name") == name), None)
        label = str(name)
    if endpoint is None:
        unreadable = f" ({len(skipped)} unreadable endpoint record(s) skipped)" if skipped else ""
        raise ApiError(404, f"pipeline endpoint {label!r} not found{unreadable}")
    return endpoint, label


def _datapaths(spec: PipelineSpec, assignments: Any) -> dict[str, Any]:
    if assignments in (None, {}):
        return {}
    if not isinstance(assignments, dict):
        raise ApiError(400, "DataPathAssignments must be an object")
    out = {}
    for name, value in assignments.items():
        if not isinstance(value, dict) or not isinstance(value.get("DataStoreName"), str):
            raise ApiError(400, f"DataPathAssignments.{name} needs DataStoreName and RelativePath")
        if value["DataStoreName"] not in spec.datastores:
            raise ApiError(
                400,
                f"DataPathAssignments.{name}: unknown datastore "
                f"{value['DataStoreName']!r}; known: {sorted(spec.datastores)}",
            )
        relative = value.get("RelativePath") or ""
        try:
            path = safe_relative_path(relative, field=f"DataPathAssignments.{name}.RelativePath")
        except ValidationError as exc:
            raise ApiError(400, str(exc)) from None
        out[name] = {"datastore": value["DataStoreName"], "path": path}
    return out


def submit(
    published: dict[str, Any],
    body: dict[str, Any],
    *,
    user: str,
    endpoint: dict[str, Any] | None = None,
    parent_run_id: str | None = None,
) -> dict[str, Any]:
    """Validate an SDK v1 ``PipelineSubmissionInfo`` body and start the run."""
    if published.get("status") != "Active":
        raise ApiError(
            409, f"published pipeline {published['id']!r} ({published['name']}) is disabled"
        )
    experiment = body.get("ExperimentName")
    if not experiment:
        raise ApiError(400, "ExperimentName is required")
    reg = registry()
    try:
        spec = reg.read_spec(published["dag_id"])
    except SpecError as exc:
        raise ApiError(409, f"published pipeline {published['id']!r} cannot run: {exc}") from None
    if spec is None:
        raise ApiError(409, f"the spec of published pipeline {published['id']!r} is missing")
    params = body.get("ParameterAssignments") or {}
    if not isinstance(params, dict):
        raise ApiError(400, "ParameterAssignments must be an object")
    tags = body.get("tags") or body.get("Tags") or {}
    try:
        options = RunOptions(
            experiment_name=experiment,
            pipeline_parameters={**params, **_datapaths(spec, body.get("DataPathAssignments"))},
            continue_on_step_failure=body.get("ContinueRunOnStepFailure"),
            tags=tags,
            parent_run_id=parent_run_id,
            description=body.get("Description"),
            run_source=body.get("RunSource") or "SDK",
            run_type=body.get("RunType") or "HTTP",
            submitted_by=user,
            published_pipeline_id=published["id"],
            pipeline_endpoint_id=endpoint["id"] if endpoint else None,
            from_rest=True,  # strings converted; undeclared assignments ignored and named
        )
        resolved, ignored = options.resolve(spec)
    except ValidationError as exc:
        raise ApiError(400, str(exc)) from None
    embedded = aml_flag("embedded")
    run_id = ApiServerBackend(reg.url, embedded=embedded, user=user).start(spec, options)
    keep_going = options.continue_on_step_failure
    return {
        "Id": run_id,
        "RunId": run_id,
        "ExperimentName": experiment,
        "Status": "NotStarted",
        "PipelineId": published["id"],
        "PipelineEndpointId": options.pipeline_endpoint_id,
        "DagId": spec.dag_id,
        "Description": options.description,
        "RunSource": options.run_source,
        "Tags": dict(options.tags),
        "ContinueRunOnStepFailure": spec.continue_on_step_failure
        if keep_going is None
        else keep_going,
        "ParameterAssignments": resolved,
        "IgnoredParameterAssignments": ignored,
        "CreatedBy": user,
        "CreationTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def run_record(run_id: str) -> dict[str, Any]:
    """A run record in v1 shape, with its current status."""
    if not _ID.match(run_id):
        raise ApiError(404, f"run {run_id!r} not found")
    try:
        record = registry().read_run(run_id)
    except CorruptObjectError as exc:
        raise ApiError(409, str(exc)) from None
    except Exception:
        raise ApiError(404, f"run {run_id!r} not found") from None
    if not isinstance(record.get("dag_id"), str):
        raise ApiError(409, f"the record of run {run_id!r} names no DAG")
    with create_session() as session:
        dr = session.scalar(
            select(DagRun).where(DagRun.dag_id == record["dag_id"], DagRun.run_id == run_id)
        )
        state = str(dr.state) if dr is not None and dr.state is not None else None
        start = dr.start_date.isoformat() if dr is not None and dr.start_date else None
        end = dr.end_date.isoformat() if dr is not None and dr.end_date else None
    conf = record.get("conf")
    options = conf.get(RESERVED_CONF_KEY) if isinstance(conf, dict) else None
    options = options if isinstance(options, dict) else {}
    return {
        "Id": run_id,
        "RunId": run_id,
        "ExperimentName": record.get("experiment_name"),
        "DagId": record["dag_id"],
        "Status": pipeline_status(state),
        "PipelineId": options.get("published_pipeline_id"),
        "Description": options.get("description"),
        "Tags": options.get("tags", {}),
        "IgnoredParameterAssignments": options.get("ignored_parameters", []),
        "StartTime": start,
        "EndTime": end,
    }
