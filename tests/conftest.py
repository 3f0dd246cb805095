"""Test set-up: one embedded workspace home per test session.

The home (and its Airflow home) is created before anything imports Airflow,
so in-process Airflow use in tests and the runner processes share it.

Every temporary file of the session (pytest's ``tmp_path``, the home,
whatever the library, Airflow and the processes started by the tests put in
``$TMPDIR``) lands in one folder, removed when the session ends (after the
warm runner processes are stopped). ``AIRFLOW_AML_KEEP_TEST_TMP=1`` keeps it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

# First of all, before anything creates a temporary file: one folder for the session.
_SESSION_TMP = Path(tempfile.mkdtemp(prefix="aml-tests-")).resolve()
# Traversable by others (not listable): the deployed tier's PostgreSQL runs as
# another user in a folder of its own below this one.
os.chmod(_SESSION_TMP, 0o711)
os.environ["TMPDIR"] = str(_SESSION_TMP)
tempfile.tempdir = str(_SESSION_TMP)

import httpx  # noqa: E402
import pytest  # noqa: E402

_HOME = Path(tempfile.mkdtemp(prefix="aml-test-home-"))
os.environ["AIRFLOW_AML_HOME"] = str(_HOME)
os.environ.pop("AIRFLOW_AML_REGISTRY", None)
os.environ.pop("AIRFLOW_AML_CACHE", None)
os.environ["AIRFLOW__AML__CACHE_DIR"] = str(_HOME / "cache")

from airflow_aml.backends.airflow_home import prepare_home  # noqa: E402

prepare_home(_HOME / "airflow")
os.environ["AIRFLOW_HOME"] = str(_HOME / "airflow")
os.environ["AIRFLOW_CONFIG"] = str(_HOME / "airflow" / "airflow.cfg")
os.environ["AIRFLOW__AML__REGISTRY"] = str(_HOME / "registry")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _stop_runners() -> None:
    """Stop the warm runner processes of every home this session used."""
    from airflow_aml.backends.runner_pool import RunnerPool

    registries = {Path(root).parent for root in RunnerPool._spawned}
    registries.add(_HOME / "registry")
    for registry in registries:
        RunnerPool(registry).stop_all()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the session's temporary folder (after pytest's own tmp_path clean-up)."""
    try:
        _stop_runners()
    finally:
        if os.environ.get("AIRFLOW_AML_KEEP_TEST_TMP"):
            print(f"\ntest temporary files kept in {_SESSION_TMP}")
        else:
            shutil.rmtree(_SESSION_TMP, ignore_errors=True)


@pytest.fixture(scope="session")
def ws():
    """The session's embedded workspace (its warm runners are stopped at the end)."""
    from airflow_aml.core import Workspace

    workspace = Workspace.from_config(path=str(_HOME))
    yield workspace
    workspace._backend.shutdown()


@pytest.fixture
def make_source(tmp_path: Path) -> Callable[..., Path]:
    """Create a source folder with the given ``{relative path: code}`` files."""

    def make(files: dict[str, str], name: str = "src") -> Path:
        root = tmp_path / name
        for rel, code in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(code), encoding="utf-8")
        root.mkdir(parents=True, exist_ok=True)
        return root

    return make


@pytest.fixture
def experiment_name(request: pytest.FixtureRequest) -> str:
    """A unique experiment name per test."""
    import re
    import uuid

    base = re.sub(r"[^A-Za-z0-9_-]", "_", request.node.name)[:60]
    return f"{base}-{uuid.uuid4().hex[:6]}"


@dataclass
class UiServer:
    base: str
    token: str
    log: Path

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def ui_server(ws, tmp_path_factory) -> Iterator[UiServer]:
    """``airflow-aml ui`` on a free port; yields its URL and an admin token."""
    port = _free_port()
    log = tmp_path_factory.mktemp("ui") / "ui.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "airflow_aml.cli",
                "--home",
                str(ws.home),
                "ui",
                "--port",
                str(port),
            ],
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=dict(os.environ),
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"{base}/api/v2/monitor/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "api-server did not come up"
            time.sleep(0.5)
        from airflow_aml.backends.airflow_home import admin_password

        password = admin_password(ws.airflow_home)
        assert password, "the api-server did not generate the admin password"
        resp = httpx.post(
            f"{base}/auth/token", json={"username": "admin", "password": password}, timeout=10
        )
        assert resp.status_code in (200, 201), resp.text
        yield UiServer(base, resp.json()["access_token"], log)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


# Azurite: a real Azure Blob emulator (tests/azurite.py), installed by scripts/bootstrap.sh.
from tests.azurite import AzuriteBlob, start_azurite  # noqa: E402

#: Fixtures that start or use Azurite (``deployed_airflow``: tests/deployed/conftest.py).
AZURITE_FIXTURES = frozenset({"azurite_blob", "blob_container", "deployed_airflow"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses an Azurite fixture belongs to the ``azurite`` tier.

    ``fixturenames`` holds the fixtures a test needs, directly or through other
    fixtures. A fixture that asks for Azurite only for some of its params (through
    ``request.getfixturevalue``) marks those params itself:
    ``pytest.param("blob", marks=pytest.mark.azurite)``; :func:`blob_container`
    fails a test that reaches Azurite without the marker.
    """
    for item in items:
        if AZURITE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.azurite)


@pytest.fixture(scope="session")
def azurite_blob(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteBlob]:
    """One Azurite blob service on 127.0.0.1 for the session; stopped at the end."""
    blob = start_azurite(tmp_path_factory.mktemp("azurite"))
    try:
        yield blob
    finally:
        blob.stop()


@pytest.fixture
def blob_container(
    azurite_blob: AzuriteBlob, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> str:
    """A fresh, empty container in the session's Azurite; returns its name.

    Also sets the Airflow connection ``aml_blob`` (env ``AIRFLOW_CONN_AML_BLOB``)
    to that Azurite for the test.
    """
    import uuid

    if request.node.get_closest_marker("azurite") is None:
        pytest.fail(
            f"{request.node.nodeid} uses Azurite but is not marked 'azurite' (the unit tier "
            '-m "not e2e and not deployed and not azurite" would need Node.js): give its '
            "param pytest.param(..., marks=pytest.mark.azurite)"
        )
    name = f"t-{uuid.uuid4().hex[:12]}"
    azurite_blob.create_container(name)
    monkeypatch.setenv("AIRFLOW_CONN_AML_BLOB", azurite_blob.conn_json())
    return name


@pytest.fixture(scope="session")
def dead_owner() -> dict[str, object]:
    """The owner fields (``airflow_aml._processes.this_process()``) of a process that has
    ended on this machine: what a claim or work folder of a killed process names."""
    import json

    out = subprocess.run(  # noqa: S603 - fixed argument list
        [
            sys.executable,
            "-c",
            "import json; from airflow_aml._processes import this_process; "
            "print(json.dumps(this_process()))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)
