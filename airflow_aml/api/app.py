"""AML-compatible REST routes, served by the Airflow api-server through the plugin.

Mounted at ``/aml``; paths follow SDK v1 (``.../PipelineRuns/PipelineSubmit/{id}``,
``.../PipelineEndpointSubmit/Id/{id}[/{version}]``, ``.../PipelineEndpointSubmit/Name``,
``.../PipelineRuns/{runId}``). Every route requires Airflow's own JWT auth
(no token: 401) and is authorised by Airflow's auth manager on the target
DAG: triggering needs the right to create DAG runs, reading a run the right
to read them (403 otherwise). The API docs (``/aml/docs``, ``/aml/redoc``,
``/aml/openapi.json``) need a login and the right to read docs.

Bodies are SDK v1 ``PipelineSubmissionInfo`` objects
(:class:`airflow_aml.api.models.PipelineSubmissionInfo`). Bad input gets a 4xx
with a reason naming the field, as ``{"error": {"message": ...}}``: a body
that does not validate or is not JSON is a 400 (not FastAPI's 422), one over
1 MiB a 413 (refused before it is read when it declares its length), one
nested more than 32 levels deep, with a string over 128 KiB or an object or
array of more than 1000 entries a 400 (checked before it is parsed:
:func:`airflow_aml.api.models.json_shape_problem`).

The routes are plain functions: FastAPI runs them in its thread pool, so the
registry reads, metadata-DB queries and triggering they do never block the
api-server's event loop.
"""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import (
    AccessView,
    DagAccessEntity,
    DagDetails,
)
from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airflow_aml.api.models import PipelineSubmissionInfo, json_kind, json_shape_problem
from airflow_aml.api.service import (
    resolve_endpoint,
    resolve_published,
    run_record,
    submit,
)
from airflow_aml.exceptions import ApiError

__all__ = ["app", "MAX_BODY_BYTES"]

MAX_BODY_BYTES = 1 << 20
_BASE = (
    "/pipelines/v1.0/subscriptions/{subscription}/resourceGroups/{resource_group}/"
    "providers/Microsoft.MachineLearningServices/workspaces/{workspace}/PipelineRuns"
)
_TITLE = "airflow-aml: AML-compatible pipeline REST API"


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"message": message}})


class _BodyLimit:
    """ASGI middleware: bodies over ``limit`` bytes get 413 (by ``Content-Length`` before
    anything is read; a chunked body as soon as the limit is passed), JSON bodies of a
    refused shape (too deep, strings or objects too large) a 400 with the reason."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and declared.strip().isdigit() and int(declared) > self.limit:
            await self._refuse(413, scope, receive, send)
            return
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            received += len(chunks[-1])
            if received > self.limit:
                await self._refuse(413, scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problem = await _shape_problem(body)
        if problem is not None:
            await _error(400, problem)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _refuse(self, status: int, scope: Scope, receive: Receive, send: Send) -> None:
        response = _error(status, f"request body larger than {self.limit} bytes")
        await response(scope, receive, send)


async def _shape_problem(body: bytes) -> str | None:
    """:func:`json_shape_problem` of ``body``; a large body is checked in a worker thread
    (it is parsed once more), keeping the api-server's event loop free."""
    if len(body) < 16384:
        return json_shape_problem(body) if body else None
    return await run_in_threadpool(json_shape_problem, body)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the (already read) body once, then waits on the client."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


app = FastAPI(
    title=_TITLE,
    version="1.0",
    description=__doc__,
    docs_url=None,  # served below, behind Airflow's login
    redoc_url=None,
    openapi_url=None,
    # A body without Content-Type is parsed as JSON too (SDK v1 callers, curl -d).
    strict_content_type=False,
)
app.add_middleware(_BodyLimit, limit=MAX_BODY_BYTES)


@app.exception_handler(ApiError)
async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return _error(exc.status, exc.reason)


_EXPECTED = {
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "string_type": "a string",
    "bool_type": "true or false",
    "int_type": "an integer",
    "float_type": "a number",
    "list_type": "an array",
}


def validation_message(errors: list[Any]) -> str:
    """One line naming every field that did not validate, and why."""
    parts: list[str] = []
    for error in errors:
        kind = error.get("type")
        if kind == "json_invalid":
            return f"malformed JSON body: {(error.get('ctx') or {}).get('error', error['msg'])}"
        loc = [str(p) for p in error.get("loc", ())]
        where, field = (loc[0], loc[1:]) if loc else ("body", [])
        raw = error.get("input")
        given = json_kind(raw)
        if isinstance(raw, bytes | bytearray):
            given = "a body that is not JSON (send it with Content-Type: application/json)"
        if where == "body" and not field:
            given = "nothing" if kind == "missing" else given
            part = f"the body must be a JSON object (PipelineSubmissionInfo), not {given}"
        else:
            name = ".".join(field) if where == "body" else f"{where} parameter {'.'.join(field)}"
            if kind == "missing":
                part = f"{name} is required"
            elif kind in _EXPECTED:
                part = f"{name} must be {_EXPECTED[kind]}, not {given}"
            else:
                message = str(error.get("msg", "is invalid"))
                part = f"{name}: {message[:1].lower()}{message[1:]}"
        if part not in parts:
            parts.append(part)
    return "; ".join(parts) or "invalid request"


@app.exception_handler(RequestValidationError)
async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    return _error(400, validation_message(list(exc.errors())))


def _authorize(user: Any, dag_id: str, method: str) -> None:
    allowed = get_auth_manager().is_authorized_dag(
        method=method,  # type: ignore[arg-type]
        access_entity=DagAccessEntity.RUN,
        details=DagDetails(id=dag_id),
        user=user,
    )
    if not allowed:
        raise HTTPException(403, f"user {user.get_name()!r} may not {method} runs of {dag_id!r}")


def _authorize_docs(user: Any) -> None:
    if not get_auth_manager().is_authorized_view(access_view=AccessView.DOCS, user=user):
        raise HTTPException(403, f"user {user.get_name()!r} may not read the API docs")


# ------------------------------------------------------------------------- routes
@app.post(_BASE + "/PipelineSubmit/{pipeline_id}")
def submit_published_pipeline(
    pipeline_id: str,
    body: PipelineSubmissionInfo,
    user: GetUserDep,
    parentRunId: str | None = None,  # noqa: N803
) -> dict[str, Any]:
    """Run a published pipeline (``PublishedPipeline.endpoint``)."""
    published = resolve_published(pipeline_id)
    _authorize(user, published["dag_id"], "POST")
    return submit(published, body.as_body(), user=user.get_name(), parent_run_id=parentRunId)


@app.post(_BASE + "/PipelineEndpointSubmit/Id/{endpoint_id}")
def submit_endpoint_by_id(
    endpoint_id: str,
    body: PipelineSubmissionInfo,
    user: GetUserDep,
    pipelineVersion: str | None = None,  # noqa: N803
    parentRunId: str | None = None,  # noqa: N803
) -> dict[str, Any]:
    """Run a pipeline endpoint's version (default version when none is given)."""
    return _submit_endpoint(
        body, user, endpoint_id=endpoint_id, version=pipelineVersion, parent_run_id=parentRunId
    )


@app.post(_BASE + "/PipelineEndpointSubmit/Id/{endpoint_id}/{version}")
def submit_endpoint_version(
    endpoint_id: str,
    version: str,
    body: PipelineSubmissionInfo,
    user: GetUserDep,
    parentRunId: str | None = None,  # noqa: N803
) -> dict[str, Any]:
    """Run version ``version`` of a pipeline endpoint."""
    return _submit_endpoint(
        body, user, endpoint_id=endpoint_id, version=version, parent_run_id=parentRunId
    )


@app.post(_BASE + "/PipelineEndpointSubmit/Name")
def submit_endpoint_by_name(
    body: PipelineSubmissionInfo,
    user: GetUserDep,
    name: str | None = None,
    pipelineVersion: str | None = None,  # noqa: N803
    parentRunId: str | None = None,  # noqa: N803
) -> dict[str, Any]:
    """Run a pipeline endpoint named ``name``."""
    if not name:
        raise ApiError(400, "query parameter 'name' is required")
    return _submit_endpoint(
        body, user, name=name, version=pipelineVersion, parent_run_id=parentRunId
    )


def _submit_endpoint(
    body: PipelineSubmissionInfo,
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
        body.as_body(),
        user=user.get_name(),
        endpoint=endpoint,
        parent_run_id=parent_run_id,
    )


@app.get(_BASE + "/{run_id}")
def get_pipeline_run(run_id: str, user: GetUserDep) -> dict[str, Any]:
    """The run record of a run started through these routes."""
    record = run_record(run_id)
    _authorize(user, record["DagId"], "GET")
    return record


# --------------------------------------------------------------------------- docs
@app.get("/openapi.json", include_in_schema=False)
def openapi_document(user: GetUserDep) -> JSONResponse:
    """The OpenAPI document of these routes (logged-in users who may read docs)."""
    _authorize_docs(user)
    return JSONResponse(app.openapi())


def _openapi_url(request: Request) -> str:
    return f"{str(request.scope.get('root_path', '')).rstrip('/')}/openapi.json"


@app.get("/docs", include_in_schema=False)
def swagger_ui(request: Request, user: GetUserDep) -> HTMLResponse:
    """Swagger UI of these routes (the browser's Airflow login cookie is the credential)."""
    _authorize_docs(user)
    return get_swagger_ui_html(openapi_url=_openapi_url(request), title=_TITLE)


@app.get("/redoc", include_in_schema=False)
def redoc(request: Request, user: GetUserDep) -> HTMLResponse:
    """ReDoc of these routes."""
    _authorize_docs(user)
    return get_redoc_html(openapi_url=_openapi_url(request), title=_TITLE)
