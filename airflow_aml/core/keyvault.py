"""Keyvault (SDK v1 ``azureml.core.Keyvault``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["Keyvault"]


class Keyvault(Unsupported):
    """The workspace key vault (SDK v1)."""

    _alternative = (
        "keep secrets in Airflow connections or variables (any Airflow secrets backend, "
        "e.g. Azure Key Vault through the Microsoft Azure provider)"
    )
