"""The Azurite fixtures (tests/azurite.py): a real blob service on 127.0.0.1."""

from __future__ import annotations

import psutil
from azure.storage.blob import BlobServiceClient

from tests.azurite import AzuriteBlob


def test_upload_and_download_blob(azurite_blob: AzuriteBlob, blob_container: str) -> None:
    data = b"hello azurite\n" * 1000
    with BlobServiceClient.from_connection_string(azurite_blob.connection_string) as service:
        container = service.get_container_client(blob_container)
        container.upload_blob("dir/hello.txt", data)
        assert [b.name for b in container.list_blobs()] == ["dir/hello.txt"]
        assert container.download_blob("dir/hello.txt").readall() == data


def test_listens_only_on_loopback(azurite_blob: AzuriteBlob) -> None:
    proc = psutil.Process(azurite_blob.process.pid)
    procs = [proc, *proc.children(recursive=True)]
    listening = [
        c.laddr
        for p in procs
        for c in p.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    ]
    assert listening, "Azurite has no listening socket"
    assert {(a.ip, a.port) for a in listening} == {("127.0.0.1", azurite_blob.port)}


def test_wasb_hook_uses_the_env_connection(blob_container: str) -> None:
    from airflow.providers.microsoft.azure.hooks.wasb import WasbHook

    service = WasbHook(wasb_conn_id="aml_blob").get_conn()
    names = [c.name for c in service.list_containers()]
    assert blob_container in names
    container = service.get_container_client(blob_container)
    container.upload_blob("via-hook.txt", b"x")
    assert [b.name for b in container.list_blobs()] == ["via-hook.txt"]
