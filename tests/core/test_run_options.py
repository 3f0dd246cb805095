"""RunOptions: parameter values from Python and from REST strings (``ParameterAssignments``),
and the options every way of starting a run shares."""

from __future__ import annotations

import pytest

from airflow_aml.core.experiment import RunOptions
from airflow_aml.exceptions import ValidationError
from airflow_aml.spec import ParameterSpec, PipelineSpec


def resolve(spec, values, *, rest=False):
    return RunOptions("exp", pipeline_parameters=values, from_rest=rest).resolve(spec)[0]


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
    assert resolve(SPEC, {"n": 3}) == {
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
    values = resolve(SPEC, given, rest=True)
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
        resolve(SPEC, {name: value}, rest=True)
    assert exc.value.field == f"ParameterAssignments.{name}"
    assert f"cannot be converted to {ptype}" in str(exc.value)


def test_strings_are_not_coerced_from_python():
    with pytest.raises(ValidationError, match="expected a value of type integer"):
        resolve(SPEC, {"n": "20"})


def test_unknown_parameter_from_python_lists_the_valid_ones():
    with pytest.raises(ValidationError) as exc:
        resolve(SPEC, {"bogus": 1})
    assert "['bogus']" in str(exc.value)
    assert "['flag', 'n', 'name', 'rate']" in str(exc.value)


def test_unknown_rest_assignments_are_ignored_and_named():
    options = RunOptions("exp", pipeline_parameters={"bogus": "1", "n": "2"}, from_rest=True)
    values, ignored = options.resolve(SPEC)
    assert values["n"] == 2 and "bogus" not in values
    assert ignored == ["bogus"]
    assert options.conf(SPEC)["azureml"]["ignored_parameters"] == ["bogus"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("regenerate_outputs", "false"),
        ("regenerate_outputs", 1),
        ("continue_on_step_failure", "no"),
        ("tags", ["a"]),
        ("pipeline_parameters", ["n"]),
        ("description", {"a": 1}),
        ("run_source", ["SDK"]),
    ],
)
def test_options_are_typed(field, value):
    """A flag is True or False ("false" is not False); every field has its type."""
    with pytest.raises(ValidationError) as exc:
        RunOptions("exp", **{field: value})
    assert exc.value.field == field


def test_conf_holds_the_values_and_the_options():
    conf = RunOptions("exp", pipeline_parameters={"n": 4}, tags={"k": 1}, parent_run_id="p").conf(
        SPEC
    )
    assert conf["n"] == 4 and conf["rate"] == 0.5
    assert conf["azureml"] == {
        "experiment_name": "exp",
        "continue_on_step_failure": False,
        "regenerate_outputs": False,
        "tags": {"k": "1"},
        "parent_run_id": "p",
        "description": None,
        "run_source": "SDK",
        "run_type": "SDK",
    }
