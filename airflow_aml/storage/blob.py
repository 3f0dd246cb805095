"""An Azure Blob container (or a prefix of one) as an object store.

Credentials come only from the Airflow connection named by ``conn_id``
(a ``wasb`` connection: connection string, account key, SAS or service
principal, whatever :class:`~airflow.providers.microsoft.azure.hooks.wasb.WasbHook`
accepts); the library never sees them otherwise. Exclusive creates use
``If-None-Match: *``, conditional deletes ``If-Match``, and locks are blob
leases (60 s, so a crashed holder never blocks others for long).
"""

from __future__ import annotations

import base64
import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tenacity import RetryError, Retrying, retry_if_exception, stop_after_delay, wait_exponential

from airflow_aml.exceptions import DatastoreException
from airflow_aml.storage.base import ObjectInfo, ObjectStore, join_key

__all__ = ["BlobStore"]

_LOCKS = ".aml-locks"
_LEASE_SECONDS = 60
_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()
_NO_PROVIDER = (
    "Azure Blob datastores need the Microsoft Azure provider: pip install 'airflow-aml[azure]'"
)


def _azure() -> Any:
    """The ``azure.core`` package (``MatchConditions``, ``exceptions``), imported on first
    use: the Azure SDK comes with the optional ``[azure]`` extra."""
    try:
        import azure.core.exceptions  # lazy: optional extra [azure]; ~0.15 s to import
    except ImportError:
        raise DatastoreException(_NO_PROVIDER) from None
    return azure.core


def _service_client(conn_id: str) -> Any:
    """One ``BlobServiceClient`` per Airflow connection and process (a connection given
    by an ``AIRFLOW_CONN_<ID>`` variable that changes gets a new client)."""
    key = f"{conn_id}\0{os.environ.get(f'AIRFLOW_CONN_{conn_id.upper()}', '')}"
    with _clients_lock:
        if key not in _clients:
            try:
                from airflow.providers.microsoft.azure.hooks import wasb  # lazy: [azure] + Airflow
            except ImportError:
                raise DatastoreException(_NO_PROVIDER) from None
            try:
                _clients[key] = wasb.WasbHook(wasb_conn_id=conn_id).get_conn()
            except Exception as exc:  # unknown connection, bad extras, ...
                raise DatastoreException(
                    f"cannot connect to Azure Blob through Airflow connection {conn_id!r}: "
                    f"{type(exc).__name__}: {exc}. Define the connection (conn_type 'wasb', "
                    f"e.g. AIRFLOW_CONN_{conn_id.upper()}) where this code runs"
                ) from None
        return _clients[key]


class BlobStore(ObjectStore):
    """Objects as blobs of ``container`` under ``prefix``, reached through ``conn_id``."""

    def __init__(self, conn_id: str, container: str, prefix: str = ""):
        self.conn_id = conn_id
        self.container = container
        self.prefix = join_key(prefix)
        self.url = f"wasb://{conn_id}@{container}/{self.prefix}".rstrip("/")
        self._list_options: dict[str, Any] = {}

    # ---------------------------------------------------------------- plumbing
    @property
    def _container(self) -> Any:
        return _service_client(self.conn_id).get_container_client(self.container)

    def _name(self, key: str) -> str:
        return join_key(self.prefix, key)

    def _blob(self, key: str) -> Any:
        return self._container.get_blob_client(self._name(key))

    def _fail(self, exc: Exception, what: str) -> DatastoreException:
        missing = _azure().exceptions.ResourceNotFoundError
        if isinstance(exc, missing) and "ContainerNotFound" in str(exc):
            return DatastoreException(
                f"container {self.container!r} does not exist (connection {self.conn_id!r}); "
                "register the datastore with create_if_not_exists=True or create it"
            )
        return DatastoreException(f"{what} on {self.url} failed: {type(exc).__name__}: {exc}")

    def fail_fast(self) -> BlobStore:
        quick = BlobStore(self.conn_id, self.container, self.prefix)
        quick._list_options = {"retry_total": 0}  # Azure Storage backs off 15 s+ per retry
        return quick

    def child(self, prefix: str) -> BlobStore:
        return BlobStore(self.conn_id, self.container, join_key(self.prefix, prefix))

    def create_container(self) -> None:
        """Create the container if it does not exist."""
        with contextlib.suppress(_azure().exceptions.ResourceExistsError):
            self._container.create_container()

    # ----------------------------------------------------------------- objects
    def read_bytes(self, key: str) -> bytes | None:
        errors = _azure().exceptions
        try:
            return bytes(self._blob(key).download_blob().readall())
        except errors.ResourceNotFoundError as exc:
            if "ContainerNotFound" in str(exc):
                raise self._fail(exc, f"read {key}") from None
            return None

    def write_bytes(self, key: str, data: bytes, *, if_absent: bool = False) -> bool:
        errors = _azure().exceptions
        try:
            self._blob(key).upload_blob(data, overwrite=not if_absent)
        except errors.ResourceExistsError:
            if if_absent:
                return False
            raise
        except errors.AzureError as exc:
            raise self._fail(exc, f"write {key}") from None
        return True

    def info(self, key: str) -> ObjectInfo | None:
        errors = _azure().exceptions
        try:
            props = self._blob(key).get_blob_properties()
        except errors.ResourceNotFoundError:
            return None
        return _info(key, props)

    def delete(self, key: str, *, if_etag: str | None = None) -> bool:
        azure = _azure()
        kwargs: dict[str, Any] = {}
        if if_etag is not None:
            kwargs = {"etag": if_etag, "match_condition": azure.MatchConditions.IfNotModified}
        try:
            self._blob(key).delete_blob(**kwargs)
        except (azure.exceptions.ResourceNotFoundError, azure.exceptions.ResourceModifiedError):
            return False
        return True

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        errors = _azure().exceptions
        start = self._name(prefix) + ("/" if prefix.endswith("/") else "")
        if self.prefix and not prefix:
            start = self.prefix + "/"
        cut = len(self.prefix) + 1 if self.prefix else 0
        try:
            blobs = list(
                self._container.list_blobs(name_starts_with=start or None, **self._list_options)
            )
        except errors.AzureError as exc:
            raise self._fail(exc, "list") from None
        # Lock blobs of this store and of its child stores (``<any>/.aml-locks/``) are
        # not objects, as in FolderStore, which skips every ``.aml-locks`` folder.
        found = [_info(b.name[cut:], b) for b in blobs if _LOCKS not in b.name[cut:].split("/")]
        return sorted(found, key=lambda o: o.key)

    def touch(self, key: str) -> bool:
        errors = _azure().exceptions
        try:
            self._blob(key).set_blob_metadata({"heartbeat": f"{time.time():.3f}"})
        except errors.ResourceNotFoundError:
            return False
        return True

    def upload_file(self, local: Path, key: str) -> None:
        errors = _azure().exceptions
        try:
            with open(local, "rb") as fh:
                self._blob(key).upload_blob(fh, overwrite=True)
        except errors.AzureError as exc:
            raise self._fail(exc, f"upload {key}") from None

    def download_file(self, key: str, local: Path) -> None:
        errors = _azure().exceptions
        local.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{local.name}.", dir=local.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                self._blob(key).download_blob().readinto(fh)
            os.replace(tmp, local)
        except errors.AzureError as exc:
            raise self._fail(exc, f"download {key}") from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    @contextlib.contextmanager
    def lock(self, key: str, timeout: float = 120.0) -> Iterator[None]:
        errors = _azure().exceptions
        blob = self._blob(join_key(_LOCKS, key.replace("/", "%")))
        with contextlib.suppress(errors.ResourceExistsError):
            blob.upload_blob(b"", overwrite=False)
        held = retry_if_exception(
            lambda exc: isinstance(exc, errors.HttpResponseError) and exc.status_code == 409
        )
        try:  # another holder: try again, with pauses from 0.05 s to 0.5 s, until timeout
            lease = Retrying(
                retry=held, wait=wait_exponential(0.05, max=0.5), stop=stop_after_delay(timeout)
            )(blob.acquire_lease, lease_duration=_LEASE_SECONDS)
        except (errors.HttpResponseError, RetryError) as exc:
            cause = exc.last_attempt.exception() if isinstance(exc, RetryError) else exc
            raise DatastoreException(f"cannot lock {key} on {self.url}: {cause}") from None
        try:
            yield
        finally:
            with contextlib.suppress(errors.HttpResponseError):
                lease.release()


def _info(key: str, props: Any) -> ObjectInfo:
    md5 = props.content_settings.content_md5 if props.content_settings else None
    return ObjectInfo(
        key=key,
        size=int(props.size or 0),
        etag=str(props.etag),
        modified=props.last_modified.timestamp() if props.last_modified else 0.0,
        md5=base64.b64encode(bytes(md5)).decode() if md5 else "",
    )
