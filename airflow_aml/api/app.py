"""AML-compatible REST routes, served by the Airflow api-server through the plugin.

Mounted at ``/aml``; paths follow SDK v1 (``.../PipelineRuns/PipelineSubmit/{id}``,
``.../PipelineEndpointSubmit/Id/{id}[/{version}]``, ``.../PipelineEndpointSubmit/Name``,
``.../PipelineRuns/{runId}``). Every route requires Airflow's own JWT auth
(no token: 401) and is authorised by Airflow's auth manager on the target
DAG: triggering needs the right to create DAG runs, reading a run the right
to read them (403 otherwise). Bad input gets a 4xx with a reason.
"""

from __future__ import annotations

import json
from typing import Any

from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from airflow_aml.api.service import (
    ApiError,
    resolve_endpoint,
    resolve_published,
    run_record,
    submit,
)

__all__ = ["app", "MAX_BODY_BYTES"]

MAX_BODY_BYTES = 1 << 20
_BASE = (
    "/pipelines/v1.0/subscriptions/{subscription}/resourceGroups/{resource_group}/"
    "providers/Microsoft.MachineLearningServices/workspaces/{workspace}/PipelineRuns"
)

app = FastAPI(
    title="airflow-aml: AML-compatible pipeline REST API", version="1.0", description=__doc__
)


@app.exception_handler(ApiError)
async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return JSONResponse(status_code=exc.status, content={"error": {"message": exc.reason}})


def _authorize(user: Any, dag_id: str, method: str) -> None:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import (
        DagAccessEntity,
        DagDetails,
    )

    allowed = get_auth_manager().is_authorized_dag(
        method=method,  # type: ignore[arg-type]
        access_entity=DagAccessEntity.RUN,
        details=DagDetails(id=dag_id),
        user=user,
    )
    if not allowed:
        raise HTTPException(403, f"user {user.get_name()!r} may not {method} runs of {dag_id!r}")


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, f"request body larger than {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"malformed JSON body: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object (PipelineSubmissionInfo)")
    return body


@app.post(_BASE + "/PipelineSubmit/{pipeline_id}")
async def submit_published_pipeline(
    pipeline_id: str, request: Request, user: GetUserDep, parentRunId: str | None = None
) -> dict[str, Any]:  # noqa: N803
    """Run a published pipeline (``PublishedPipeline.endpoint``)."""
    published = resolve_published(pipeline_id)
    _authorize(user, published["dag_id"], "POST")
    return submit(published, await _body(request), user=user.get_name(), parent_run_id=parentRunId)


@app.post(_BASE + "/PipelineEndpointSubmit/Id/{endpoint_id}")
async def submit_endpoint_by_id(
    endpoint_id: str,
    request: Request,
    user: GetUserDep,
    pipelineVersion: str | None = None,  # noqa: N803
    parentRunId: str | None = None,
) -> dict[str, Any]:  # noqa: N803
    """Run a pipeline endpoint's version (default version when none is given)."""
    return await _submit_endpoint(
        request, user, endpoint_id=endpoint_id, version=pipelineVersion, parent_run_id=parentRunId
    )


@app.post(_BASE + "/PipelineEndpointSubmit/Id/{endpoint_id}/{version}")
async def submit_endpoint_version(
    endpoint_id: str,
    version: str,
    request: Request,
    user: GetUserDep,
    parentRunId: str | None = None,
) -> dict[str, Any]:  # noqa: N803
    """Run version ``version`` of a pipeline endpoint."""
    return await _submit_endpoint(
        request, user, endpoint_id=endpoint_id, version=version, parent_run_id=parentRunId
    )


@app.post(_BASE + "/PipelineEndpointSubmit/Name")
async def submit_endpoint_by_name(
    request: Request,
    user: GetUserDep,
    name: str | None = None,
    pipelineVersion: str | None = None,  # noqa: N803
    parentRunId: str | None = None,
) -> dict[str, Any]:  # noqa: N803
    """Run a pipeline endpoint named ``name``."""
    if not name:
        raise ApiError(400, "query parameter 'name' is required")
    return await _submit_endpoint(
        request, user, name=name, version=pipelineVersion, parent_run_id=parentRunId
    )


async def _submit_endpoint(
    request: Request,
    user: Any,
    *,
    endpoint_id: str | None = None,
    name: str | None = None,
    version: str | None,
    parent_run_id: str | None,
) -> dict[str, Any]:
    endpoint, published = resolve_endpoint(endpoint_id=endpoint_id, name=name, version=version)
    _authorize(user, published["dag_id"], "POST")
    return submit(
        published,
        await _body(request),
        user=user.get_name(),
        endpoint=endpoint,
        parent_run_id=parent_run_id,
    )


@app.get(_BASE + "/{run_id}")
async def get_pipeline_run(run_id: str, user: GetUserDep) -> dict[str, Any]:
    """The run record of a run started through these routes."""
    record = run_record(run_id)
    _authorize(user, record["DagId"], "GET")
    return record
