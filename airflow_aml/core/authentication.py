"""Authentication to the workspace's Airflow API (SDK v1 ``azureml.core.authentication``).

SDK v1 REST notebooks do::

    auth = InteractiveLoginAuthentication()
    headers = auth.get_authentication_header()
    requests.post(published_pipeline.endpoint, headers=headers, json={...})

Here the header carries a JWT of the workspace's Airflow API server. The
token comes from, in this order:

1. ``$AIRFLOW_AML_API_TOKEN``;
2. a username and password exchanged at ``<api_url>/auth/token``:
   ``ServicePrincipalAuthentication``'s ``service_principal_id`` /
   ``service_principal_password`` (the Airflow user and password), else
   ``$AIRFLOW_AML_API_USERNAME`` / ``$AIRFLOW_AML_API_PASSWORD``, else, for an
   embedded workspace, the local ``admin`` user with the password the
   api-server generated (``airflow-aml ui`` must be running).

The Airflow server is the one of the workspace the object was given to
(``Workspace(..., auth=auth)``, ``Workspace.from_config(auth=auth)``); an
object never given to a workspace uses ``Workspace.from_config()``. Tokens
are kept in memory only, until shortly before they expire.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from airflow_aml.exceptions import AuthenticationException

if TYPE_CHECKING:
    from airflow_aml.core.workspace import Workspace

__all__ = [
    "AbstractAuthentication",
    "AccessToken",
    "InteractiveLoginAuthentication",
    "ServicePrincipalAuthentication",
    "MsiAuthentication",
    "AzureCliAuthentication",
]


class AccessToken(NamedTuple):
    """A token and its expiry (epoch seconds, 0 if unknown), as ``get_token`` returns."""

    token: str
    expires_on: int


class AbstractAuthentication:
    """Base of the authentication classes: a bearer header for the workspace's Airflow API.

    :param cloud: kept for compatibility with SDK v1; not used.
    """

    def __init__(self, cloud: str | None = None):
        self._cloud = cloud
        self._workspace: Workspace | None = None
        self._tokens: dict[tuple[str, str], str] = {}
        self._cache_tokens = True

    # ------------------------------------------------------------- public API
    def get_authentication_header(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <JWT>"}`` for the workspace's Airflow API server."""
        api_url, airflow_home = self._target()
        return self._header_for(api_url, airflow_home)

    def get_token(self, *scopes: Any, **kwargs: Any) -> AccessToken:
        """The bearer token and its expiry (the azure-core ``TokenCredential`` shape)."""
        from airflow_aml.backends.airflow_auth import token_expiry

        token = self.get_authentication_header()["Authorization"].split(" ", 1)[1]
        return AccessToken(token, int(token_expiry(token) or 0))

    # --------------------------------------------------------------- internals
    def _bind(self, workspace: Workspace) -> None:
        """Use ``workspace``'s Airflow (called by ``Workspace(auth=...)``; the last one wins)."""
        self._workspace = workspace

    def _credentials(self) -> tuple[str, str] | None:
        """The username and password to log in with, if this object has its own."""
        from airflow_aml.backends.airflow_auth import env_credentials

        return env_credentials()

    def _target(self) -> tuple[str, Path | None]:
        """The API URL, and the Airflow home if the workspace is embedded."""
        if self._workspace is None:
            from airflow_aml.core.workspace import Workspace

            self._workspace = Workspace.from_config()
        ws = self._workspace
        return ws.api_url, (ws.airflow_home if ws.mode == "embedded" else None)

    def _header_for(self, api_url: str, airflow_home: Path | None = None) -> dict[str, str]:
        """The header for the Airflow API at ``api_url``; ``airflow_home`` names the
        embedded home whose generated ``admin`` password may be used."""
        from airflow_aml.backends import airflow_auth

        token = airflow_auth.env_token()
        if token:
            return {"Authorization": f"Bearer {token}"}
        hint = ""
        creds = self._credentials()
        if airflow_home is not None:
            hint = "; is the workspace's Airflow UI running? start it with `airflow-aml ui`"
            if creds is None:
                creds = ("admin", self._embedded_password(airflow_home))
        if creds is None:
            raise AuthenticationException(
                f"no credentials for the Airflow API at {api_url}: set "
                f"{airflow_auth.TOKEN_ENV}, or {airflow_auth.USERNAME_ENV} and "
                f"{airflow_auth.PASSWORD_ENV}, or use ServicePrincipalAuthentication("
                "tenant_id, <airflow user>, <airflow password>)"
            )
        key = (api_url.rstrip("/"), creds[0])
        cached = self._tokens.get(key) if self._cache_tokens else None
        if cached is None or not airflow_auth.still_valid(cached):
            cached = airflow_auth.login(api_url, *creds, unreachable_hint=hint)
            if self._cache_tokens:
                self._tokens[key] = cached
        return {"Authorization": f"Bearer {cached}"}

    @staticmethod
    def _embedded_password(airflow_home: Path) -> str:
        from airflow_aml.backends.airflow_home import admin_password, passwords_file

        password = admin_password(airflow_home)
        if password is None:
            raise AuthenticationException(
                f"the embedded Airflow API server has not generated the admin password yet "
                f"({passwords_file(airflow_home)} is missing): start it with `airflow-aml ui`"
            )
        return password

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class InteractiveLoginAuthentication(AbstractAuthentication):
    """The v1 default login; here the environment's Airflow credentials (see module doc).

    :param force: kept for compatibility; not used.
    :param tenant_id: kept for compatibility; not used.
    :param cloud: kept for compatibility; not used.
    """

    def __init__(self, force: bool = False, tenant_id: str | None = None, cloud: str | None = None):
        super().__init__(cloud)
        self._force = force
        self._tenant_id = tenant_id


class AzureCliAuthentication(AbstractAuthentication):
    """v1's Azure CLI login; here the environment's Airflow credentials (see module doc).

    :param cloud: kept for compatibility; not used.
    """


class MsiAuthentication(AbstractAuthentication):
    """v1's managed-identity login; here the environment's Airflow credentials (see module doc).

    :param cloud: kept for compatibility; not used.
    """

    def __init__(self, cloud: str | None = None, **kwargs: Any):
        super().__init__(cloud)
        self._identity_config = dict(kwargs)


class ServicePrincipalAuthentication(AbstractAuthentication):
    """A login with a fixed identity: ``service_principal_id`` and
    ``service_principal_password`` are the Airflow username and password.

    :param tenant_id: kept for compatibility; not used.
    :param service_principal_id: the Airflow username.
    :param service_principal_password: the Airflow password (kept in memory only).
    :param cloud: kept for compatibility; not used.
    """

    def __init__(
        self,
        tenant_id: str,
        service_principal_id: str,
        service_principal_password: str,
        cloud: str = "AzureCloud",
        _enable_caching: bool = True,
    ):
        super().__init__(cloud)
        if not service_principal_id or not service_principal_password:
            raise AuthenticationException(
                "ServicePrincipalAuthentication needs service_principal_id (the Airflow user) "
                "and service_principal_password (its password)"
            )
        self._tenant_id = tenant_id
        self._username = service_principal_id
        self._password = service_principal_password
        self._cache_tokens = _enable_caching

    def _credentials(self) -> tuple[str, str] | None:
        return (self._username, self._password)

    def __repr__(self) -> str:
        return f"ServicePrincipalAuthentication(service_principal_id={self._username!r})"
