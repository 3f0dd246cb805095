"""Airflow plugin entry point (``airflow.plugins``).

Serves the AML-compatible REST routes (:mod:`airflow_aml.api.app`) at ``/aml``
in the Airflow api-server, and registers the listener that writes task notes
for reused steps (:mod:`airflow_aml.listeners`).

Airflow finds the plugin three ways, and registers a plugin name only once
(the first wins; a later one of the same name is skipped with a warning and
listed as a plugin import error): a plugins folder file
(``plugins/airflow_aml_plugin.py`` of this repository, for a plain plugins
folder such as docker-compose's ``./plugins``), the ``airflow.plugins`` entry
point of the installed package, and the provider info's ``plugins`` (only with
``[core] lazy_discover_providers = False``). The plugins-folder file defines
the plugin only when the entry point is not installed
(:func:`entry_point_installed`), so the plugin loads once and without warnings.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from airflow.plugins_manager import AirflowPlugin

import airflow_aml.listeners
from airflow_aml.api.app import app

__all__ = ["AirflowAmlPlugin", "PLUGIN_NAME", "ENTRY_POINT", "entry_point_installed"]

PLUGIN_NAME = "airflow_aml"
ENTRY_POINT = "airflow_aml.plugin:AirflowAmlPlugin"
"""The ``airflow.plugins`` entry point of the installed package (``pyproject.toml``)."""


def entry_point_installed() -> bool:
    """Whether an installed distribution declares :data:`ENTRY_POINT`, as Airflow's plugins
    manager sees the package metadata (it then loads the plugin from there)."""
    try:  # the very listing the plugins manager loads entry-point plugins from
        from airflow._shared.module_loading import (  # lazy: private API, guarded here
            entry_points_with_dist,
        )

        values = [ep.value for ep, _ in entry_points_with_dist("airflow.plugins")]
    except ImportError:  # a later Airflow moved it: read the metadata the standard way
        values = [ep.value for ep in entry_points(group="airflow.plugins")]
    return ENTRY_POINT in values


def _fastapi_apps() -> list[dict[str, Any]]:
    return [{"app": app, "url_prefix": "/aml", "name": "airflow-aml AML-compatible REST"}]


class AirflowAmlPlugin(AirflowPlugin):
    """The airflow-aml plugin: AML-compatible REST routes and the reused-step notes listener."""

    name = PLUGIN_NAME
    fastapi_apps = _fastapi_apps()
    listeners = [airflow_aml.listeners]
