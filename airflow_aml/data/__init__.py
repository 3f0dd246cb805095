"""Mirror of ``azureml.data``: data references, data paths, output configs."""

from airflow_aml.data.data_reference import DataReference, DataReferenceConfiguration
from airflow_aml.data.datapath import DataPath, DataPathComputeBinding

__all__ = ["DataPath", "DataPathComputeBinding", "DataReference", "DataReferenceConfiguration"]
