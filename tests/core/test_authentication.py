"""azureml.core.authentication: bearer headers for the workspace's Airflow API."""

from __future__ import annotations

import base64
import json
import socket
import time

import httpx
import pytest

from airflow_aml.core import Workspace
from airflow_aml.core.authentication import (
    AccessToken,
    AzureCliAuthentication,
    InteractiveLoginAuthentication,
    MsiAuthentication,
    ServicePrincipalAuthentication,
)
from airflow_aml.exceptions import AuthenticationException, WorkspaceException

ENV = ("AIRFLOW_AML_API_TOKEN", "AIRFLOW_AML_API_USERNAME", "AIRFLOW_AML_API_PASSWORD")


@pytest.fixture
def no_env(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _jwt(exp: int) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part({'sub': 'admin', 'exp': exp})}.sig"


@pytest.mark.parametrize(
    "make",
    [
        InteractiveLoginAuthentication,
        AzureCliAuthentication,
        MsiAuthentication,
        lambda: ServicePrincipalAuthentication("tenant", "user", "secret"),
    ],
)
def test_env_token_is_the_header(tmp_path, monkeypatch, make):
    exp = int(time.time()) + 3600
    token = _jwt(exp)
    monkeypatch.setenv("AIRFLOW_AML_API_TOKEN", token)
    auth = make()
    Workspace(home=tmp_path / "ws", api_url="http://127.0.0.1:9", auth=auth)
    assert auth.get_authentication_header() == {"Authorization": f"Bearer {token}"}
    assert auth.get_token() == AccessToken(token, exp)


def test_workspace_binds_the_auth_object(tmp_path, no_env):
    auth = InteractiveLoginAuthentication()
    ws = Workspace(home=tmp_path / "a", auth=auth)
    assert auth._workspace is ws
    cfg = tmp_path / "proj" / ".azureml" / "config.json"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(json.dumps({"workspace_name": "w", "home": str(tmp_path / "b")}))
    other = Workspace.from_config(path=str(cfg.parent.parent), auth=auth)
    assert auth._workspace is other and other._auth is auth


def test_missing_credentials_for_a_deployed_workspace(tmp_path, no_env):
    auth = InteractiveLoginAuthentication()
    Workspace(home=tmp_path / "ws", api_url="http://127.0.0.1:9", auth=auth)
    with pytest.raises(AuthenticationException) as info:
        auth.get_authentication_header()
    message = str(info.value)
    assert "AIRFLOW_AML_API_TOKEN" in message and "AIRFLOW_AML_API_USERNAME" in message
    assert "http://127.0.0.1:9" in message
    assert isinstance(info.value, WorkspaceException)  # the workspace's API is not usable


def test_embedded_workspace_whose_ui_never_ran(tmp_path, no_env):
    auth = AzureCliAuthentication()
    Workspace(home=tmp_path / "ws", auth=auth)
    with pytest.raises(AuthenticationException, match="start it with `airflow-aml ui`"):
        auth.get_authentication_header()


def test_unreachable_server_is_a_clear_error(tmp_path, no_env):
    url = f"http://127.0.0.1:{_free_port()}"
    auth = ServicePrincipalAuthentication("tenant", "admin", "pw")
    Workspace(home=tmp_path / "ws", api_url=url, auth=auth)
    with pytest.raises(AuthenticationException, match=f"cannot reach the Airflow API at {url}"):
        auth.get_authentication_header()


def test_service_principal_needs_id_and_password():
    with pytest.raises(AuthenticationException, match="service_principal_password"):
        ServicePrincipalAuthentication("tenant", "admin", "")


def test_unbound_object_uses_the_config_workspace(tmp_path, monkeypatch, no_env):
    cfg = tmp_path / ".azureml" / "config.json"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(
        json.dumps({"home": str(tmp_path / "h"), "airflow": {"api_url": "http://127.0.0.1:9"}})
    )
    monkeypatch.chdir(tmp_path)
    auth = InteractiveLoginAuthentication()
    with pytest.raises(AuthenticationException, match="http://127.0.0.1:9"):
        auth.get_authentication_header()
    assert auth._workspace is not None and auth._workspace.api_url == "http://127.0.0.1:9"


# ---------------------------------------------------------------- real server
@pytest.mark.e2e
def test_header_from_embedded_admin_reaches_airflow(ws, ui_server, monkeypatch, no_env):
    """An embedded workspace served by ``airflow-aml ui``: the generated admin password."""
    monkeypatch.setattr(Workspace, "api_url", property(lambda self: ui_server.base))
    auth = InteractiveLoginAuthentication()
    embedded = Workspace(home=ws.home, auth=auth)
    assert embedded.mode == "embedded"
    headers = auth.get_authentication_header()
    assert headers["Authorization"].startswith("Bearer ")
    resp = httpx.get(f"{ui_server.base}/api/v2/dags", headers=headers, timeout=30)
    assert resp.status_code == 200, resp.text
    assert "dags" in resp.json()
    assert auth.get_authentication_header() == headers  # kept until it expires
    assert httpx.get(f"{ui_server.base}/api/v2/dags", timeout=30).status_code == 401


@pytest.mark.e2e
def test_service_principal_login_on_a_deployed_workspace(ws, ui_server, tmp_path, no_env):
    """service_principal_id/password are the Airflow user; the deployed client uses them."""
    from airflow_aml.backends.airflow_home import admin_password
    from airflow_aml.backends.deployed import DeployedBackend

    password = admin_password(ws.airflow_home)
    assert password
    auth = ServicePrincipalAuthentication("tenant", "admin", password)
    deployed = Workspace(home=tmp_path / "client", api_url=ui_server.base, auth=auth)
    assert deployed.mode == "deployed"
    headers = auth.get_authentication_header()
    resp = httpx.get(f"{ui_server.base}/api/v2/dags", headers=headers, timeout=30)
    assert resp.status_code == 200, resp.text

    client = DeployedBackend(deployed, ui_server.base).client
    assert client.call(client.dags.get_dags).total_entries >= 0  # the client logged in

    wrong = ServicePrincipalAuthentication("tenant", "admin", "not-the-password")
    Workspace(home=tmp_path / "client2", api_url=ui_server.base, auth=wrong)
    with pytest.raises(AuthenticationException, match="refused the login of 'admin'"):
        wrong.get_authentication_header()
