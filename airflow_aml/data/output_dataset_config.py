"""Output dataset configurations (SDK v1 ``azureml.data.output_dataset_config``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = [
    "OutputFileDatasetConfig",
    "OutputTabularDatasetConfig",
    "HDFSOutputDatasetConfig",
    "LinkFileOutputDatasetConfig",
    "LinkTabularOutputDatasetConfig",
]


class OutputFileDatasetConfig(Unsupported):
    """A step output written to a datastore destination (SDK v1)."""

    _planned = True
    _alternative = (
        "OutputFileDatasetConfig is planned; meanwhile use a PipelineData output "
        "(PipelineData(name, datastore=...))"
    )


class OutputTabularDatasetConfig(Unsupported):
    """A step output read back as a tabular dataset (SDK v1)."""

    _planned = True
    _alternative = "output datasets are planned; meanwhile use a PipelineData output"


class HDFSOutputDatasetConfig(Unsupported):
    """A step output on HDFS (SDK v1)."""

    _alternative = "HDFS outputs are not supported; use a PipelineData output on a datastore"


class LinkFileOutputDatasetConfig(Unsupported):
    """A linked-service file output (SDK v1)."""

    _alternative = (
        "linked-service outputs are not supported; use a PipelineData output on a datastore"
    )


class LinkTabularOutputDatasetConfig(Unsupported):
    """A linked-service tabular output (SDK v1)."""

    _alternative = (
        "linked-service outputs are not supported; use a PipelineData output on a datastore"
    )
