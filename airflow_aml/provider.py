"""Provider metadata for Airflow's providers manager, and the ``[aml]`` settings it declares.

``get_provider_info`` (entry point ``apache_airflow_provider``) describes the
operators, the trigger, the plugin and the ``[aml]`` configuration section.
Airflow maps ``AIRFLOW__AML__<KEY>`` environment variables and ``airflow.cfg``
entries onto that section, as for any provider (``airflow config get-value aml
registry``).

The settings are read by Airflow components (:func:`aml_setting`):

* ``registry``: the pipeline registry the loader DAG file (dag-processor) and
  the REST routes (api-server) read;
* ``embedded``: the api-server serves an embedded workspace home (runs go to
  its runner pool instead of the scheduler);
* ``cache_dir``: this machine's airflow-aml cache (workers and clients).

The variables of earlier releases (``AIRFLOW_AML_REGISTRY``,
``AIRFLOW_AML_EMBEDDED``, ``AIRFLOW_AML_CACHE``) still work for this release
when the new setting is not set, with a :class:`DeprecationWarning` naming it.

This module imports nothing from Airflow: the object model (through
``airflow_aml._files.cache_root``) reads settings here too. Airflow's config
is consulted only where Airflow has already loaded it in this process;
elsewhere (a client) the ``AIRFLOW__AML__<KEY>`` variable is read directly.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

from airflow_aml._version import __version__

__all__ = [
    "get_provider_info",
    "AML_SECTION",
    "SETTINGS",
    "DEPRECATED_ENV",
    "aml_setting",
    "aml_flag",
]

AML_SECTION = "aml"

_INTEGRATION = "Azure ML SDK v1 pipelines"

SETTINGS: dict[str, dict[str, Any]] = {
    "registry": {
        "description": (
            "The airflow-aml pipeline registry: a folder, or wasb://<conn_id>@<container>/"
            "<prefix> reached through that Airflow connection. The loader DAG file "
            "(dag-processor) turns every spec in it into a DAG; the AML-compatible REST "
            "routes (api-server) read published pipelines and run records from it. "
            "Clients name the same location as 'registry' in .azureml/config.json. "
            "Unset: the folder registry next to AIRFLOW_HOME ($AIRFLOW_HOME/../registry)."
        ),
        "type": "string",
        "example": "wasb://aml_blob@aml/registry",
        "default": None,
    },
    "embedded": {
        "description": (
            "Whether this Airflow serves an airflow-aml embedded workspace home "
            "(set by `airflow-aml ui`): runs started through the REST routes go to the "
            "home's runner pool instead of the scheduler. Unset: False."
        ),
        "type": "boolean",
        "example": "True",
        "default": None,
    },
    "cache_dir": {
        "description": (
            "This machine's airflow-aml cache: source snapshots and inputs downloaded by "
            "workers (by content digest), file digests, registry specs. "
            "Unset: ~/.cache/airflow_aml."
        ),
        "type": "string",
        "example": "/var/cache/airflow_aml",
        "default": None,
    },
}
"""The options of the ``[aml]`` section (provider-info ``config`` schema)."""

DEPRECATED_ENV = {
    "registry": "AIRFLOW_AML_REGISTRY",
    "embedded": "AIRFLOW_AML_EMBEDDED",
    "cache_dir": "AIRFLOW_AML_CACHE",
}
"""The environment variable each setting had before the ``[aml]`` section (one more release)."""

_warned: set[str] = set()


def get_provider_info() -> dict[str, Any]:
    """Describe airflow-aml to Airflow."""
    return {
        "package-name": "airflow-aml",
        "name": "Azure ML SDK v1 pipelines (airflow-aml)",
        "description": "Run Azure Machine Learning SDK v1 pipelines as Airflow DAGs.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": _INTEGRATION,
                "external-doc-url": "https://pypi.org/project/airflow-aml/",
                "tags": ["software"],
            }
        ],
        "operators": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [
                    "airflow_aml.operators.python_script",
                    "airflow_aml.operators.broken_spec",
                ],
            }
        ],
        "triggers": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": ["airflow_aml.triggers.reuse_claim"],
            }
        ],
        # Also the entry point ``airflow.plugins``, as official providers do; Airflow
        # registers a plugin name once (see plugins/airflow_aml_plugin.py).
        "plugins": [{"name": "airflow_aml", "plugin-class": "airflow_aml.plugin.AirflowAmlPlugin"}],
        "config": {
            AML_SECTION: {
                "description": (
                    "airflow-aml (Azure ML SDK v1 pipelines on Airflow): settings of the "
                    "Airflow components that load, serve and run its pipelines."
                ),
                "options": {
                    key: {**option, "version_added": "0.1.0"} for key, option in SETTINGS.items()
                },
            }
        },
    }


def _airflow_conf() -> Any:
    """Airflow's config object if this process has loaded it (never imports Airflow)."""
    module = sys.modules.get("airflow.configuration")
    return getattr(module, "conf", None) if module is not None else None


def aml_setting(key: str) -> str | None:
    """The ``[aml]`` setting ``key``, or None when it is not set.

    Read from Airflow's config when this process has loaded it (``airflow.cfg``,
    ``AIRFLOW__AML__<KEY>``, secrets and ``_cmd`` forms), else from the
    ``AIRFLOW__AML__<KEY>`` variable. When that is unset, the variable of earlier
    releases (:data:`DEPRECATED_ENV`) is used with a :class:`DeprecationWarning`.
    """
    if key not in SETTINGS:
        raise KeyError(f"no setting [aml] {key}; known: {sorted(SETTINGS)}")
    conf = _airflow_conf()
    if conf is not None:
        value = conf.get(AML_SECTION, key, fallback=None)
    else:
        value = os.environ.get(f"AIRFLOW__{AML_SECTION.upper()}__{key.upper()}")
    if value not in (None, ""):
        return str(value)
    old = DEPRECATED_ENV[key]
    legacy = os.environ.get(old)
    if not legacy:
        return None
    if old not in _warned:
        _warned.add(old)
        warnings.warn(
            f"{old} is deprecated and is read for one more release only: set [aml] {key} "
            f"in airflow.cfg or the environment variable "
            f"AIRFLOW__{AML_SECTION.upper()}__{key.upper()} instead",
            DeprecationWarning,
            stacklevel=3,
        )
    return legacy


def aml_flag(key: str) -> bool:
    """A boolean ``[aml]`` setting (unset: False); ``true``/``t``/``1`` (any case) are True."""
    value = aml_setting(key)
    return value is not None and value.strip().lower() in ("true", "t", "1")
