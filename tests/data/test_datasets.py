"""The rest of ``airflow_aml.data``: DataType (a value holder) and the placeholders for
datasets, output dataset configs, SQL references and the data cache, which import as in
SDK v1 and raise NotSupportedError naming the alternative on every use."""

from __future__ import annotations

import pickle

import pytest

import airflow_aml.data as data
from airflow_aml.data import DataType
from airflow_aml.data.dataset_consumption_config import DatasetConsumptionConfig
from airflow_aml.data.output_dataset_config import OutputTabularDatasetConfig
from airflow_aml.data.sql_data_reference import SqlDataReference
from airflow_aml.exceptions import NotSupportedError, UserErrorException


def test_package_exports():
    assert sorted(data.__all__) == sorted(
        [
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
    )
    assert all(hasattr(data, name) for name in data.__all__)


# ------------------------------------------------------------------- DataType
def test_data_type_builders():
    assert DataType.to_string() == DataType("string")
    assert DataType.to_long().type_name == "long"
    assert DataType.to_bool().type_name == "bool"
    assert DataType.to_float().options == {"decimal_mark": "."}
    assert DataType.to_float(decimal_mark=",").options == {"decimal_mark": ","}
    assert DataType.to_datetime("%Y-%m-%d").options == {"formats": ["%Y-%m-%d"]}
    assert DataType.to_datetime(["%Y", "%d/%m"]).options == {"formats": ["%Y", "%d/%m"]}
    assert DataType.to_datetime().options == {"formats": []}
    assert DataType.to_stream(workspace=None, escaped=True).options == {"escaped": True}


def test_data_type_equality_hash_and_repr():
    assert DataType.to_float(",") != DataType.to_float(".")
    assert DataType.to_long() != "long"
    assert len({DataType.to_long(), DataType.to_long(), DataType.to_bool()}) == 2
    assert repr(DataType.to_float(",")) == "DataType('float', decimal_mark=',')"
    assert repr(DataType.to_string()) == "DataType('string')"


# --------------------------------------------------------------- placeholders
PLACEHOLDERS = [
    (data.FileDataset, "datasets are planned", True),
    (data.TabularDataset, "datasets are planned", True),
    (DatasetConsumptionConfig, "datasets are planned", True),
    (data.OutputFileDatasetConfig, "use a PipelineData output", True),
    (OutputTabularDatasetConfig, "use a PipelineData output", True),
    (data.HDFSOutputDatasetConfig, "HDFS outputs are not supported", False),
    (data.LinkFileOutputDatasetConfig, "linked-service outputs are not supported", False),
    (data.LinkTabularOutputDatasetConfig, "linked-service outputs are not supported", False),
    (SqlDataReference, "SQL references are planned", True),
    (data.DatacacheStore, "read inputs from their datastore directly", False),
]


@pytest.mark.parametrize(("cls", "alternative", "planned"), PLACEHOLDERS)
def test_placeholders_name_the_alternative(cls, alternative, planned):
    state = "not supported by airflow-aml yet" if planned else "not supported by airflow-aml:"
    with pytest.raises(NotSupportedError, match=f"^{cls.__name__} is ") as info:
        cls("anything", keyword=1)
    assert state in str(info.value) and alternative in str(info.value)
    assert isinstance(info.value, UserErrorException)
    # class attributes, e.g. FileDataset.File.from_files(...) or a static method
    with pytest.raises(NotSupportedError, match=f"^{cls.__name__}.from_files is "):
        _ = cls.from_files


@pytest.mark.parametrize(("cls", "alternative", "planned"), PLACEHOLDERS)
def test_placeholders_can_still_be_probed(cls, alternative, planned):
    # Private and dunder lookups stay AttributeError (inspect, pickle, pytest use them).
    with pytest.raises(AttributeError):
        _ = cls._no_such_attribute
    assert cls.__doc__
    assert pickle.loads(pickle.dumps(cls)) is cls
