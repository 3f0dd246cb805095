"""What every backend shares: compiling, publishing, the one ``start`` call, run reads.

A backend is how the object model reaches Airflow. The model never imports a
backend module: ``Workspace._backend`` builds one from a dotted path (see
:data:`airflow_aml.core.workspace.BACKENDS`), and hands it a ``Pipeline``
plus one typed ``RunOptions``. Every way of starting a run ends in
:meth:`RegistryBackend.start`: ``Experiment.submit`` of a pipeline (after
:meth:`publish`), of a published pipeline or endpoint, and the AML-compatible
REST routes (:class:`airflow_aml.api.service`).

Subclasses implement ``publish`` (register a frozen spec as its DAG),
``set_enabled``, ``_start`` (make Airflow run a recorded run) and the reads
used by ``PipelineRun``/``StepRun``: ``dag_run``, ``task_instances``,
``xcom``, ``task_log``, ``runner_state``, ``runner_log``, ``cancel``.
"""

from __future__ import annotations

import uuid
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_aml.artifacts.registry import Registry
from airflow_aml.artifacts.snapshot import Snapshot
from airflow_aml.backends import airflow_home
from airflow_aml.compiler import render
from airflow_aml.compiler.build import compile_pipeline
from airflow_aml.exceptions import AuthenticationException, PipelineValidationError
from airflow_aml.pipeline.core.run import PipelineRun
from airflow_aml.spec import PipelineSpec

if TYPE_CHECKING:
    from airflow_aml.compiler.build import CompileResult
    from airflow_aml.core.experiment import Experiment, RunOptions
    from airflow_aml.pipeline.core.pipeline import Pipeline

__all__ = ["RegistryBackend"]


class RegistryBackend:
    """Base of the embedded, deployed and api-server backends."""

    mode = "abstract"
    #: the workspace this backend serves (None in the api-server)
    workspace: Any = None

    def __init__(self, registry: str | Path):
        self.registry = registry
        self.registry_store = Registry(registry)

    # -------------------------------------------------------------- per backend
    def publish(self, spec: PipelineSpec, snapshots: dict[str, Snapshot]) -> PipelineSpec:
        """Freeze ``spec`` and register it as the definition of its DAG."""
        raise NotImplementedError

    def set_enabled(self, dag_id: str, enabled: bool) -> None:
        """Unpause (enabled) or pause a DAG."""
        raise NotImplementedError

    def _start(self, spec: PipelineSpec, run_id: str, conf: dict[str, Any], run_key: str) -> None:
        """Make Airflow run the recorded run ``run_id``."""
        raise NotImplementedError

    # ---------------------------------------------------------- compile / run
    def compile(self, pipeline: Pipeline, experiment_name: str) -> CompileResult:
        """Compile ``pipeline`` (never raises for bad input: see ``result.errors``)."""
        return compile_pipeline(pipeline, experiment_name)

    def render_dag(self, spec: PipelineSpec, **dag_kwargs: Any) -> Any:
        """The Airflow DAG of ``spec`` (``Pipeline.as_dag`` in a DAG file)."""
        return render.render_dag(spec, **dag_kwargs)

    def run_pipeline(self, pipeline: Pipeline, options: RunOptions) -> str:
        """Compile ``pipeline`` (raising every validation error at once), register it as
        the DAG of its experiment, enable it and start a run; returns the run id."""
        result = pipeline._compile(options.experiment_name)
        for warning in result.warnings:
            warnings.warn(warning, UserWarning, stacklevel=5)
        if result.spec is None:
            raise PipelineValidationError(result.errors)
        options.conf(result.spec)  # bad parameters raise before anything is registered
        spec = self.publish(result.spec, result.snapshots)
        self.set_enabled(spec.dag_id, True)
        return self.start(spec, options)

    def start(self, spec: PipelineSpec, options: RunOptions) -> str:
        """Record and start a run of the registered ``spec``; returns the run id.

        The one call every way of starting a run goes through (Python submit,
        published submit, REST).
        """
        run_id = str(uuid.uuid4())
        conf = options.conf(spec)
        spec = spec.with_changes(tags=dict(options.tags))
        run_key = self.registry_store.write_run(
            run_id, spec=spec, conf=conf, experiment_name=options.experiment_name
        )
        self._start(spec, run_id, conf, run_key)
        return run_id

    # ------------------------------------------------------------------ reads
    def pipeline_run(self, experiment: Experiment, run_id: str) -> PipelineRun:
        """The ``PipelineRun`` object of ``run_id`` in ``experiment``."""
        return PipelineRun(experiment, run_id)

    def run_record(self, run_id: str) -> dict[str, Any]:
        """What was submitted for ``run_id`` (spec, conf, experiment)."""
        return self.registry_store.read_run(run_id)

    def list_runs(self, experiment_name: str) -> list[str]:
        """Run ids of an experiment, newest first."""
        return self.registry_store.list_runs(experiment_name)

    def experiment_names(self) -> list[str]:
        """Names of the experiments that have runs."""
        return self.registry_store.experiment_names()

    def run_link_line(self, dag_id: str, run_id: str) -> str:
        """The line ``wait_for_completion(show_output=True)`` prints about the Airflow UI."""
        return airflow_home.run_link_line(self.workspace, dag_id, run_id)

    def authentication_header(
        self, credentials: tuple[str, str] | None, tokens: dict[tuple[str, str], str] | None
    ) -> dict[str, str]:
        """A bearer header for this workspace's Airflow API (``azureml.core.authentication``).

        The token is ``$AIRFLOW_AML_API_TOKEN``, else a JWT for ``credentials`` (user,
        password), else for the environment's, else (embedded) for the local ``admin``
        user; ``tokens`` (when given) caches JWTs by (API URL, user) until near expiry.
        """
        from airflow_aml.backends import airflow_auth  # lazy: httpx, ~0.1 s to import

        token = airflow_auth.env_token()
        if token:
            return {"Authorization": f"Bearer {token}"}
        api_url = str(self.workspace.api_url)
        creds = credentials or airflow_auth.env_credentials()
        hint = ""
        if self.mode == "embedded":
            hint = "; is the workspace's Airflow UI running? start it with `airflow-aml ui`"
            creds = creds or ("admin", self._embedded_password())
        if creds is None:
            raise AuthenticationException(
                f"no credentials for the Airflow API at {api_url}: set "
                f"{airflow_auth.TOKEN_ENV}, or {airflow_auth.USERNAME_ENV} and "
                f"{airflow_auth.PASSWORD_ENV}, or use ServicePrincipalAuthentication("
                "tenant_id, <airflow user>, <airflow password>)"
            )
        key = (api_url.rstrip("/"), creds[0])
        cached = tokens.get(key) if tokens is not None else None
        if cached is None or not airflow_auth.still_valid(cached):
            cached = airflow_auth.login(api_url, *creds, unreachable_hint=hint)
            if tokens is not None:
                tokens[key] = cached
        return {"Authorization": f"Bearer {cached}"}

    def _embedded_password(self) -> str:
        home = self.workspace.airflow_home
        password = airflow_home.admin_password(home)
        if password is None:
            raise AuthenticationException(
                f"the embedded Airflow API server has not generated the admin password yet "
                f"({airflow_home.passwords_file(home)} is missing): start it with `airflow-aml ui`"
            )
        return password

    @staticmethod
    def token_expiry(token: str) -> float | None:
        """When a JWT expires (epoch seconds), if it says."""
        from airflow_aml.backends import airflow_auth  # lazy: httpx, ~0.1 s to import

        return airflow_auth.token_expiry(token)

    def shutdown(self) -> None:
        """Release local resources (nothing by default)."""
