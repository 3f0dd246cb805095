"""What the AML-compatible routes do, independent of HTTP: resolve, validate, trigger.

Runs in the api-server process, whose ``[aml] registry`` names the registry. In an
embedded home (``[aml] embedded``, set by ``airflow-aml ui``) runs go to the
warm runner pool; in a deployment they are created as Airflow DagRuns for
the scheduler (``airflow.api.common.trigger_dag``).
"""

from __future__ import annotations

import os
import re
import time
import uuid
from typing import Any

from airflow_aml._names import check_experiment_name, safe_relative_path
from airflow_aml.artifacts.registry import Registry
from airflow_aml.compiler.build import resolve_parameter_values
from airflow_aml.exceptions import ApiError, ValidationError
from airflow_aml.pipeline.core.status import pipeline_status
from airflow_aml.provider import aml_flag
from airflow_aml.spec import RESERVED_CONF_KEY, PipelineSpec

__all__ = ["ApiError", "registry", "resolve_published", "resolve_endpoint", "submit", "run_record"]

_ID = re.compile(r"^[0-9a-fA-F-]{36}$")


def registry() -> Registry:
    """The registry this api-server serves (``[aml] registry``)."""
    from airflow_aml.compiler.loader import registry_location

    return Registry(registry_location())


def resolve_published(pipeline_id: str) -> dict[str, Any]:
    """The published pipeline record ``pipeline_id`` (404 if unknown)."""
    record = registry().get("published", pipeline_id) if _ID.match(pipeline_id) else None
    if record is None:
        raise ApiError(404, f"published pipeline {pipeline_id!r} not found")
    return record


def resolve_endpoint(
    *, endpoint_id: str | None = None, name: str | None = None, version: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The endpoint and the published pipeline of ``version`` (default version if None)."""
    reg = registry()
    if endpoint_id is not None:
        endpoint = reg.get("endpoints", endpoint_id) if _ID.match(endpoint_id) else None
        label = endpoint_id
    else:
        endpoint = next((e for e in reg.all("endpoints") if e.get("name") == name), None)
        label = str(name)
    if endpoint is None:
        raise ApiError(404, f"pipeline endpoint {label!r} not found")
    if endpoint.get("status") != "Active":
        raise ApiError(
            409, f"pipeline endpoint {endpoint['name']!r} is {str(endpoint.get('status')).lower()}"
        )
    wanted = version if version not in (None, "") else endpoint["default_version"]
    entry = next((v for v in endpoint["versions"] if v["version"] == str(wanted)), None)
    if entry is None:
        known = [v["version"] for v in endpoint["versions"]]
        raise ApiError(
            404,
            f"pipeline endpoint {endpoint['name']!r} has no version {wanted!r}; versions: {known}",
        )
    return endpoint, resolve_published(entry["pipeline_id"])


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
    try:
        check_experiment_name(experiment)
    except ValidationError as exc:
        raise ApiError(400, str(exc)) from None
    reg = registry()
    spec = reg.read_spec(published["dag_id"])
    if spec is None:
        raise ApiError(409, f"the spec of published pipeline {published['id']!r} is missing")
    params = body.get("ParameterAssignments") or {}
    if not isinstance(params, dict):
        raise ApiError(400, "ParameterAssignments must be an object")
    values = {**params, **_datapaths(spec, body.get("DataPathAssignments"))}
    # The AML service accepts assignments of parameters the pipeline does not declare
    # (the versioned-endpoints notebook relies on it): ignore them, and say so.
    declared = {p.name for p in spec.parameters}
    ignored = sorted(str(k) for k in values if k not in declared)
    values = {k: v for k, v in values.items() if k in declared}
    try:
        resolved = resolve_parameter_values(spec, values, coerce_strings=True)
    except ValidationError as exc:
        raise ApiError(400, str(exc)) from None
    tags = body.get("tags") or body.get("Tags") or {}
    if not isinstance(tags, dict):
        raise ApiError(400, "tags must be an object")
    keep_going = body.get("ContinueRunOnStepFailure")
    if keep_going is not None and not isinstance(keep_going, bool):
        raise ApiError(400, "ContinueRunOnStepFailure must be true or false")
    run_id = str(uuid.uuid4())
    options = {
        "continue_on_step_failure": published.get("continue_on_step_failure", False)
        if keep_going is None
        else keep_going,
        "regenerate_outputs": False,
        "tags": {str(k): str(v) for k, v in tags.items()},
        "parent_run_id": parent_run_id,
        "published_pipeline_id": published["id"],
        "pipeline_endpoint_id": endpoint["id"] if endpoint else None,
        "description": body.get("Description"),
        "run_source": body.get("RunSource") or "SDK",
        "experiment_name": experiment,
        "submitted_by": user,
        "run_type": body.get("RunType") or "HTTP",
    }
    if ignored:
        options["ignored_parameters"] = ignored
    conf = {**resolved, RESERVED_CONF_KEY: options}
    run_key = reg.write_run(
        run_id, spec=spec.with_changes(tags=options["tags"]), conf=conf, experiment_name=experiment
    )
    _start(spec.dag_id, run_id, conf, run_key, user)
    return {
        "Id": run_id,
        "RunId": run_id,
        "ExperimentName": experiment,
        "Status": "NotStarted",
        "PipelineId": published["id"],
        "PipelineEndpointId": options["pipeline_endpoint_id"],
        "DagId": spec.dag_id,
        "Description": options["description"],
        "RunSource": options["run_source"],
        "Tags": options["tags"],
        "ContinueRunOnStepFailure": options["continue_on_step_failure"],
        "ParameterAssignments": resolved,
        "IgnoredParameterAssignments": ignored,
        "CreatedBy": user,
        "CreationTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _start(dag_id: str, run_id: str, conf: dict[str, Any], run_key: str, user: str) -> None:
    if aml_flag("embedded"):
        from airflow_aml.backends.runner_pool import RunnerPool

        root = registry().root
        RunnerPool(root, dict(os.environ)).enqueue(run_id, root / run_key)
        return
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.utils.types import DagRunTriggeredByType

    from airflow_aml.backends.notes import run_note

    try:
        trigger_dag(
            dag_id,
            triggered_by=DagRunTriggeredByType.REST_API,
            run_id=run_id,
            conf=conf,
            logical_date=None,
            triggering_user_name=user,
            note=run_note(conf),
        )
    except Exception as exc:  # DAG not parsed yet, paused, ...: say so, not 500
        raise ApiError(409, f"could not trigger DAG {dag_id!r}: {exc}") from None


def run_record(run_id: str) -> dict[str, Any]:
    """A run record in v1 shape, with its current status."""
    if not _ID.match(run_id):
        raise ApiError(404, f"run {run_id!r} not found")
    try:
        record = registry().read_run(run_id)
    except Exception:
        raise ApiError(404, f"run {run_id!r} not found") from None
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        dr = session.scalar(
            select(DagRun).where(DagRun.dag_id == record["dag_id"], DagRun.run_id == run_id)
        )
        state = str(dr.state) if dr is not None and dr.state is not None else None
        start = dr.start_date.isoformat() if dr is not None and dr.start_date else None
        end = dr.end_date.isoformat() if dr is not None and dr.end_date else None
    options = record.get("conf", {}).get(RESERVED_CONF_KEY, {})
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
