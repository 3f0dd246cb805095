"""Parameter values from Python and from REST strings (``ParameterAssignments``)."""

from __future__ import annotations

import pytest

from airflow_aml.compiler.build import resolve_parameter_values
from airflow_aml.exceptions import ValidationError
from airflow_aml.spec import ParameterSpec, PipelineSpec

SPEC = PipelineSpec(
    dag_id="d",
    experiment_name="d",
    steps=(),
    parameters=(
        ParameterSpec("n", "integer", 10),
        ParameterSpec("rate", "number", 0.5),
        ParameterSpec("flag", "boolean", False),
        ParameterSpec("name", "string", "x"),
    ),
)


def test_defaults_fill_missing_values():
    assert resolve_parameter_values(SPEC, {"n": 3}) == {
        "n": 3,
        "rate": 0.5,
        "flag": False,
        "name": "x",
    }


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"n": "20"}, {"n": 20}),
        ({"n": " -3 "}, {"n": -3}),
        ({"rate": "2"}, {"rate": 2.0}),
        ({"rate": "1e-3"}, {"rate": 0.001}),
        ({"flag": "True"}, {"flag": True}),
        ({"flag": "false"}, {"flag": False}),
        ({"flag": "1"}, {"flag": True}),
        ({"name": "20"}, {"name": "20"}),
    ],
)
def test_rest_strings_are_coerced_to_the_parameter_type(given, expected):
    values = resolve_parameter_values(SPEC, given, coerce_strings=True)
    assert {k: values[k] for k in expected} == expected
    assert all(type(values[k]) is type(v) for k, v in expected.items())


@pytest.mark.parametrize(
    ("name", "value", "ptype"),
    [
        ("n", "2.5", "integer"),
        ("n", "twenty", "integer"),
        ("rate", "fast", "number"),
        ("rate", "nan", "number"),
        ("flag", "maybe", "boolean"),
    ],
)
def test_uncoercible_strings_name_the_parameter(name, value, ptype):
    with pytest.raises(ValidationError) as exc:
        resolve_parameter_values(SPEC, {name: value}, coerce_strings=True)
    assert exc.value.field == f"ParameterAssignments.{name}"
    assert f"cannot be converted to {ptype}" in str(exc.value)


def test_strings_are_not_coerced_from_python():
    with pytest.raises(ValidationError, match="expected a value of type integer"):
        resolve_parameter_values(SPEC, {"n": "20"})


def test_unknown_parameter_lists_the_valid_ones():
    with pytest.raises(ValidationError) as exc:
        resolve_parameter_values(SPEC, {"bogus": "1"}, coerce_strings=True)
    assert "['bogus']" in str(exc.value)
    assert "['flag', 'n', 'name', 'rate']" in str(exc.value)
