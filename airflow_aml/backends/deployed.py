"""The deployed backend: submit to and read from a running Airflow over its REST API.

The workspace names the Airflow API URL and a registry that the Airflow
dag-processor reads (``[aml] registry`` in the deployment) and whose
datastores the workers reach. ``publish`` creates or resizes the Airflow
pools of the spec's ``AmlCompute`` targets, freezes the spec and source
snapshots into the registry, asks Airflow to reparse the loader file at once
(no waiting for the periodic scan) and waits until the DAG shows the new
spec; a run is triggered with ``POST /api/v2/dags/{dag_id}/dagRuns``. States,
task instances, XComs, logs and pools are read through the REST API.

REST calls go through the official client (``apache-airflow-client``,
:mod:`airflow_client.client`); only the JWT login at ``/auth/token`` (not part
of Airflow's OpenAPI document) is a call of its own
(:func:`airflow_aml.backends.airflow_auth.login`).

Credentials come only from the environment (``AIRFLOW_AML_API_TOKEN``, or
``AIRFLOW_AML_API_USERNAME``/``AIRFLOW_AML_API_PASSWORD`` exchanged for a JWT
at ``/auth/token``) or from an ``auth`` object with
``get_authentication_header()``; the library never writes them anywhere.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_result, stop_after_delay, wait_exponential
from urllib3.exceptions import HTTPError

from airflow_aml.artifacts.snapshot import Snapshot
from airflow_aml.backends import airflow_auth
from airflow_aml.backends.base import RegistryBackend
from airflow_aml.compiler.loader import REGISTRY_DAG_ID
from airflow_aml.compiler.render import spec_marker
from airflow_aml.exceptions import (
    AirflowApiError,
    ExperimentExecutionException,
    WorkspaceException,
)
from airflow_aml.spec import PipelineSpec

if TYPE_CHECKING:
    from airflow_aml.core.workspace import Workspace

__all__ = ["DeployedBackend", "AirflowClient", "AirflowApiError", "REPARSE_REPEAT_S"]

_TERMINAL = {"success", "failed"}
REPARSE_REPEAT_S = 3.0
"""Seconds between reparse requests while waiting for a pipeline DAG to appear."""

T = TypeVar("T")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _rest() -> Any:
    """The generated REST client package, :mod:`airflow_client.client` (API groups, models,
    ``exceptions``), imported on first use: it takes ~1 s to import (all its models), paid only
    by processes that talk to a deployed Airflow."""
    from airflow_client import client  # lazy: ~1 s to import

    return client


def _state(value: Any) -> str | None:
    """An Airflow state enum (or string) as its string value."""
    return None if value is None else str(getattr(value, "value", value))


class AirflowClient:
    """Airflow's public REST API (v2) through the official client, with JWT handling.

    The API groups are attributes (``dags``, ``dag_parsing``, ``dag_runs``,
    ``task_instances``, ``xcoms``, ``import_errors``, ``pools``); every call goes
    through :meth:`call` or :meth:`get`, which add the bearer header and the
    timeout, log in again once on a 401 and turn failures into
    :class:`ExperimentExecutionException` naming Airflow's reason.
    """

    def __init__(self, api_url: str, auth: Any = None, timeout: float = 30.0):
        af = _rest()
        self.api_url = api_url.rstrip("/")
        self.timeout = float(timeout)
        self._auth = auth
        self._token: str | None = None
        self.api = af.ApiClient(af.Configuration(host=self.api_url))
        self.dags = af.DAGApi(self.api)
        self.dag_parsing = af.DAGParsingApi(self.api)
        self.dag_runs = af.DagRunApi(self.api)
        self.task_instances = af.TaskInstanceApi(self.api)
        self.xcoms = af.XComApi(self.api)
        self.import_errors = af.ImportErrorApi(self.api)
        self.pools = af.PoolApi(self.api)

    def _headers(self, refresh: bool = False) -> dict[str, str]:
        if self._auth is not None and hasattr(self._auth, "get_authentication_header"):
            return dict(self._auth.get_authentication_header())
        token = airflow_auth.env_token()
        if token:
            return {"Authorization": f"Bearer {token}"}
        if self._token is None or refresh:
            creds = airflow_auth.env_credentials()
            if creds is None:
                raise WorkspaceException(
                    "no Airflow credentials: set AIRFLOW_AML_API_TOKEN, or "
                    "AIRFLOW_AML_API_USERNAME and AIRFLOW_AML_API_PASSWORD"
                )
            self._token = airflow_auth.login(self.api_url, *creds, timeout=self.timeout)
        return {"Authorization": f"Bearer {self._token}"}

    def call(self, operation: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``operation(*args, **kwargs)`` of one of the API groups, authenticated.

        Logs in again once on a 401 (environment credentials); any other failure
        raises :class:`ExperimentExecutionException` with Airflow's status and reason.
        """
        errors = _rest().exceptions

        def send(refresh: bool) -> T:
            return operation(
                *args,
                _headers=self._headers(refresh=refresh),
                _request_timeout=self.timeout,
                **kwargs,
            )

        try:
            try:
                return send(refresh=False)
            except errors.UnauthorizedException:
                if self._auth is not None:
                    raise
                return send(refresh=True)  # the JWT expired: log in again, once
        except errors.ApiException as exc:
            what = self._describe(operation, args, kwargs)
            raise AirflowApiError(what, int(exc.status or 0), exc.body or exc.reason) from None
        except HTTPError as exc:
            raise ExperimentExecutionException(
                f"cannot reach the Airflow API at {self.api_url} "
                f"({self._describe(operation, args, kwargs)}): {exc}"
            ) from exc

    def get(
        self,
        operation: Callable[..., T],
        *args: Any,
        absent: tuple[int, ...] = (404,),
        **kwargs: Any,
    ) -> T | None:
        """Like :meth:`call`, but None when Airflow answers with a status in ``absent``."""
        try:
            return self.call(operation, *args, **kwargs)
        except AirflowApiError as exc:
            if exc.status in absent:
                return None
            raise

    def get_json(
        self,
        operation: Callable[..., Any],
        *args: Any,
        absent: tuple[int, ...] = (404,),
        **kwargs: Any,
    ) -> Any:
        """The JSON body of a ``*_without_preload_content`` operation (the answer unparsed by
        the client's models), or None for a status in ``absent``; errors as in :meth:`call`."""
        what = self._describe(operation, args, kwargs)
        resp = self.call(operation, *args, **kwargs)
        if resp.status == 401 and self._auth is None:  # no exception raised for raw answers
            resp = operation(
                *args, _headers=self._headers(refresh=True), _request_timeout=self.timeout, **kwargs
            )
        if resp.status in absent:
            return None
        if resp.status >= 400:
            raise AirflowApiError(what, int(resp.status), resp.data)
        return json.loads(resp.data or b"null")

    @staticmethod
    def _describe(
        operation: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> str:
        shown = [repr(a) for a in args if isinstance(a, str | int | float)]
        shown += [f"{k}={v!r}" for k, v in kwargs.items() if isinstance(v, str | int | float)]
        return f"{getattr(operation, '__name__', 'call')}({', '.join(shown)})"


class DeployedBackend(RegistryBackend):
    """Submit and observe runs on a running Airflow deployment."""

    mode = "deployed"

    def __init__(
        self, workspace: Workspace, api_url: str | None = None, *, parse_timeout: float = 120.0
    ):
        super().__init__(workspace.registry_location)
        self.workspace = workspace
        self.api_url = api_url or workspace.api_url
        self.client = AirflowClient(self.api_url, workspace._auth)
        self.parse_timeout = parse_timeout

    # ------------------------------------------------------------- registering
    def publish(self, spec: PipelineSpec, snapshots: dict[str, Snapshot]) -> PipelineSpec:
        """Create the spec's pools, freeze it into the registry, wait until Airflow parsed it."""
        self.ensure_pools(spec)  # before the DAG exists: its tasks never wait for a pool
        spec = self.registry_store.freeze(spec, snapshots)
        self.registry_store.write_spec(spec)
        self._wait_parsed(spec)
        return spec

    def ensure_pools(self, spec: PipelineSpec) -> None:
        """Create or resize the Airflow pool of every ``AmlCompute`` target of ``spec``
        (``max_nodes`` slots), as the embedded runner does in its metadata DB."""
        af = _rest()
        wanted: dict[str, tuple[int, str]] = {}
        for step in spec.steps:
            pool = step.compute.get("pool")
            if pool:
                slots = int(step.compute.get("max_nodes", 4))
                wanted[pool] = (slots, f"AmlCompute {step.compute['name']}")
        for name, (slots, description) in wanted.items():
            try:
                current = self.client.get(self.client.pools.get_pool, name)
                if current is not None and (current.slots, current.description) == (
                    slots,
                    description,
                ):
                    continue
                if current is None:
                    body = af.PoolBody(
                        name=name, slots=slots, description=description, include_deferred=False
                    )
                    if self.client.get(self.client.pools.post_pool, body, absent=(409,)):
                        continue  # created (409: another client just created it: resize)
                # Airflow validates a pool patch as a whole pool; the mask limits the change.
                patch = af.PoolPatchBody(
                    pool=name, slots=slots, description=description, include_deferred=False
                )
                self.client.call(
                    self.client.pools.patch_pool,
                    name,
                    patch,
                    update_mask=["slots", "description"],
                )
            except AirflowApiError as exc:
                hint = (
                    " (the Airflow user needs the right to edit pools)" if exc.status == 403 else ""
                )
                raise ExperimentExecutionException(
                    f"cannot create the Airflow pool {name!r} ({slots} slots) of "
                    f"{description}{hint}: {exc}"
                ) from None

    def _loader_file_token(self) -> str | None:
        details = self.client.get(self.client.dags.get_dag_details, REGISTRY_DAG_ID)
        return details.file_token if details is not None else None

    def _request_reparse(self, token: str | None) -> None:
        """Ask the dag-processor to parse the loader file now (409: a request is pending)."""
        if token:
            self.client.get(self.client.dag_parsing.reparse_dag_file, token, absent=(409,))

    def _wait_parsed(self, spec: PipelineSpec) -> None:
        """Poll the DAG's details until they carry ``spec``'s marker; repeat the reparse
        request every :data:`REPARSE_REPEAT_S` seconds meanwhile."""
        marker = spec_marker(spec)
        token = self._loader_file_token()
        self._request_reparse(token)
        next_request = time.monotonic() + REPARSE_REPEAT_S

        def parsed() -> bool:
            details = self.client.get(self.client.dags.get_dag_details, spec.dag_id)
            return details is not None and marker in (details.doc_md or "")

        def between_polls(state: RetryCallState) -> None:
            # The dag-processor drops a request for a file it is parsing at that moment;
            # that parse may have listed the registry before this spec was written.
            nonlocal token, next_request
            if time.monotonic() >= next_request:
                token = token or self._loader_file_token()
                self._request_reparse(token)
                next_request = time.monotonic() + REPARSE_REPEAT_S

        polling = Retrying(
            stop=stop_after_delay(self.parse_timeout),
            wait=wait_exponential(multiplier=0.1, exp_base=1.5, max=1.0),
            retry=retry_if_result(lambda done: not done),
            before_sleep=between_polls,
            retry_error_callback=lambda state: False,
        )
        if polling(parsed):
            return
        found = self.client.get(self.client.import_errors.get_import_errors, absent=(403,))
        errors = [
            f"{e.filename}: {(e.stack_trace or '').strip()[-500:]}"
            for e in (found.import_errors if found is not None else [])
        ]
        raise ExperimentExecutionException(
            f"Airflow did not load pipeline DAG {spec.dag_id!r} within "
            f"{self.parse_timeout:.0f}s (is [aml] registry = {self.registry} set for the "
            f"dag-processor, AIRFLOW__AML__REGISTRY?). Import errors: {errors}"
        )

    def set_enabled(self, dag_id: str, enabled: bool) -> None:
        """Unpause (enabled) or pause the DAG."""
        body = _rest().DAGPatchBody(is_paused=not enabled)
        self.client.call(self.client.dags.patch_dag, dag_id, body)

    # ----------------------------------------------------------------- running
    def _start(self, spec: PipelineSpec, run_id: str, conf: dict[str, Any], run_key: str) -> None:
        body = _rest().TriggerDAGRunPostBody(dag_run_id=run_id, logical_date=None, conf=conf)
        self.client.call(self.client.dag_runs.trigger_dag_run, spec.dag_id, body)

    # ------------------------------------------------------------------- reads
    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any] | None:
        """The DagRun (state, dates) or None before it exists."""
        dr = self.client.get(self.client.dag_runs.get_dag_run, dag_id, run_id)
        if dr is None:
            return None
        return {
            "state": _state(dr.state),
            "start_date": _iso(dr.start_date),
            "end_date": _iso(dr.end_date),
            "conf": dr.conf,
        }

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
        """Task instances of a run, by task id."""
        out: dict[str, dict[str, Any]] = {}
        offset = 0
        while True:
            page = self.client.get(
                self.client.task_instances.get_task_instances,
                dag_id,
                run_id,
                limit=100,
                offset=offset,
            )
            if page is None:
                return out
            for ti in page.task_instances:
                if ti.map_index in (None, -1):
                    out[ti.task_id] = {
                        "task_id": ti.task_id,
                        "state": _state(ti.state),
                        "start_date": _iso(ti.start_date),
                        "end_date": _iso(ti.end_date),
                        "try_number": ti.try_number,
                        "id": ti.id,
                    }
            offset += 100
            if offset >= (page.total_entries or 0):
                return out

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str) -> Any:
        """An XCom value (JSON) or None."""
        entry = self.client.get(
            self.client.xcoms.get_xcom_entry,
            dag_id=dag_id,
            task_id=task_id,
            dag_run_id=run_id,
            xcom_key=key,
        )
        return getattr(entry.actual_instance, "value", None) if entry is not None else None

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str | None:
        """The Airflow task log of one try as text."""
        # Raw JSON: the client's log models drop the fields beyond event/timestamp (level).
        found = self.client.get_json(
            self.client.task_instances.get_log_without_preload_content,
            dag_id,
            run_id,
            task_id,
            try_number,
            full_content=True,
            accept="application/json",
        )
        if found is None:
            return None
        content = found.get("content", []) if isinstance(found, dict) else found
        lines = []
        for item in content if isinstance(content, list) else [content]:
            if isinstance(item, dict):
                lines.append(
                    f"{item.get('timestamp', '')} [{item.get('level', '')}] {item.get('event', '')}"
                )
            else:
                lines.append(str(item))
        return "\n".join(lines) + "\n"

    def runner_state(self, run_id: str) -> dict[str, Any]:
        """Whether the run is still going (Airflow runs it; there is no local runner)."""
        record = self.run_record(run_id)
        dr = self.dag_run(record["dag_id"], run_id)
        done = dr is not None and dr.get("state") in _TERMINAL
        return {
            "alive": not done,
            "error": None,
            "done": done,
            "canceled": self.registry_store.run_marked(run_id, "canceled"),
        }

    def runner_log(self, run_id: str) -> str:
        """No local runner log in deployed mode."""
        return ""

    # ------------------------------------------------------------------ cancel
    def cancel(self, run_id: str) -> None:
        """Mark the DagRun failed; Airflow stops its running tasks."""
        af = _rest()
        record = self.run_record(run_id)
        self.registry_store.mark_run(run_id, "canceled")
        body = af.DAGRunPatchBody(state=af.DagRunMutableStates.FAILED)
        self.client.call(self.client.dag_runs.patch_dag_run, record["dag_id"], run_id, body)

    # ------------------------------------------------------------------ pools
    def pool_status(self, pool_name: str) -> dict[str, Any] | None:
        """The Airflow pool ``pool_name`` (``GET /api/v2/pools/{name}``), or None if missing."""
        pool = self.client.get(self.client.pools.get_pool, pool_name)
        if pool is None:
            return None
        keys = ("slots", "running_slots", "queued_slots", "scheduled_slots", "deferred_slots")
        return {
            "name": pool.name or pool_name,
            "description": pool.description,
            "include_deferred": bool(pool.include_deferred),
            **{k: int(getattr(pool, k, 0) or 0) for k in keys},
            "occupied_slots": int(pool.occupied_slots or 0),
            "open_slots": int(pool.open_slots or 0),
        }
