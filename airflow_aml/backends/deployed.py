"""The deployed backend: submit to and read from a running Airflow over its REST API.

The workspace names the Airflow API URL and a shared home whose registry the
Airflow dag-processor reads (``AIRFLOW_AML_REGISTRY`` in the deployment) and
whose datastores the workers reach. ``submit`` freezes the spec and source
snapshots into the registry, asks Airflow to reparse the loader file at once
(no waiting for the periodic scan), waits until the DAG shows the new spec,
unpauses it and triggers the run with ``POST /api/v2/dags/{dag_id}/dagRuns``.
States, task instances, XComs and logs are read through the REST API.

Credentials come only from the environment (``AIRFLOW_AML_API_TOKEN``, or
``AIRFLOW_AML_API_USERNAME``/``AIRFLOW_AML_API_PASSWORD`` exchanged for a JWT
at ``/auth/token``) or from an ``auth`` object with
``get_authentication_header()``; the library never writes them anywhere.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import httpx

from airflow_aml.artifacts.snapshot import Snapshot
from airflow_aml.backends import airflow_auth
from airflow_aml.backends.base import RegistryBackend
from airflow_aml.compiler.loader import REGISTRY_DAG_ID
from airflow_aml.compiler.render import spec_marker
from airflow_aml.exceptions import ExperimentExecutionException, WorkspaceException
from airflow_aml.spec import PipelineSpec

if TYPE_CHECKING:
    from airflow_aml.core.workspace import Workspace

__all__ = ["DeployedBackend", "AirflowClient"]

_TERMINAL = {"success", "failed"}
REPARSE_REPEAT_S = 3.0
"""Seconds between reparse requests while waiting for a pipeline DAG to appear."""


class AirflowClient:
    """A small client of Airflow's public REST API (v2) with JWT handling."""

    def __init__(self, api_url: str, auth: Any = None, timeout: float = 30.0):
        self.api_url = api_url.rstrip("/")
        self._auth = auth
        self._token: str | None = None
        self._http = httpx.Client(base_url=self.api_url, timeout=timeout)

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
            self._token = airflow_auth.login(self.api_url, *creds, http=self._http)
        return {"Authorization": f"Bearer {self._token}"}

    def request(
        self,
        method: str,
        path: str,
        *,
        ok: tuple[int, ...] = (200, 201),
        allow: tuple[int, ...] = (),
        **kwargs: Any,
    ) -> httpx.Response:
        """Send a request; re-login once on 401; raise with Airflow's reason otherwise."""
        extra = kwargs.pop("headers", {})
        resp = self._http.request(method, path, headers={**self._headers(), **extra}, **kwargs)
        if resp.status_code == 401 and self._auth is None:
            resp = self._http.request(
                method, path, headers={**self._headers(refresh=True), **extra}, **kwargs
            )
        if resp.status_code in ok or resp.status_code in allow:
            return resp
        raise ExperimentExecutionException(
            f"Airflow API {method} {path} failed ({resp.status_code}): {resp.text[:500]}"
        )


class DeployedBackend(RegistryBackend):
    """Submit and observe runs on a running Airflow deployment."""

    mode = "deployed"

    def __init__(self, workspace: Workspace, api_url: str, *, parse_timeout: float = 120.0):
        super().__init__(workspace.registry_location)
        self.workspace = workspace
        self.client = AirflowClient(api_url, workspace._auth)
        self.parse_timeout = parse_timeout

    # ------------------------------------------------------------- registering
    def publish(self, spec: PipelineSpec, snapshots: dict[str, Snapshot]) -> PipelineSpec:
        """Freeze ``spec`` into the registry and wait until Airflow has parsed it."""
        spec = self.registry_store.freeze(spec, snapshots)
        self.registry_store.write_spec(spec)
        self._wait_parsed(spec)
        return spec

    def _loader_file_token(self) -> str | None:
        resp = self.client.request("GET", f"/api/v2/dags/{REGISTRY_DAG_ID}/details", allow=(404,))
        return resp.json().get("file_token") if resp.status_code == 200 else None

    def _request_reparse(self, token: str | None) -> None:
        """Ask the dag-processor to parse the loader file now (409: a request is pending)."""
        if token:
            self.client.request(
                "PUT", f"/api/v2/parseDagFile/{token}", ok=(200, 201, 202), allow=(409,)
            )

    def _wait_parsed(self, spec: PipelineSpec) -> None:
        marker = spec_marker(spec)
        token = self._loader_file_token()
        self._request_reparse(token)
        start = time.monotonic()
        deadline = start + self.parse_timeout
        next_request = start + REPARSE_REPEAT_S
        pause = 0.1
        while time.monotonic() < deadline:
            resp = self.client.request("GET", f"/api/v2/dags/{spec.dag_id}/details", allow=(404,))
            if resp.status_code == 200 and marker in (resp.json().get("doc_md") or ""):
                return
            if time.monotonic() >= next_request:
                # The dag-processor drops a request for a file it is parsing at that moment;
                # that parse may have listed the registry before this spec was written.
                token = token or self._loader_file_token()
                self._request_reparse(token)
                next_request = time.monotonic() + REPARSE_REPEAT_S
            time.sleep(pause)
            pause = min(pause * 1.5, 1.0)
        errors = self.client.request("GET", "/api/v2/importErrors", allow=(403,)).json()
        raise ExperimentExecutionException(
            f"Airflow did not load pipeline DAG {spec.dag_id!r} within "
            f"{self.parse_timeout:.0f}s (is AIRFLOW_AML_REGISTRY={self.registry} set for the "
            f"dag-processor?). Import errors: {errors.get('import_errors', [])}"
        )

    def set_enabled(self, dag_id: str, enabled: bool) -> None:
        """Unpause (enabled) or pause the DAG."""
        self.client.request("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": not enabled})

    # ----------------------------------------------------------------- running
    def _start(self, spec: PipelineSpec, run_id: str, conf: dict[str, Any], run_key: str) -> None:
        self.client.request(
            "POST",
            f"/api/v2/dags/{spec.dag_id}/dagRuns",
            json={"dag_run_id": run_id, "logical_date": None, "conf": conf},
        )

    # ------------------------------------------------------------------- reads
    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any] | None:
        """The DagRun (state, dates) or None before it exists."""
        resp = self.client.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}", allow=(404,))
        if resp.status_code == 404:
            return None
        data = resp.json()
        return {
            "state": data.get("state"),
            "start_date": data.get("start_date"),
            "end_date": data.get("end_date"),
            "conf": data.get("conf"),
        }

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
        """Task instances of a run, by task id."""
        out: dict[str, dict[str, Any]] = {}
        offset = 0
        while True:
            resp = self.client.request(
                "GET",
                f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                params={"limit": 100, "offset": offset},
                allow=(404,),
            )
            if resp.status_code == 404:
                return out
            data = resp.json()
            for ti in data.get("task_instances", []):
                if ti.get("map_index", -1) == -1:
                    out[ti["task_id"]] = {
                        k: ti.get(k)
                        for k in ("task_id", "state", "start_date", "end_date", "try_number", "id")
                    }
            offset += 100
            if offset >= data.get("total_entries", 0):
                return out

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str) -> Any:
        """An XCom value (JSON) or None."""
        resp = self.client.request(
            "GET",
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}",
            allow=(404,),
        )
        return resp.json().get("value") if resp.status_code == 200 else None

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str | None:
        """The Airflow task log of one try as text."""
        resp = self.client.request(
            "GET",
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
            params={"full_content": "true"},
            headers={"Accept": "application/json"},
            allow=(404,),
        )
        if resp.status_code == 404:
            return None
        content = resp.json().get("content", [])
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
        record = self.run_record(run_id)
        self.registry_store.mark_run(run_id, "canceled")
        self.client.request(
            "PATCH", f"/api/v2/dags/{record['dag_id']}/dagRuns/{run_id}", json={"state": "failed"}
        )

    # ------------------------------------------------------------------ pools
    def pool_status(self, pool_name: str) -> dict[str, Any] | None:
        """The Airflow pool ``pool_name`` (``GET /api/v2/pools/{name}``), or None if missing."""
        from urllib.parse import quote

        path = f"/api/v2/pools/{quote(pool_name, safe='')}"
        resp = self.client.request("GET", path, allow=(404,))
        if resp.status_code == 404:
            return None
        data = resp.json()
        keys = ("slots", "running_slots", "queued_slots", "scheduled_slots", "deferred_slots")
        return {
            "name": data.get("name", pool_name),
            "description": data.get("description"),
            "include_deferred": bool(data.get("include_deferred")),
            **{k: int(data.get(k) or 0) for k in keys},
            "occupied_slots": int(data.get("occupied_slots") or 0),
            "open_slots": int(data.get("open_slots") or 0),
        }
