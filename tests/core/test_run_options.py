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


# --------------------------------- issue #10: run values that cannot reach a command line
def _step_spec(name="s", **changes):
    from airflow_aml.spec import StepSpec

    return StepSpec(
        name=name,
        task_id=name,
        kind="PythonScriptStep",
        script_name="a.py",
        source_directory="/src",
        source_digest="d",
        **changes,
    )


LIMITS_SPEC = PipelineSpec(
    dag_id="d",
    experiment_name="d",
    steps=(_step_spec(arguments=({"param": "s"},)),),
    parameters=(
        ParameterSpec("s", "string", "x"),
        ParameterSpec("n", "integer", 1),
        ParameterSpec("dp", "datapath", {"datastore": "store", "path": "in"}),
    ),
    datastores={"store": {"type": "local", "root": "/tmp/store"}},
    default_datastore="store",
)


@pytest.mark.parametrize(
    ("values", "rest", "field", "reason"),
    [
        ({"s": "a\x00b"}, False, "pipeline_parameters.s", "NUL byte"),
        ({"s": "a\x00b"}, True, "ParameterAssignments.s", "NUL byte"),
        ({"s": "v" * 900_000}, False, "pipeline_parameters.s", "MAX_ARG_STRLEN = 131072"),
        ({"s": "v" * 900_000}, True, "ParameterAssignments.s", "MAX_ARG_STRLEN = 131072"),
        ({"s": "é" * 70_000}, False, "pipeline_parameters.s", "140000 bytes"),  # bytes count
        ({"s": "v" * 131_060}, False, "pipeline_parameters.s", "AML_PARAMETER_s"),
        ({"n": 10**4000}, False, "pipeline_parameters.n", "4000 digits"),
        ({"n": "1" * 5000}, True, "ParameterAssignments.n", "cannot be converted"),
        ({"dp": {"datastore": "store", "path": "a\x00"}}, False, "pipeline_parameters.dp", "NUL"),
        ({"dp": {"datastore": "store", "path": "../x"}}, False, "pipeline_parameters.dp", ".."),
        ({"dp": {"datastore": "store", "path": "/x"}}, False, "pipeline_parameters.dp", "relative"),
        ({"dp": {"datastore": "nope", "path": "x"}}, False, "pipeline_parameters.dp", "'nope'"),
    ],
)
def test_run_values_that_cannot_reach_the_step_are_refused(values, rest, field, reason):
    """Before: accepted at submit, then the run failed ("embedded null byte", E2BIG)."""
    with pytest.raises(ValidationError) as exc:
        RunOptions("exp", pipeline_parameters=values, from_rest=rest).resolve(LIMITS_SPEC)
    assert exc.value.field == field
    assert reason in str(exc.value)
    assert len(str(exc.value)) < 1000  # the value is quoted cut short


def test_run_values_over_the_total_limit_name_the_step_and_the_limit():
    from airflow_aml._limits import arg_max

    many = tuple(ParameterSpec(f"p{i}", "string", "") for i in range(40))
    spec = PipelineSpec(
        dag_id="d", experiment_name="d", steps=(_step_spec("train"),), parameters=many
    )
    values = {f"p{i}": "v" * 100_000 for i in range(40)}  # each fits, together 4 MB
    with pytest.raises(ValidationError) as exc:
        RunOptions("exp", pipeline_parameters=values).resolve(spec)
    assert exc.value.step == "train" and exc.value.field == "pipeline_parameters"
    assert f"SC_ARG_MAX = {arg_max()} bytes" in str(exc.value)
    assert RunOptions("exp", pipeline_parameters={"p1": "v" * 100_000}).resolve(spec)


def test_values_that_fit_are_kept():
    values, _ = RunOptions("exp", pipeline_parameters={"s": "v" * 100_000}).resolve(LIMITS_SPEC)
    assert len(values["s"]) == 100_000


# ----------------------------------------------- issue #10: experiment names and dag_id
def test_experiment_name_limit_counts_airflow_and_file_names():
    from airflow_aml._names import MAX_EXPERIMENT_NAME

    assert MAX_EXPERIMENT_NAME == 240
    assert RunOptions("a" * 240).experiment_name == "a" * 240
    for length in (241, 250, 255):
        with pytest.raises(ValidationError, match="at most 240") as exc:
            RunOptions("a" * length)
        assert exc.value.field == "experiment_name"
        assert "ID_LEN" in str(exc.value) and "NAME_MAX" in str(exc.value)
    with pytest.raises(ValidationError, match="1-240 characters"):
        RunOptions("a" * 300 + "/")


def test_airflow_dag_id_limit_is_the_one_copied():
    """_names copies Airflow's dag_id limit (it imports no Airflow): they must agree."""
    import inspect

    from airflow.models.base import ID_LEN
    from airflow.sdk.definitions._internal.node import validate_key

    from airflow_aml._names import AIRFLOW_ID_LEN

    assert AIRFLOW_ID_LEN == ID_LEN
    assert inspect.signature(validate_key).parameters["max_length"].default == AIRFLOW_ID_LEN


def test_longest_experiment_name_fits_the_registry_files(tmp_path):
    """The longest name works where a longer one failed with ENAMETOOLONG: the spec file
    of its DAG (written through a temporary '.<dag_id>.json.XXXXXXXX')."""
    from airflow_aml._names import MAX_EXPERIMENT_NAME
    from airflow_aml.artifacts.registry import Registry

    name = "e" * MAX_EXPERIMENT_NAME
    registry = Registry(str(tmp_path / "registry"))
    spec = PipelineSpec(dag_id=name, experiment_name=name, steps=())
    registry.write_spec(spec)
    assert registry.read_spec(name).dag_id == name
    with pytest.raises(OSError, match="File name too long"):  # why the limit is 240
        registry.write_spec(PipelineSpec(dag_id=name + "e", experiment_name=name, steps=()))
