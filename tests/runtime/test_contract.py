"""The step/script contract: argv rendering and SDK v1 environment variable names."""

from __future__ import annotations

import pytest

from airflow_aml.runtime.contract import (
    data_reference_env,
    format_value,
    parameter_env,
    render_arguments,
    step_run_id,
)


def test_render_arguments_substitutes_every_kind():
    argv = render_arguments(
        [
            {"literal": "--input"},
            {"input": "raw"},
            {"literal": "--output"},
            {"output": "model"},
            {"literal": "--lr"},
            {"param": "lr"},
            {"literal": "--epochs"},
            {"param": "epochs"},
            {"literal": "--name"},
            {"param": "name"},
        ],
        params={"lr": 0.01, "epochs": 10, "name": "run one"},
        paths={"raw": "/data/in/raw", "model": "/data/out/model"},
    )
    assert argv == [
        "--input",
        "/data/in/raw",
        "--output",
        "/data/out/model",
        "--lr",
        "0.01",
        "--epochs",
        "10",
        "--name",
        "run one",  # one argv entry, no shell splitting
    ]


def test_bools_and_floats_use_str():
    argv = render_arguments(
        [
            {"literal": True},
            {"literal": False},
            {"literal": 0.5},
            {"literal": 1e-05},
            {"literal": 3},
            {"param": "flag"},
            {"param": "ratio"},
            {"param": "big"},
        ],
        params={"flag": False, "ratio": 2.0, "big": 1e20},
        paths={},
    )
    assert argv == ["True", "False", "0.5", "1e-05", "3", "False", "2.0", "1e+20"]


def test_literals_are_not_templated_or_split():
    weird = "{{ ds }} $HOME 'quoted' \"dq\" a;b"
    assert render_arguments([{"literal": weird}], params={}, paths={}) == [weird]


def test_datapath_param_renders_resolved_path():
    argv = render_arguments([{"param": "data"}], params={"data": "/mnt/store/raw"}, paths={})
    assert argv == ["/mnt/store/raw"]


def test_dict_values_render_as_sorted_json():
    assert format_value({"b": 1, "a": [1, 2]}) == '{"a": [1, 2], "b": 1}'


def test_unknown_reference_is_an_error_not_an_empty_arg():
    with pytest.raises(KeyError):
        render_arguments([{"param": "missing"}], params={}, paths={})
    with pytest.raises(KeyError):
        render_arguments([{"input": "missing"}], params={}, paths={})


def test_env_var_names():
    assert data_reference_env("prepared_data") == "AZUREML_DATAREFERENCE_prepared_data"
    assert parameter_env("learning_rate") == "AML_PARAMETER_learning_rate"


def test_env_names_match_object_model_placeholders():
    from airflow_aml.pipeline.core import PipelineData, PipelineParameter

    assert str(PipelineData("prepared")) == "$" + data_reference_env("prepared")
    assert str(PipelineParameter("lr", 0.1)) == "$" + parameter_env("lr")


def test_step_run_id():
    assert step_run_id("manual__2025", "Train_model") == "manual__2025_Train_model"
