"""TabularDataset (SDK v1 ``azureml.data.TabularDataset``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["TabularDataset"]


class TabularDataset(Unsupported):
    """A dataset of tabular data (SDK v1)."""

    _planned = True
    _alternative = (
        "datasets are planned; meanwhile pass the files as a DataReference and read them "
        "with pandas in the step"
    )
