"""DataReference (``azureml.data.data_reference``): construction, path validation,
derived references (``path``, ``as_mount``/``as_download``/``as_upload``), ``to_config``
and how it prints."""

from __future__ import annotations

import pytest

from airflow_aml.core import Datastore, Workspace
from airflow_aml.data import DataReference, DataReferenceConfiguration
from airflow_aml.exceptions import UserErrorException, ValidationError


@pytest.fixture
def store(tmp_path):
    ws = Workspace("sub", "rg", "data_ws", home=tmp_path / "home")
    return Datastore.register_local_folder(ws, "rawstore", str(tmp_path / "root"))


def test_defaults_follow_sdk_v1(store):
    ref = DataReference(store)
    assert ref.datastore is store
    assert ref.data_reference_name == "rawstore"  # defaults to the datastore name
    assert ref.path_on_datastore is None
    assert (ref.mode, ref.path_on_compute, ref.overwrite) == ("mount", None, False)


def test_keyword_arguments_as_in_v1(store):
    ref = DataReference(
        datastore=store,
        data_reference_name="test_data",
        path_on_datastore="20newsgroups",
        mode="download",
        path_on_compute="/tmp/in",
        overwrite=True,
    )
    assert (ref.data_reference_name, ref.path_on_datastore) == ("test_data", "20newsgroups")
    assert (ref.mode, ref.path_on_compute, ref.overwrite) == ("download", "/tmp/in", True)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("a/b", "a/b"),
        ("a//b/./c/", "a/b/c"),
        ("a\\b\\c", "a/b/c"),
        ("  data/v1  ", "data/v1"),
        ("", None),
        (".", None),
        (None, None),
    ],
)
def test_path_on_datastore_is_normalised(store, given, stored):
    assert DataReference(store, path_on_datastore=given).path_on_datastore == stored


@pytest.mark.parametrize("bad", ["../x", "a/../../x", "/etc/passwd", "..\\x", "C:/x", "a/.."])
def test_path_outside_the_datastore_is_refused_naming_the_field(store, bad):
    with pytest.raises(ValidationError, match="must be relative to the datastore") as info:
        DataReference(store, path_on_datastore=bad)
    assert info.value.field == "DataReference.path_on_datastore"
    assert isinstance(info.value, UserErrorException)


def test_a_path_that_is_not_a_string_is_refused(store):
    with pytest.raises(ValidationError, match="expected a path string, got int") as info:
        DataReference(store, path_on_datastore=3)  # type: ignore[arg-type]
    assert info.value.field == "DataReference.path_on_datastore"


@pytest.mark.parametrize("mode", ["Mount", "copy", "", None])
def test_unknown_mode_is_refused(store, mode):
    with pytest.raises(ValidationError, match=r"mode must be one of \('mount'") as info:
        DataReference(store, mode=mode)  # type: ignore[arg-type]
    assert info.value.field == "DataReference.mode"


@pytest.mark.parametrize("mode", ["mount", "download", "upload", "direct"])
def test_known_modes(store, mode):
    assert DataReference(store, mode=mode).mode == mode


@pytest.mark.parametrize("datastore", [None, "rawstore", 42])
def test_a_datastore_is_required(datastore):
    with pytest.raises(ValidationError, match="a DataReference needs a datastore") as info:
        DataReference(datastore)  # type: ignore[arg-type]
    assert info.value.field == "DataReference.datastore"


# ------------------------------------------------------------ derived references
def test_path_joins_below_the_reference(store):
    base = DataReference(store, "raw", "data", mode="download", path_on_compute="/in")
    sub = base.path("2026/11")
    assert isinstance(sub, DataReference) and sub is not base
    assert sub.path_on_datastore == "data/2026/11"
    assert (sub.data_reference_name, sub.mode, sub.path_on_compute) == ("raw", "download", "/in")
    assert base.path_on_datastore == "data"  # unchanged
    assert base.path("x", data_reference_name="other").data_reference_name == "other"
    assert base.path().path_on_datastore == "data"
    assert DataReference(store).path("top").path_on_datastore == "top"
    assert DataReference(store).path().path_on_datastore is None


def test_path_below_cannot_escape(store):
    with pytest.raises(ValidationError, match="must not contain '..'"):
        DataReference(store, path_on_datastore="a").path("../../b")


def test_as_mount_as_download_as_upload_are_copies(store):
    ref = DataReference(store, "raw", "data", mode="download", path_on_compute="/in")
    mounted = ref.as_mount()
    assert mounted is not ref and mounted.mode == "mount"
    assert (mounted.path_on_datastore, mounted.data_reference_name) == ("data", "raw")
    assert ref.mode == "download"  # the original is untouched

    down = DataReference(store, "raw", "data").as_download(path_on_compute="/tmp/x", overwrite=True)
    assert (down.mode, down.path_on_compute, down.overwrite) == ("download", "/tmp/x", True)
    assert DataReference(store).as_download().path_on_compute is None

    up = DataReference(store, "out", "results").as_upload(path_on_compute="/out")
    assert (up.mode, up.path_on_compute, up.overwrite) == ("upload", "/out", False)


def test_to_config(store):
    cfg = DataReference(store, "raw", "data/v1", "download", "/in", True).to_config()
    assert isinstance(cfg, DataReferenceConfiguration)
    assert (cfg.data_store_name, cfg.mode, cfg.path_on_datastore) == (
        "rawstore",
        "download",
        "data/v1",
    )
    assert (cfg.path_on_compute, cfg.overwrite) == ("/in", True)
    default = DataReference(store).to_config()
    assert (default.mode, default.path_on_datastore, default.overwrite) == ("mount", None, False)


def test_data_reference_configuration_defaults():
    cfg = DataReferenceConfiguration()
    assert cfg.data_store_name is None
    assert (cfg.mode, cfg.path_on_datastore, cfg.path_on_compute, cfg.overwrite) == (
        "mount",
        None,
        None,
        False,
    )


# ----------------------------------------------------------------------- printing
def test_str_is_the_environment_variable_a_script_sees(store):
    assert str(DataReference(store, "test_data")) == "$AZUREML_DATAREFERENCE_test_data"
    assert str(DataReference(store)) == "$AZUREML_DATAREFERENCE_rawstore"


def test_repr_names_datastore_path_and_mode(store):
    ref = DataReference(store, "raw", "data/v1", mode="download")
    assert repr(ref) == "$AZUREML_DATAREFERENCE_raw -> rawstore:data/v1 (download)"
    assert repr(DataReference(store)) == "$AZUREML_DATAREFERENCE_rawstore -> rawstore:/ (mount)"
