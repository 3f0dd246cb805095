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

from typing import Any, NamedTuple

from airflow_aml.core.workspace import Workspace
from airflow_aml.exceptions import AuthenticationException

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
        tokens = self._tokens if self._cache_tokens else None
        header: dict[str, str] = self._workspace_()._backend.authentication_header(
            self._credentials(), tokens
        )
        return header

    def get_token(self, *scopes: Any, **kwargs: Any) -> AccessToken:
        """The bearer token and its expiry (the azure-core ``TokenCredential`` shape)."""
        token = self.get_authentication_header()["Authorization"].split(" ", 1)[1]
        return AccessToken(token, int(self._workspace_()._backend.token_expiry(token) or 0))

    # --------------------------------------------------------------- internals
    def _bind(self, workspace: Workspace) -> None:
        """Use ``workspace``'s Airflow (called by ``Workspace(auth=...)``; the last one wins)."""
        self._workspace = workspace

    def _credentials(self) -> tuple[str, str] | None:
        """The username and password to log in with, if this object has its own."""
        return None

    def _workspace_(self) -> Workspace:
        if self._workspace is None:
            self._workspace = Workspace.from_config()
        return self._workspace

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
