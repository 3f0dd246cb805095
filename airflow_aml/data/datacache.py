"""DatacacheStore (SDK v1 ``azureml.data.DatacacheStore``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["DatacacheStore"]


class DatacacheStore(Unsupported):
    """A data cache store (SDK v1, experimental there)."""

    _alternative = "read inputs from their datastore directly (DataReference / PipelineData)"
