"""airflow-aml in a plain Airflow plugins folder (e.g. docker-compose's ``./plugins``).

Defines the airflow-aml plugin (REST routes at ``/aml``, the reused-step
notes listener) when the package is importable but its ``airflow.plugins``
entry point is not installed. When the entry point is installed (``pip
install airflow-aml``), Airflow loads the plugin from there and this file
defines nothing, so the plugin is registered exactly once, with no
"already registered" warning. The file is not named ``airflow_aml.py``: Airflow
imports plugin files under their file name, which would shadow the package.
"""

from airflow_aml.plugin import entry_point_installed

if not entry_point_installed():
    from airflow_aml.plugin import AirflowAmlPlugin

    __all__ = ["AirflowAmlPlugin"]
