"""Mirror of ``azureml.data``: data references, data paths, datasets, output configs.

Datasets and output dataset configs are placeholders for now: they import,
and every use raises :class:`~airflow_aml.exceptions.NotSupportedError`
naming the alternative.
"""

from airflow_aml.data.data_reference import DataReference, DataReferenceConfiguration
from airflow_aml.data.datacache import DatacacheStore
from airflow_aml.data.datapath import DataPath, DataPathComputeBinding
from airflow_aml.data.dataset_factory import DataType
from airflow_aml.data.file_dataset import FileDataset
from airflow_aml.data.output_dataset_config import (
    HDFSOutputDatasetConfig,
    LinkFileOutputDatasetConfig,
    LinkTabularOutputDatasetConfig,
    OutputFileDatasetConfig,
)
from airflow_aml.data.tabular_dataset import TabularDataset

__all__ = [
    "DataPath",
    "DataPathComputeBinding",
    "DataReference",
    "DataReferenceConfiguration",
    "DataType",
    "DatacacheStore",
    "FileDataset",
    "HDFSOutputDatasetConfig",
    "LinkFileOutputDatasetConfig",
    "LinkTabularOutputDatasetConfig",
    "OutputFileDatasetConfig",
    "TabularDataset",
]
