"""Provider metadata for Airflow's providers manager (entry point ``apache_airflow_provider``)."""

from __future__ import annotations

from typing import Any

__all__ = ["get_provider_info"]


def get_provider_info() -> dict[str, Any]:
    """Describe airflow-aml to Airflow."""
    from airflow_aml._version import __version__

    return {
        "package-name": "airflow-aml",
        "name": "Azure ML SDK v1 pipelines (airflow-aml)",
        "description": "Run Azure Machine Learning SDK v1 pipelines as Airflow DAGs.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Azure ML SDK v1 pipelines",
                "external-doc-url": "https://pypi.org/project/airflow-aml/",
                "tags": ["software"],
            }
        ],
        "operators": [
            {
                "integration-name": "Azure ML SDK v1 pipelines",
                "python-modules": ["airflow_aml.operators.python_script"],
            }
        ],
    }
