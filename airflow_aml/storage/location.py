"""Open an object store from a location string or a datastore definition.

Locations are local paths, or ``wasb://<conn_id>@<container>/<prefix>`` for
Azure Blob (the connection id in the user part, as in Airflow's
``ObjectStoragePath``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from airflow_aml.exceptions import DatastoreException
from airflow_aml.storage.base import ObjectStore
from airflow_aml.storage.folder import FolderStore

__all__ = ["open_location", "store_for_datastore", "is_remote_location", "BLOB_SCHEMES"]

BLOB_SCHEMES = ("wasb", "wasbs")


def is_remote_location(location: str) -> bool:
    """Whether ``location`` names a remote store (not a local folder)."""
    return urlsplit(str(location)).scheme in BLOB_SCHEMES


def _blob_store(conn_id: str, container: str, prefix: str) -> ObjectStore:
    """A :class:`~airflow_aml.storage.blob.BlobStore`. Its module (tenacity, the Azure provider
    on first use) is imported only here: the object model imports this module."""
    from airflow_aml.storage.blob import BlobStore  # lazy: keeps import airflow_aml.core fast

    return BlobStore(conn_id, container, prefix)


def open_location(location: str | Path) -> ObjectStore:
    """The store at ``location`` (a folder path or a ``wasb://`` URL)."""
    text = str(location)
    parts = urlsplit(text)
    if parts.scheme in BLOB_SCHEMES:
        conn_id, _, container = parts.netloc.rpartition("@")
        if not conn_id or not container:
            raise DatastoreException(
                f"blob location {text!r} must look like wasb://<conn_id>@<container>/<prefix>"
            )
        return _blob_store(conn_id, container, parts.path)
    if parts.scheme and len(parts.scheme) > 1:
        raise DatastoreException(
            f"unsupported location {text!r}: use a folder path or wasb://<conn_id>@<container>/..."
        )
    return FolderStore(Path(text).expanduser())


def store_for_datastore(name: str, definition: dict[str, Any]) -> ObjectStore:
    """The object store behind a registered datastore's (secret-free) definition."""
    kind = definition.get("type")
    if kind == "local":
        return FolderStore(Path(definition["root"]))
    if kind == "azure_blob":
        lacking = [k for k in ("container_name", "wasb_conn_id") if not definition.get(k)]
        if lacking:
            raise DatastoreException(
                f"datastore {name!r} (Azure Blob) is missing {', '.join(lacking)} in its definition"
            )

        return _blob_store(
            definition["wasb_conn_id"], definition["container_name"], definition.get("prefix", "")
        )
    raise DatastoreException(f"datastore {name!r} has unknown type {kind!r}")
