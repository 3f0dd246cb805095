"""Airflow plugin entry point (``airflow.plugins``).

Serves the AML-compatible REST routes (:mod:`airflow_aml.api.app`) at ``/aml``
in the Airflow api-server. The app is imported only by processes that load
FastAPI apps (the api-server).
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

__all__ = ["AirflowAmlPlugin"]


def _fastapi_apps() -> list[dict[str, Any]]:
    from airflow_aml.api.app import app

    return [{"app": app, "url_prefix": "/aml", "name": "airflow-aml AML-compatible REST"}]


class AirflowAmlPlugin(AirflowPlugin):
    """The airflow-aml plugin: AML-compatible REST routes."""

    name = "airflow_aml"
    fastapi_apps = _fastapi_apps()
