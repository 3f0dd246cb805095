"""``airflow_aml.train`` (``azureml.train``): Estimator imports and names the alternative."""

from __future__ import annotations

import pytest

import airflow_aml.train as train
from airflow_aml.exceptions import NotSupportedError
from airflow_aml.train.estimator import Estimator


def test_package_exports_nothing_itself():
    assert train.__all__ == []


def test_estimator_names_the_alternative():
    with pytest.raises(
        NotSupportedError,
        match=(
            r"^Estimator is not supported by airflow-aml: use a PythonScriptStep with a "
            r"RunConfiguration \(environment, compute target\)$"
        ),
    ):
        Estimator(source_directory=".", entry_script="train.py", compute_target="cpu")


def test_estimator_class_attributes_name_the_alternative():
    with pytest.raises(NotSupportedError, match="^Estimator.get is not supported"):
        _ = Estimator.get
    with pytest.raises(AttributeError):
        _ = Estimator._private
