"""The ``azureml`` Param of a rendered DAG: Airflow validates DAG-run conf against it at
trigger time (``create_dagrun``: ``params.deep_merge(conf).validate()``, HTTP 400 on the
REST API), so a bad run option is refused rather than misread by the operator; the conf
our own triggers write (``RunOptions.conf``) must always pass."""

from __future__ import annotations

import pytest
from airflow.exceptions import ParamValidationError

from airflow_aml.compiler.render import render_dag
from airflow_aml.core.experiment import RunOptions
from airflow_aml.spec import ParameterSpec, PipelineSpec, StepSpec

SPEC = PipelineSpec(
    dag_id="conf_schema",
    experiment_name="conf_schema",
    steps=(
        StepSpec(
            name="train",
            task_id="train",
            kind="PythonScriptStep",
            script_name="train.py",
            source_directory="/src",
            source_digest="d",
            arguments=({"param": "label"},),
        ),
    ),
    parameters=(ParameterSpec("label", "string", "x"), ParameterSpec("n", "integer", 1)),
)


@pytest.fixture(scope="module")
def scheduler_params():
    """The params as the api-server / scheduler sees them (serialized, then loaded)."""
    from airflow.serialization.serialized_objects import DagSerialization

    dag = render_dag(SPEC)
    return DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag)).params


def _validate(params, conf):
    return params.deep_merge(conf).validate()


@pytest.mark.parametrize(
    "options",
    [
        RunOptions("exp"),
        RunOptions("exp", regenerate_outputs=True, continue_on_step_failure=True),
        RunOptions("exp", tags={"who": "ci", "n": 1}, parent_run_id="p", description="d"),
        RunOptions(
            "e" * 240,
            pipeline_parameters={"n": "2", "undeclared": "1"},
            from_rest=True,
            run_source="SDK",
            run_type="HTTP",
            submitted_by="admin",
            published_pipeline_id="00000000-0000-0000-0000-000000000000",
            pipeline_endpoint_id="11111111-1111-1111-1111-111111111111",
            description=None,
        ),
    ],
)
def test_the_conf_our_triggers_write_is_valid(scheduler_params, options):
    conf = options.conf(SPEC)
    assert _validate(scheduler_params, conf)["azureml"] == conf["azureml"]


@pytest.mark.parametrize(
    "conf",
    [
        {},
        {"azureml": {}},
        {"azureml": {"regenerate_outputs": True}},
        {"azureml": {"allow_reuse": False}},
        {"azureml": {"allow_reuse": {"train": False, "other": True}}},
        {"label": "y", "azureml": {"tags": {}}},
    ],
)
def test_documented_per_run_options_are_valid(scheduler_params, conf):
    _validate(scheduler_params, conf)


@pytest.mark.parametrize(
    ("conf", "reason"),
    [
        ({"azureml": {"regenerate_outputs": "no"}}, "'no' is not of type 'boolean'"),
        ({"azureml": {"regenerate_outputs": 1}}, "1 is not of type 'boolean'"),
        ({"azureml": {"continue_on_step_failure": "yes"}}, "'yes' is not of type 'boolean'"),
        ({"azureml": {"allow_reuse": "false"}}, "'false' is not of type 'boolean', 'object'"),
        ({"azureml": {"allow_reuse": {"train": "no"}}}, "'no' is not of type 'boolean'"),
        ({"azureml": {"allow_reuse": ["train"]}}, "is not of type 'boolean', 'object'"),
        ({"azureml": {"tags": {"k": 1}}}, "1 is not of type 'string'"),
        ({"azureml": {"tags": ["k"]}}, "is not of type 'object'"),
        ({"azureml": {"regenerate_output": True}}, "'regenerate_output' was unexpected"),
        ({"azureml": "regenerate"}, "'regenerate' is not of type 'object'"),
        ({"azureml": {"experiment_name": "../x"}}, "does not match"),
        ({"azureml": {"ignored_parameters": [1]}}, "1 is not of type 'string'"),
        ({"label": "a\x00b"}, "does not match"),
        ({"label": "v" * 131072}, "is too long"),
        ({"n": "2"}, "'2' is not of type 'integer'"),
    ],
)
def test_bad_conf_is_refused_naming_the_option(scheduler_params, conf, reason):
    with pytest.raises(ParamValidationError) as exc:
        _validate(scheduler_params, conf)
    key = next(iter(conf))
    assert f"Invalid input for param {key}" in str(exc.value)
    assert reason in str(exc.value)


def test_the_schema_names_every_option_runoptions_writes():
    """A key RunOptions.conf writes but the schema does not know would fail every run."""
    from airflow_aml.compiler.render import AZUREML_CONF_SCHEMA

    conf = RunOptions(
        "exp",
        parent_run_id="p",
        description="d",
        submitted_by="u",
        published_pipeline_id="x",
        pipeline_endpoint_id="y",
        pipeline_parameters={"undeclared": "1"},
        from_rest=True,
    ).conf(SPEC)
    assert set(conf["azureml"]) | {"allow_reuse"} == set(AZUREML_CONF_SCHEMA["properties"])


def test_every_param_schema_is_draft_7_as_serialized(scheduler_params):
    """Airflow re-checks a Param's schema against its dialect's metaschema at every
    validation; Draft 7's is the cheap one (bench_foundation). The dialect must survive
    serialization, and Draft 7 still refuses what the schemas refuse."""
    from airflow_aml.compiler.render import JSON_SCHEMA_DIALECT

    assert JSON_SCHEMA_DIALECT == "http://json-schema.org/draft-07/schema#"
    schemas = {name: scheduler_params.get_param(name).schema for name in scheduler_params}
    assert set(schemas) == {"label", "n", "azureml"}
    assert {name: s.get("$schema") for name, s in schemas.items()} == dict.fromkeys(
        schemas, JSON_SCHEMA_DIALECT
    )
    with pytest.raises(ParamValidationError, match="Invalid input for param label"):
        _validate(scheduler_params, {"label": "a\x00b"})
