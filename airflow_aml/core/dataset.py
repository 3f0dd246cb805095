"""Dataset (SDK v1 ``azureml.core.Dataset``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["Dataset"]


class Dataset(Unsupported):
    """A versioned reference to files or tables (SDK v1); ``Dataset.File``/``.Tabular`` make one."""

    _planned = True
    _alternative = (
        "datasets are planned; meanwhile pass data as a DataReference "
        "(datastore.path(...)) or as a PipelineParameter whose default is a DataPath"
    )
