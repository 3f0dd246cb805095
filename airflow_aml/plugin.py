"""Airflow plugin entry point (``airflow.plugins``).

Registers nothing yet beyond its name; the AML-compatible REST app joins it
with deployed mode.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

__all__ = ["AirflowAmlPlugin"]


class AirflowAmlPlugin(AirflowPlugin):
    """The airflow-aml plugin."""

    name = "airflow_aml"
