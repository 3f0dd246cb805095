"""DataPath and DataPathComputeBinding (``azureml.data.datapath``): path validation,
``create_data_reference``, the JSON form pipeline parameters use, and reprs."""

from __future__ import annotations

import pytest

from airflow_aml.core import Datastore, Workspace
from airflow_aml.data import DataPath, DataPathComputeBinding, DataReference
from airflow_aml.exceptions import ValidationError


@pytest.fixture
def store(tmp_path):
    ws = Workspace("sub", "rg", "datapath_ws", home=tmp_path / "home")
    return Datastore.register_local_folder(ws, "inputs", str(tmp_path / "root"))


def test_datapath_fields(store):
    dp = DataPath(datastore=store, path_on_datastore="raw/2026", name="input_data")
    assert dp.datastore is store
    assert dp.datastore_name == "inputs"
    assert dp.path_on_datastore == "raw/2026"


def test_datapath_without_datastore_or_path():
    dp = DataPath()
    assert dp.datastore is None and dp.datastore_name is None
    assert dp.path_on_datastore == ""
    assert dp._to_json() == {"datastore": None, "path": ""}


@pytest.mark.parametrize(("given", "stored"), [("a//b/", "a/b"), ("a\\b", "a/b"), (None, "")])
def test_datapath_path_is_normalised(store, given, stored):
    assert DataPath(store, given).path_on_datastore == stored


@pytest.mark.parametrize("bad", ["../etc", "/abs", "a/../../b", "C:/x"])
def test_datapath_outside_the_datastore_is_refused(store, bad):
    with pytest.raises(ValidationError, match="must be relative to the datastore") as info:
        DataPath(store, bad)
    assert info.value.field == "DataPath.path_on_datastore"


def test_json_form_names_datastore_and_path(store):
    assert DataPath(store, "raw/2026")._to_json() == {"datastore": "inputs", "path": "raw/2026"}


def test_repr(store):
    assert repr(DataPath(store, "raw/2026")) == "DataPath(inputs:raw/2026)"
    assert repr(DataPath()) == "DataPath(None:)"


# ------------------------------------------------------------------ bindings
def test_compute_binding_defaults_follow_sdk_v1():
    binding = DataPathComputeBinding()
    assert (binding.mode, binding.path_on_compute, binding.overwrite) == ("mount", None, False)
    download = DataPathComputeBinding(mode="download", path_on_compute="/data", overwrite=True)
    assert (download.mode, download.path_on_compute, download.overwrite) == (
        "download",
        "/data",
        True,
    )


def test_create_data_reference_defaults(store):
    ref = DataPath(store, "raw/2026", name="input_data").create_data_reference()
    assert isinstance(ref, DataReference)
    assert ref.datastore is store
    assert (ref.data_reference_name, ref.path_on_datastore) == ("input_data", "raw/2026")
    assert (ref.mode, ref.path_on_compute, ref.overwrite) == ("mount", None, False)


def test_create_data_reference_with_name_and_binding(store):
    binding = DataPathComputeBinding(mode="download", path_on_compute="/in", overwrite=True)
    ref = DataPath(store, "raw", name="ignored").create_data_reference("train_in", binding)
    assert ref.data_reference_name == "train_in"
    assert (ref.mode, ref.path_on_compute, ref.overwrite) == ("download", "/in", True)
    assert str(ref) == "$AZUREML_DATAREFERENCE_train_in"


def test_create_data_reference_unnamed_uses_the_datastore_name(store):
    ref = DataPath(store).create_data_reference()
    assert ref.data_reference_name == "inputs"
    assert ref.path_on_datastore is None  # the datastore root


def test_create_data_reference_needs_a_datastore():
    with pytest.raises(ValidationError, match="DataPath has no datastore") as info:
        DataPath(path_on_datastore="raw").create_data_reference("x")
    assert info.value.field == "DataPath.datastore"


def test_create_data_reference_refuses_an_unknown_binding_mode(store):
    with pytest.raises(ValidationError, match="mode must be one of") as info:
        DataPath(store, "raw").create_data_reference("x", DataPathComputeBinding(mode="copy"))
    assert info.value.field == "DataReference.mode"
