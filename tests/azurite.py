"""A real Azure Blob emulator for the tests: Azurite, installed from npm.

``scripts/bootstrap.sh`` installs the pinned Azurite (``tools/azurite``);
:func:`start_azurite` runs its blob service alone, on 127.0.0.1 and a free port,
in its own process group, keeping its data and log under a given directory.
``AIRFLOW_AML_AZURITE_BIN`` names another ``azurite-blob`` executable (e.g. a
path that does not exist, to check that the unit tier needs no Azurite).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
AZURITE_BLOB = Path(
    os.environ.get("AIRFLOW_AML_AZURITE_BIN")
    or REPO / "tools" / "azurite" / "node_modules" / ".bin" / "azurite-blob"
)

HOST = "127.0.0.1"
ACCOUNT = "devstoreaccount1"
# Azurite's well-known development account key: public and documented
# (https://learn.microsoft.com/azure/storage/common/storage-use-azurite), not a secret.
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


@dataclass
class AzuriteBlob:
    """A running Azurite blob service (see :func:`start_azurite`)."""

    port: int
    endpoint: str
    connection_string: str
    process: subprocess.Popen[bytes]
    log: Path

    def conn_json(self) -> str:
        """The Airflow connection (wasb) as JSON, e.g. for ``AIRFLOW_CONN_<ID>``."""
        return json.dumps(
            {"conn_type": "wasb", "extra": {"connection_string": self.connection_string}}
        )

    def create_container(self, name: str) -> None:
        from azure.storage.blob import BlobServiceClient

        with BlobServiceClient.from_connection_string(self.connection_string) as client:
            client.create_container(name)

    def stop(self) -> None:
        """SIGTERM the process group; SIGKILL it if still running after 10 s."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_TIMEOUT)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False


def start_azurite(data_dir: Path) -> AzuriteBlob:
    """Start Azurite's blob service on 127.0.0.1 and a free port; data and log in ``data_dir``.

    Returns once the port accepts connections (at most 30 s). Raises
    :class:`RuntimeError` if Azurite is not installed or does not come up.
    """
    if not os.access(AZURITE_BLOB, os.X_OK):
        raise RuntimeError(
            f"Azurite is not installed ({AZURITE_BLOB} is missing); "
            "run ./scripts/bootstrap.sh (it runs npm ci in tools/azurite)"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    log = data_dir / "azurite.log"
    cmd = [
        str(AZURITE_BLOB),
        "--blobHost",
        HOST,
        "--blobPort",
        str(port),
        "--location",
        str(data_dir),
        "--skipApiVersionCheck",
        "--loose",
        "--silent",
        # No usage telemetry from test runs (Azurite collects it by default).
        "--disableTelemetry",
        # --debug (a debug-log path) is deliberately not passed: debug log off.
    ]
    with open(log, "ab") as fh:
        process = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=fh,
            stderr=subprocess.STDOUT,
            cwd=data_dir,
            start_new_session=True,
        )
    endpoint = f"http://{HOST}:{port}/{ACCOUNT}"
    blob = AzuriteBlob(
        port=port,
        endpoint=endpoint,
        connection_string=(
            "DefaultEndpointsProtocol=http;"
            f"AccountName={ACCOUNT};"
            f"AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={endpoint};"
        ),
        process=process,
        log=log,
    )
    deadline = time.monotonic() + START_TIMEOUT
    while not _accepts(port):
        if process.poll() is not None:
            raise RuntimeError(
                f"Azurite exited with code {process.returncode} before listening on "
                f"{HOST}:{port}; log {log}:\n{log.read_text(errors='replace')[-3000:]}"
            )
        if time.monotonic() > deadline:
            blob.stop()
            raise RuntimeError(
                f"Azurite did not listen on {HOST}:{port} within {START_TIMEOUT:.0f} s; "
                f"log {log}:\n{log.read_text(errors='replace')[-3000:]}"
            )
        time.sleep(0.1)
    return blob
