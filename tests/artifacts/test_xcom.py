"""The artifact XCom backend: plain JSON in the DB, typed references for tasks."""

from __future__ import annotations

import json

from airflow_aml.artifacts.store import ArtifactReference
from airflow_aml.artifacts.xcom import ArtifactXComBackend, as_reference

REF = ArtifactReference("workspaceblobstore", "azureml/r/s/out", "r", "s", "out", 2, 10)


class _Stored:
    """The shape Airflow hands to ``deserialize_value``: a row with ``.value``."""

    def __init__(self, value):
        self.value = value


def test_reference_is_stored_as_plain_json():
    stored = ArtifactXComBackend.serialize_value(REF, key="out")
    assert json.loads(json.dumps(stored)) == REF.to_json()
    assert stored["kind"] == "airflow_aml.artifact"


def test_stored_reference_comes_back_typed():
    stored = ArtifactXComBackend.serialize_value(REF, key="out")
    assert ArtifactXComBackend.deserialize_value(_Stored(stored)) == REF


def test_other_values_are_untouched():
    for value in ({"a": 1}, [1, 2], "text", 3, None):
        stored = ArtifactXComBackend.serialize_value(value, key="k")
        assert ArtifactXComBackend.deserialize_value(_Stored(stored)) == value


def test_as_reference_accepts_both_forms():
    assert as_reference(REF) is REF
    assert as_reference(REF.to_json()) == REF
    assert as_reference({"kind": "other"}) is None
