"""Airflow plugin entry point (``airflow.plugins``).

Serves the AML-compatible REST routes (:mod:`airflow_aml.api.app`) at ``/aml``
in the Airflow api-server, and registers the listener that writes task notes
for reused steps (:mod:`airflow_aml.listeners`).
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

import airflow_aml.listeners

__all__ = ["AirflowAmlPlugin"]


def _fastapi_apps() -> list[dict[str, Any]]:
    from airflow_aml.api.app import app

    return [{"app": app, "url_prefix": "/aml", "name": "airflow-aml AML-compatible REST"}]


class AirflowAmlPlugin(AirflowPlugin):
    """The airflow-aml plugin: AML-compatible REST routes."""

    name = "airflow_aml"
    fastapi_apps = _fastapi_apps()
    listeners = [airflow_aml.listeners]
