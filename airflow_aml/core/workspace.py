"""Workspace: where pipelines run and where their data lives.

SDK v1's ``Workspace`` names an Azure ML workspace. Here it names an Airflow
deployment plus a workspace home folder holding the datastores, the compute
registry and the pipeline registry. With no configuration at all,
``Workspace.from_config()`` gives the *embedded* workspace: a local Airflow
home with SQLite under ``~/.airflow_aml`` (or ``$AIRFLOW_AML_HOME``),
created and migrated on first use.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from typing import Any

from airflow_aml._files import JsonDocument, atomic_write_text
from airflow_aml.core.compute import ComputeTarget
from airflow_aml.core.datastore import Datastore
from airflow_aml.core.experiment import Experiment
from airflow_aml.exceptions import UserErrorException, WorkspaceException
from airflow_aml.storage.location import BLOB_SCHEMES, is_remote_location, open_location

__all__ = ["Workspace", "DEFAULT_HOME_ENV", "BACKENDS"]

#: How a workspace reaches Airflow, by mode: the backend class's dotted path. The
#: object model imports no backend module; it builds the one its mode names.
BACKENDS = {
    "embedded": "airflow_aml.backends.embedded.EmbeddedBackend",
    "deployed": "airflow_aml.backends.deployed.DeployedBackend",
}

DEFAULT_HOME_ENV = "AIRFLOW_AML_HOME"
_CONFIG_DIRS = (".azureml", "aml_config", "")
_CONFIG_FILES = ("config.json", "project.json")
_DEFAULT_STORES = ("workspaceblobstore", "workspacefilestore", "workspaceartifactstore")


def _default_home() -> Path:
    env = os.environ.get(DEFAULT_HOME_ENV)
    return Path(env).expanduser() if env else Path.home() / ".airflow_aml"


class Workspace:
    """A workspace (SDK v1 ``azureml.core.Workspace``).

    :param subscription_id: kept for compatibility; recorded, not used.
    :param resource_group: kept for compatibility; recorded, not used.
    :param workspace_name: the workspace name.
    :param auth: ignored in embedded mode (no Azure login is needed).
    :param home: the workspace home folder; defaults to ``$AIRFLOW_AML_HOME``
        or ``~/.airflow_aml``.
    """

    def __init__(
        self,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        workspace_name: str | None = None,
        auth: Any = None,
        _location: str | None = None,
        *,
        home: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ):
        self.subscription_id = subscription_id or "local"
        self.resource_group = resource_group or "local"
        self._name = workspace_name or "local"
        self._auth = auth
        if hasattr(auth, "_bind"):  # airflow_aml.core.authentication: use this workspace's Airflow
            auth._bind(self)
        self.location = _location or "local"
        self.home = Path(home).expanduser().resolve() if home else _default_home().resolve()
        self._backend_obj: Any = None
        self._api_url: str | None = kwargs.get("api_url")
        # Step processes load airflow_aml for `import azureml...` unless this is False.
        self.azureml_shim = bool(kwargs.get("azureml_shim", True))
        registry = kwargs.get("registry")
        self._registry: str | None = None
        if registry:
            remote = is_remote_location(str(registry))
            self._registry = str(registry) if remote else str(Path(registry).expanduser().resolve())
        self._ensure_home()
        if kwargs.get("datastore"):
            self._use_blob_datastore(str(kwargs["datastore"]))

    # ----------------------------------------------------------------- loading
    @staticmethod
    def from_config(
        path: str | os.PathLike[str] | None = None,
        auth: Any = None,
        _logger: Any = None,
        _file_name: str | None = None,
    ) -> Workspace:
        """Load the workspace described by the nearest ``config.json``.

        Looks in ``.azureml/``, ``aml_config/`` and the folder itself, walking up
        parent folders from ``path`` (default: the current folder), as SDK v1
        does. ``path`` may also name the file. With no file found, returns the
        embedded local workspace.

        Keys read: ``workspace_name``, ``subscription_id``, ``resource_group``
        (v1); ``home`` (workspace home folder, relative to the file); for a
        deployed workspace ``airflow.api_url``, ``registry`` (a folder or
        ``wasb://<conn_id>@<container>/<prefix>``) and ``datastore`` (a
        ``wasb://`` location that becomes ``workspaceblobstore``, the default);
        ``azureml_shim`` (default true: inside step processes ``import azureml.X``
        loads ``airflow_aml.X``; false runs step scripts without the shim).
        """
        found = Workspace._find_config(path, _file_name)
        if found is None:
            if path is not None and _file_name is not None:
                raise WorkspaceException(f"no workspace config file {_file_name!r} under {path}")
            return Workspace(auth=auth)
        try:
            cfg = json.loads(found.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise WorkspaceException(f"workspace config {found} is not valid JSON: {exc}") from exc
        if not isinstance(cfg, dict):
            raise WorkspaceException(f"workspace config {found} must hold a JSON object")
        home = cfg.get("home")
        if home is not None:
            home = (found.parent / Path(str(home)).expanduser()).resolve()
        airflow = cfg.get("airflow") or {}
        if not isinstance(airflow, dict):
            raise WorkspaceException(f"workspace config {found}: 'airflow' must be an object")
        for secret in ("password", "token"):
            if secret in airflow:
                raise WorkspaceException(
                    f"workspace config {found} holds a {secret}: keep secrets out of config "
                    "files; set AIRFLOW_AML_API_TOKEN or AIRFLOW_AML_API_PASSWORD instead"
                )
        if not isinstance(cfg.get("azureml_shim", True), bool):
            raise WorkspaceException(
                f"workspace config {found}: 'azureml_shim' must be true or false"
            )
        return Workspace(
            subscription_id=cfg.get("subscription_id"),
            resource_group=cfg.get("resource_group"),
            workspace_name=cfg.get("workspace_name"),
            auth=auth,
            home=home,
            api_url=airflow.get("api_url"),
            registry=cfg.get("registry"),
            datastore=cfg.get("datastore"),
            azureml_shim=cfg.get("azureml_shim", True),
        )

    @staticmethod
    def _find_config(path: str | os.PathLike[str] | None, file_name: str | None) -> Path | None:
        start = Path(path or ".").expanduser().resolve()
        if start.is_file():
            return start
        names = (file_name,) if file_name else _CONFIG_FILES
        for folder in (start, *start.parents):
            for sub in _CONFIG_DIRS:
                for name in names:
                    candidate = folder / sub / name if sub else folder / name
                    if candidate.is_file():
                        return candidate
        return None

    @staticmethod
    def get(
        name: str,
        auth: Any = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        **kwargs: Any,
    ) -> Workspace:
        """Return the workspace ``name`` (embedded, under the default home)."""
        return Workspace(subscription_id, resource_group, name, auth=auth)

    # --------------------------------------------------------------- properties
    @property
    def name(self) -> str:
        """The workspace name."""
        return self._name

    @property
    def api_url(self) -> str:
        """Base URL of the Airflow API server of this workspace: ``airflow.api_url`` of a
        deployed workspace; for the embedded one, where ``airflow-aml ui`` serves its home
        (the port of the last ``airflow-aml ui --port``, default 8080)."""
        if self._api_url:
            return self._api_url
        return str(self._backend.api_url)

    @property
    def mode(self) -> str:
        """``deployed`` when the config names an Airflow API URL, else ``embedded``."""
        return "deployed" if self._api_url else "embedded"

    @property
    def registry_location(self) -> str:
        """The pipeline registry (specs, snapshots, runs) the Airflow dag-processor reads:
        a folder, or a ``wasb://<conn_id>@<container>/<prefix>`` location."""
        return self._registry or str(self.home / "registry")

    @property
    def registry_path(self) -> Path:
        """The registry folder (a local registry; see :attr:`registry_location`)."""
        if is_remote_location(self.registry_location):
            raise WorkspaceException(
                f"workspace {self.name!r}: registry {self.registry_location} is remote, which "
                "only a deployed workspace can use (set airflow.api_url in the config); an "
                "embedded workspace keeps its registry in its home"
            )
        return Path(self.registry_location)

    @property
    def airflow_home(self) -> Path:
        """The Airflow home (AIRFLOW_HOME) used by the embedded backend."""
        return self.home / "airflow"

    @property
    def datastores(self) -> dict[str, Datastore]:
        """All registered datastores, by name."""
        return {
            n: Datastore._from_definition(self, n, d)
            for n, d in self._datastore_doc.section("datastores").items()
        }

    @property
    def compute_targets(self) -> dict[str, ComputeTarget]:
        """All registered compute targets, by name."""
        return {
            n: ComputeTarget._from_definition(self, n, d)
            for n, d in self._compute_doc.section("compute_targets").items()
        }

    @property
    def experiments(self) -> dict[str, Any]:
        """Experiments that have been submitted to, by name."""
        names = self._backend.experiment_names()
        return {n: Experiment(self, n, _skip_name_validation=True) for n in names}

    def get_default_datastore(self) -> Datastore:
        """Return the default datastore (``workspaceblobstore`` unless changed)."""
        doc = self._datastore_doc
        stores = doc.section("datastores")
        name = doc.read().get("default", "workspaceblobstore")
        if not isinstance(name, str) or name not in stores:
            raise WorkspaceException(
                f"the default datastore {name!r} of workspace {self.name!r} is not registered "
                f"in {doc.path}; known: {sorted(stores)}. Set another one with "
                "ws.set_default_datastore(name)"
            )
        return Datastore._from_definition(self, name, stores[name])

    def _use_blob_datastore(self, location: str) -> None:
        """Make ``workspaceblobstore`` the Azure Blob ``location`` and the default."""
        if not location.startswith(tuple(f"{s}://" for s in BLOB_SCHEMES)):
            raise WorkspaceException(
                f"workspace config: datastore {location!r} must be a "
                "wasb://<conn_id>@<container>/<prefix> location"
            )
        store = open_location(location)
        definition = {
            "type": "azure_blob",
            "container_name": store.container,  # type: ignore[attr-defined]
            "account_name": "",
            "wasb_conn_id": store.conn_id,  # type: ignore[attr-defined]
            "prefix": store.prefix,  # type: ignore[attr-defined]
        }
        with self._datastore_doc.update() as doc:
            doc.setdefault("datastores", {})["workspaceblobstore"] = definition
            doc["default"] = "workspaceblobstore"

    def set_default_datastore(self, name: str) -> None:
        """Make the datastore ``name`` the default."""
        with self._datastore_doc.update() as doc:
            if name not in doc.get("datastores", {}):
                raise UserErrorException(
                    f"datastore {name!r} is not registered; known: {sorted(doc['datastores'])}"
                )
            doc["default"] = name

    def get_run(self, run_id: str) -> Any:
        """Return the pipeline run ``run_id`` from any experiment of this workspace."""
        record = self._backend.run_record(run_id)
        name = record.get("experiment_name") or record["dag_id"]
        return self._backend.pipeline_run(
            Experiment(self, name, _skip_name_validation=True), run_id
        )

    def get_details(self) -> dict[str, Any]:
        """A dict describing the workspace."""
        return {
            "name": self.name,
            "subscriptionId": self.subscription_id,
            "resourceGroup": self.resource_group,
            "location": self.location,
            "home": str(self.home),
            "mode": self.mode,
            "api_url": self.api_url,
        }

    def write_config(self, path: str | None = None, file_name: str | None = None) -> None:
        """Write ``.azureml/config.json`` so ``from_config`` finds this workspace."""
        target = Path(path or ".") / ".azureml" / (file_name or "config.json")
        config = {
            "subscription_id": self.subscription_id,
            "resource_group": self.resource_group,
            "workspace_name": self.name,
            "home": str(self.home),
        }
        try:  # whole or not at all: from_config never reads half a file
            atomic_write_text(target, json.dumps(config, indent=2), durable=True)
        except OSError as exc:
            raise WorkspaceException(f"cannot write the workspace config {target}: {exc}") from exc

    # ---------------------------------------------------------------- internals
    @property
    def _datastore_doc(self) -> JsonDocument:
        return JsonDocument(
            self.home / "datastores.json",
            repair=" to start again from the default datastores (workspaceblobstore, "
            "workspacefilestore, workspaceartifactstore; their data is kept) and register "
            "the others again",
        )

    @property
    def _compute_doc(self) -> JsonDocument:
        return JsonDocument(
            self.home / "compute.json",
            repair=" and create the compute targets again (ComputeTarget.create)",
        )

    def _ensure_home(self) -> None:
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WorkspaceException(f"cannot create workspace home {self.home}: {exc}") from exc
        doc = self._datastore_doc
        if doc.path.exists():
            return
        with doc.update() as data:
            stores = data.setdefault("datastores", {})
            for name in _DEFAULT_STORES:
                stores.setdefault(
                    name, {"type": "local", "root": str(self.home / "datastores" / name)}
                )
            data.setdefault("default", "workspaceblobstore")

    @property
    def _backend(self) -> Any:
        """The backend of this workspace (built from :data:`BACKENDS`, by dotted path)."""
        if self._backend_obj is None:
            module, _, name = BACKENDS[self.mode].rpartition(".")
            backend_class = getattr(importlib.import_module(module), name)
            self._backend_obj = backend_class(self)
        return self._backend_obj

    def _to_runtime_config(self) -> dict[str, Any]:
        """What a step needs to rebuild this workspace inside a run."""
        return {
            "workspace_name": self.name,
            "subscription_id": self.subscription_id,
            "resource_group": self.resource_group,
            "home": str(self.home),
            "azureml_shim": self.azureml_shim,
        }

    @classmethod
    def _from_runtime_config(cls, cfg: dict[str, Any]) -> Workspace:
        return cls(
            cfg.get("subscription_id"),
            cfg.get("resource_group"),
            cfg.get("workspace_name"),
            home=cfg.get("home"),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Workspace) and other.home == self.home and other.name == self.name

    def __hash__(self) -> int:
        return hash((self.home, self.name))

    def __repr__(self) -> str:
        return f"Workspace.create(name='{self.name}', home='{self.home}')"
