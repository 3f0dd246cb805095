"""FileDataset (SDK v1 ``azureml.data.FileDataset``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["FileDataset"]


class FileDataset(Unsupported):
    """A dataset of files (SDK v1)."""

    _planned = True
    _alternative = (
        "datasets are planned; meanwhile pass files as a DataReference "
        "(datastore.path(...)) or a PipelineParameter whose default is a DataPath"
    )
