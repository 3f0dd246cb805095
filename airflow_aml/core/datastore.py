"""Datastores: named storage locations (SDK v1 ``azureml.core.Datastore``).

``Datastore(ws, name)`` is a factory, as in v1: it returns the concrete class
registered under ``name``. The embedded workspace's ``workspaceblobstore``
and ``workspacefilestore`` are local folders (:class:`LocalDatastore`); an
Azure Blob container (:class:`AzureBlobDatastore`, e.g. Azurite) is reached
through an Airflow ``wasb`` connection, so no secret is ever stored here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_aml._names import check_datastore_name, safe_relative_path
from airflow_aml.data.data_reference import DataReference
from airflow_aml.exceptions import DatastoreException, NotSupportedError
from airflow_aml.storage.folder import FolderStore
from airflow_aml.storage.location import store_for_datastore

if TYPE_CHECKING:
    from airflow_aml.core.workspace import Workspace
    from airflow_aml.storage.base import ObjectStore

__all__ = ["Datastore", "LocalDatastore", "AzureBlobDatastore"]


class Datastore:
    """A named storage location of a workspace (factory over the concrete kinds)."""

    datastore_type = "Abstract"

    def __new__(
        cls, workspace: Workspace | None = None, name: str | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        if cls is Datastore and workspace is not None:
            return Datastore.get(workspace, name) if name else workspace.get_default_datastore()
        return super().__new__(cls)

    def __init__(self, workspace: Workspace, name: str | None = None, *args: Any, **kwargs: Any):
        # Instances returned by the factory are already initialised.
        if getattr(self, "_initialised", False):
            return
        self.workspace = workspace
        self.name = name or ""
        self._initialised = True

    # ------------------------------------------------------------------ lookup
    @staticmethod
    def get(workspace: Workspace, datastore_name: str) -> Datastore:
        """Return the datastore registered as ``datastore_name``."""
        stores = workspace._datastore_doc.section("datastores")
        if datastore_name not in stores:
            raise DatastoreException(
                f"datastore {datastore_name!r} is not registered in workspace "
                f"{workspace.name!r}; known: {sorted(stores)}"
            )
        return Datastore._from_definition(workspace, datastore_name, stores[datastore_name])

    @staticmethod
    def get_default(workspace: Workspace) -> Datastore:
        """Return the workspace's default datastore."""
        return workspace.get_default_datastore()

    @staticmethod
    def _from_definition(workspace: Workspace, name: str, definition: dict[str, Any]) -> Datastore:
        kind = definition.get("type")
        needed = {"local": ("root",), "azure_blob": ("container_name", "wasb_conn_id")}
        lacking = [k for k in needed.get(str(kind), ()) if not isinstance(definition.get(k), str)]
        if lacking:
            raise DatastoreException(
                f"datastore {name!r} ({kind}) has no {', '.join(lacking)} in "
                f"{workspace._datastore_doc.path}; register it again with overwrite=True"
            )
        if kind == "local":
            store = object.__new__(LocalDatastore)
            LocalDatastore._setup(store, workspace, name, Path(definition["root"]))
            return store
        if kind == "azure_blob":
            blob = object.__new__(AzureBlobDatastore)
            AzureBlobDatastore._setup(blob, workspace, name, definition)
            return blob
        raise DatastoreException(f"datastore {name!r} has unknown type {kind!r}")

    @staticmethod
    def register_local_folder(
        workspace: Workspace, datastore_name: str, root: str, overwrite: bool = False
    ) -> LocalDatastore:
        """Register a local (or shared-mount) folder as a datastore."""
        check_datastore_name(datastore_name, field="datastore_name")
        if not isinstance(root, (str, os.PathLike)) or "\x00" in os.fspath(root):
            raise DatastoreException(
                f"datastore {datastore_name!r}: root {str(root)[:80]!r} must be a folder path "
                "without NUL bytes (\\x00)"
            )
        with workspace._datastore_doc.update() as doc:
            stores = doc.setdefault("datastores", {})
            if datastore_name in stores and not overwrite:
                raise DatastoreException(
                    f"datastore {datastore_name!r} already exists; pass overwrite=True"
                )
            stores[datastore_name] = {"type": "local", "root": str(Path(root).resolve())}
        store = Datastore.get(workspace, datastore_name)
        assert isinstance(store, LocalDatastore)
        return store

    @staticmethod
    def register_azure_blob_container(
        workspace: Workspace,
        datastore_name: str,
        container_name: str,
        account_name: str,
        sas_token: str | None = None,
        account_key: str | None = None,
        protocol: str | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        create_if_not_exists: bool = False,
        skip_validation: bool = False,
        blob_cache_timeout: int | None = None,
        grant_workspace_access: bool = False,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        *,
        wasb_conn_id: str = "wasb_default",
    ) -> AzureBlobDatastore:
        """Register an Azure Blob container (SDK v1 signature) as a datastore.

        Credentials come only from the Airflow connection ``wasb_conn_id``
        (conn_type ``wasb``: connection string, account key, SAS, or a service
        principal), defined wherever the pipeline runs and where this client
        runs (e.g. ``AIRFLOW_CONN_<ID>``). Passing ``account_key`` or
        ``sas_token`` is refused: they would have to be stored with the
        workspace. Unless ``skip_validation``, the container is checked (and
        created with ``create_if_not_exists``).
        """
        check_datastore_name(datastore_name, field="datastore_name")
        if account_key or sas_token:
            raise DatastoreException(
                f"datastore {datastore_name!r}: account_key/sas_token are secrets and airflow-aml "
                "keeps secrets only in Airflow connections; create a 'wasb' connection holding "
                f"them (e.g. AIRFLOW_CONN_{datastore_name.upper()}) and pass "
                f"wasb_conn_id='{datastore_name}' instead"
            )
        if not container_name or not str(container_name).strip():
            raise DatastoreException(f"datastore {datastore_name!r}: container_name is empty")
        definition = {
            "type": "azure_blob",
            "container_name": container_name,
            "account_name": account_name,
            "wasb_conn_id": wasb_conn_id,
        }
        if endpoint:
            definition["endpoint"] = endpoint
        if protocol:
            definition["protocol"] = protocol
        if not skip_validation:
            objects = store_for_datastore(datastore_name, definition)
            if create_if_not_exists:
                objects.create_container()  # type: ignore[attr-defined]
            objects.list(".aml-validate")  # fails clearly if unreachable or missing
        with workspace._datastore_doc.update() as doc:
            stores = doc.setdefault("datastores", {})
            if datastore_name in stores and not overwrite and stores[datastore_name] != definition:
                raise DatastoreException(
                    f"datastore {datastore_name!r} already exists; pass overwrite=True"
                )
            stores[datastore_name] = definition
        store = Datastore.get(workspace, datastore_name)
        assert isinstance(store, AzureBlobDatastore)
        return store

    @staticmethod
    def register_azure_file_share(
        workspace: Workspace, datastore_name: str, *a: Any, **k: Any
    ) -> Any:
        """Not supported: Azure Files has no equivalent here yet (use an Azure Blob container)."""
        raise NotSupportedError(
            f"datastore {datastore_name!r}: Azure File shares are not supported by airflow-aml; "
            "register an Azure Blob container (register_azure_blob_container) or a local folder"
        )

    @staticmethod
    def register_azure_data_lake_gen2(
        workspace: Workspace, datastore_name: str, *a: Any, **k: Any
    ) -> Any:
        """Not supported yet: use an Azure Blob container (ADLS Gen2 accounts serve blob too)."""
        raise NotSupportedError(
            f"datastore {datastore_name!r}: ADLS Gen2 datastores are not supported by airflow-aml "
            "yet; register the account's container with register_azure_blob_container"
        )

    @staticmethod
    def register_dbfs(workspace: Workspace, datastore_name: str, *a: Any, **k: Any) -> Any:
        """Not supported yet (DBFS datastores come with Databricks steps)."""
        raise NotSupportedError(
            f"datastore {datastore_name!r}: DBFS datastores are not supported by airflow-aml yet"
        )

    def set_as_default(self) -> None:
        """Make this datastore the workspace default."""
        self.workspace.set_default_datastore(self.name)

    def unregister(self) -> None:
        """Remove this datastore's registration (its data is kept)."""
        with self.workspace._datastore_doc.update() as doc:
            if doc.get("default") == self.name:
                raise DatastoreException(
                    f"datastore {self.name!r} is the default; set another default first"
                )
            doc.get("datastores", {}).pop(self.name, None)

    def _definition(self) -> dict[str, Any]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Datastore)
            and other.name == self.name
            and other._definition() == self._definition()
        )

    def __hash__(self) -> int:
        return hash(self.name)

    # ------------------------------------------------------------- data moves
    def _objects(self) -> ObjectStore:
        """The object store holding this datastore's data."""
        raise NotImplementedError

    def upload(
        self,
        src_dir: str,
        target_path: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> DataReference:
        """Upload every file under ``src_dir`` to ``target_path``.

        Existing files are kept unless ``overwrite`` (v1 semantics). Returns a
        :class:`DataReference` to ``target_path``.
        """
        src = Path(src_dir)
        if not src.is_dir():
            raise DatastoreException(f"upload: source folder {src_dir!r} does not exist")
        files = [p for p in sorted(src.rglob("*")) if p.is_file()]
        return self.upload_files(
            [str(p) for p in files],
            relative_root=str(src),
            target_path=target_path,
            overwrite=overwrite,
            show_progress=show_progress,
        )

    def upload_files(
        self,
        files: Iterable[str],
        relative_root: str | None = None,
        target_path: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> DataReference:
        """Upload ``files``, keeping their paths relative to ``relative_root``.

        ``relative_root`` defaults to the files' common folder. Returns a
        :class:`DataReference` to ``target_path``.
        """
        paths = [Path(f).resolve() for f in files]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise DatastoreException(f"upload_files: no such file(s): {missing}")
        target = safe_relative_path(target_path, field="target_path")
        if relative_root is None:
            root = Path(os.path.commonpath([str(p.parent) for p in paths])) if paths else Path(".")
        else:
            root = Path(relative_root).resolve()
        objects = self._objects()
        count = 0
        for p in paths:
            try:
                rel = p.relative_to(root)
            except ValueError as exc:
                raise DatastoreException(
                    f"upload_files: {p} is not under relative_root {root}"
                ) from exc
            key = "/".join(x for x in (target, rel.as_posix()) if x)
            if not overwrite and objects.exists(key):
                if show_progress:
                    print(f"Skipping {rel}: already exists on {self.name} (overwrite=False)")
                continue
            objects.upload_file(p, key)
            count += 1
            if show_progress:
                print(f"Uploaded {rel} to {self.name}/{target}")
        if show_progress:
            print(f"Uploaded {count} file(s)")
        return DataReference(self, path_on_datastore=target or None)

    def download(
        self,
        target_path: str,
        prefix: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> int:
        """Download files under ``prefix`` into ``target_path`` (keeping their paths).

        ``prefix`` is a prefix of file paths, as blob names are in SDK v1.
        Returns the number of files downloaded; existing local files are kept
        unless ``overwrite``.
        """
        rel_prefix = safe_relative_path(prefix, field="prefix")
        root = Path(target_path)
        blocked = next((p for p in (root, *root.parents) if p.exists()), None)
        if blocked is not None and not blocked.is_dir():
            where = "is" if blocked == root else f"is under {str(blocked)!r}, which is"
            raise DatastoreException(
                f"download: target_path {str(root)!r} {where} an existing file, not a folder; "
                "give a folder (it is created if missing)"
            )
        count = 0
        objects = self._objects()
        for obj in objects.list(rel_prefix):
            dest = root / obj.key
            if dest.exists() and not overwrite and not dest.is_dir():
                continue
            try:
                objects.download_file(obj.key, dest)
            except (NotADirectoryError, FileExistsError, IsADirectoryError) as exc:
                raise DatastoreException(
                    f"download: cannot write {obj.key!r} of datastore {self.name!r} to "
                    f"{str(dest)!r}: {_in_the_way(root, dest)}"
                ) from exc
            count += 1
        if show_progress:
            print(f"Downloaded {count} file(s) from {self.name}/{rel_prefix}")
        return count

    # ------------------------------------------------------ references
    def path(
        self, path: str | None = None, data_reference_name: str | None = None
    ) -> DataReference:
        """Return a :class:`DataReference` to ``path`` on this datastore."""
        return DataReference(self, data_reference_name=data_reference_name, path_on_datastore=path)

    def as_mount(self) -> DataReference:
        """A reference to the datastore root, mounted."""
        return self.path().as_mount()

    def as_download(self, path_on_compute: str | None = None) -> DataReference:
        """A reference to the datastore root, downloaded."""
        return self.path().as_download(path_on_compute=path_on_compute)

    def as_upload(self, path_on_compute: str | None = None) -> DataReference:
        """A reference to the datastore root, uploaded after the step."""
        return self.path().as_upload(path_on_compute=path_on_compute)


def _in_the_way(root: Path, dest: Path) -> str:
    """What local path stands where ``dest`` (under ``root``) should be written."""
    if dest.is_dir():
        return f"{str(dest)!r} is an existing folder"
    for parent in [*reversed(dest.relative_to(root).parents), Path(dest.relative_to(root))]:
        where = root / parent
        if where != dest and where.exists() and not where.is_dir():
            return f"{str(where)!r} is an existing file, not a folder"
    return "a local path is in the way"


class LocalDatastore(Datastore):
    """A datastore that is a folder on the local (or a shared) file system."""

    datastore_type = "LocalFolder"

    def _setup(self, workspace: Workspace, name: str, root: Path) -> None:
        self.workspace = workspace
        self.name = name
        self.root = root
        self._initialised = True

    def _definition(self) -> dict[str, Any]:
        return {"type": "local", "root": str(self.root)}

    def _objects(self) -> ObjectStore:
        return FolderStore(self.root)


class AzureBlobDatastore(Datastore):
    """An Azure Blob container (Azure, or Azurite), reached through an Airflow connection."""

    datastore_type = "AzureBlob"

    def _setup(self, workspace: Workspace, name: str, definition: dict[str, Any]) -> None:
        self.workspace = workspace
        self.name = name
        self.container_name: str = definition["container_name"]
        self.account_name: str = definition.get("account_name", "")
        self.wasb_conn_id: str = definition["wasb_conn_id"]
        self.endpoint: str | None = definition.get("endpoint")
        self.protocol: str | None = definition.get("protocol")
        self._def = dict(definition)
        self._initialised = True

    def _definition(self) -> dict[str, Any]:
        return dict(self._def)

    def _objects(self) -> ObjectStore:
        return store_for_datastore(self.name, self._def)
