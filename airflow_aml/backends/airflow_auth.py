"""Getting a JWT for an Airflow 3 API server: one implementation for every caller.

Used by the deployed backend's REST client and by the
``azureml.core.authentication`` mirror. Credentials come from the
environment (``AIRFLOW_AML_API_TOKEN``, or ``AIRFLOW_AML_API_USERNAME`` /
``AIRFLOW_AML_API_PASSWORD``) or from the caller; a username and password
are exchanged for a token at ``<api_url>/auth/token`` (the Airflow 3
simple auth manager's login). Nothing is written anywhere.
"""

from __future__ import annotations

import base64
import json
import os
import time

import httpx

from airflow_aml.exceptions import AuthenticationException

__all__ = [
    "TOKEN_ENV",
    "USERNAME_ENV",
    "PASSWORD_ENV",
    "env_token",
    "env_credentials",
    "login",
    "token_expiry",
    "still_valid",
]

TOKEN_ENV = "AIRFLOW_AML_API_TOKEN"
USERNAME_ENV = "AIRFLOW_AML_API_USERNAME"
PASSWORD_ENV = "AIRFLOW_AML_API_PASSWORD"


def env_token() -> str | None:
    """``$AIRFLOW_AML_API_TOKEN`` if set."""
    return os.environ.get(TOKEN_ENV) or None


def env_credentials() -> tuple[str, str] | None:
    """``($AIRFLOW_AML_API_USERNAME, $AIRFLOW_AML_API_PASSWORD)`` if both are set."""
    user, password = os.environ.get(USERNAME_ENV), os.environ.get(PASSWORD_ENV)
    return (user, password) if user and password else None


def login(
    api_url: str,
    username: str,
    password: str,
    *,
    http: httpx.Client | None = None,
    timeout: float = 30.0,
    unreachable_hint: str = "",
) -> str:
    """Exchange ``username``/``password`` for a JWT at ``<api_url>/auth/token``.

    ``http`` (a client whose base URL is ``api_url``) is used when given.
    Raises :class:`AuthenticationException` when the server cannot be reached
    (with ``unreachable_hint`` appended) or refuses the login.
    """
    body = {"username": username, "password": password}
    try:
        if http is not None:
            resp = http.post("/auth/token", json=body)
        else:
            resp = httpx.post(f"{api_url.rstrip('/')}/auth/token", json=body, timeout=timeout)
    except httpx.HTTPError as exc:
        raise AuthenticationException(
            f"cannot reach the Airflow API at {api_url} to log in ({exc}){unreachable_hint}"
        ) from exc
    if resp.status_code not in (200, 201):
        raise AuthenticationException(
            f"Airflow refused the login of {username!r} ({resp.status_code}): {resp.text[:200]}"
        )
    try:
        return str(resp.json()["access_token"])
    except (ValueError, KeyError, TypeError) as exc:
        raise AuthenticationException(
            f"Airflow at {api_url} answered the login without an access_token: {resp.text[:200]}"
        ) from exc


def token_expiry(token: str) -> float | None:
    """The ``exp`` claim (epoch seconds) of a JWT, or None if it has none or is not a JWT."""
    try:
        payload = token.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        exp = data.get("exp")
        return float(exp) if exp is not None else None
    except (IndexError, ValueError, AttributeError, TypeError):
        return None


def still_valid(token: str, margin: float = 60.0) -> bool:
    """Whether ``token`` is not expired (or about to: within ``margin`` seconds)."""
    exp = token_expiry(token)
    return exp is None or exp - margin > time.time()
