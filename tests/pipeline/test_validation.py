"""Bad pipelines are reported by validate()/submit() before anything runs."""

from __future__ import annotations

import pytest

from airflow_aml.core import Experiment
from airflow_aml.exceptions import PipelineValidationError, ValidationError
from airflow_aml.pipeline.core import Pipeline, PipelineData, PipelineParameter
from airflow_aml.pipeline.steps import PythonScriptStep


@pytest.fixture
def src(make_source):
    return make_source({"a.py": "print('a')\n", "b.py": "print('b')\n"})


def _only(errors, *, step, field, contains):
    matching = [e for e in errors if e.step == step and e.field == field and contains in str(e)]
    assert matching, f"no error for step={step} field={field} ~{contains!r} in {errors}"
    return matching[0]


def _runs_before(ws):
    runs = ws.home / "registry" / "runs"
    return set(runs.glob("*.json")) if runs.exists() else set()


def test_valid_pipeline_has_no_errors(ws, src):
    d = PipelineData("d")
    _a = PythonScriptStep("a.py", arguments=["--out", d], outputs=[d], source_directory=str(src))
    b = PythonScriptStep("b.py", arguments=["--in", d], inputs=[d], source_directory=str(src))
    assert Pipeline(ws, [b]).validate() == []


def test_cycle_via_run_after(ws, src):
    a = PythonScriptStep("a.py", name="A", source_directory=str(src))
    b = PythonScriptStep("b.py", name="B", source_directory=str(src))
    a.run_after(b)
    b.run_after(a)
    errors = Pipeline(ws, [a, b]).validate()
    err = errors[0]
    assert err.field == "run_after" and "cycle" in str(err)
    assert "'A'" in str(err) and "'B'" in str(err)


def test_pipeline_data_consumed_but_never_produced(ws, src):
    d = PipelineData("orphan")
    b = PythonScriptStep("b.py", name="B", arguments=[d], inputs=[d], source_directory=str(src))
    errors = Pipeline(ws, [b]).validate()
    _only(errors, step="B", field="inputs", contains="no step of the pipeline produces")


def test_pipeline_data_produced_by_two_steps(ws, src):
    # SDK v1: the last step constructed with the data as an output (B) is its producer;
    # A listing it too is the error ("already an output of step B").
    d = PipelineData("twice")
    a = PythonScriptStep("a.py", name="A", outputs=[d], source_directory=str(src))
    b = PythonScriptStep("b.py", name="B", outputs=[d], source_directory=str(src))
    errors = Pipeline(ws, [a, b]).validate()
    err = _only(errors, step="A", field="outputs", contains="exactly one producer")
    assert "'B'" in str(err)
    assert not [e for e in errors if e.step == "B"]


def test_duplicate_step_names(ws, src):
    a = PythonScriptStep("a.py", name="same", source_directory=str(src))
    b = PythonScriptStep("b.py", name="same", source_directory=str(src))
    errors = Pipeline(ws, [a, b]).validate()
    _only(errors, step="same", field="name", contains="duplicate step name")


def test_script_not_found(ws, src):
    a = PythonScriptStep("missing.py", name="A", source_directory=str(src))
    errors = Pipeline(ws, [a]).validate()
    _only(errors, step="A", field="script_name", contains="not found")


def test_source_directory_missing(ws, tmp_path):
    a = PythonScriptStep("a.py", name="A", source_directory=str(tmp_path / "nope"))
    errors = Pipeline(ws, [a]).validate()
    _only(errors, step="A", field="source_directory", contains="does not exist")


def test_parameter_name_clash(ws, src):
    p1 = PipelineParameter("lr", 0.1)
    p2 = PipelineParameter("lr", 0.5)
    a = PythonScriptStep("a.py", name="A", arguments=[p1], source_directory=str(src))
    b = PythonScriptStep("b.py", name="B", arguments=[p2], source_directory=str(src))
    errors = Pipeline(ws, [a, b]).validate()
    _only(errors, step="B", field="PipelineParameter.name", contains="already in use")


def test_same_parameter_object_shared_is_fine(ws, src):
    p = PipelineParameter("lr", 0.1)
    a = PythonScriptStep("a.py", name="A", arguments=[p], source_directory=str(src))
    b = PythonScriptStep(
        "b.py", name="B", arguments=[p], params={"x": p}, source_directory=str(src)
    )
    assert Pipeline(ws, [a, b]).validate() == []


@pytest.mark.parametrize("default", [[1, 2], {"a": 1}, object(), float("nan"), None])
def test_unserialisable_parameter_default(ws, src, default):
    p = PipelineParameter("bad", default)
    a = PythonScriptStep("a.py", name="A", arguments=[p], source_directory=str(src))
    errors = Pipeline(ws, [a]).validate()
    _only(errors, step="A", field="PipelineParameter.default_value", contains="defaults must be")


@pytest.mark.parametrize("name", ["bad name", "../up", "a/b", "1abc", ""])
def test_output_name_must_be_identifier(ws, src, name):
    d = PipelineData(name)
    a = PythonScriptStep("a.py", name="A", outputs=[d], source_directory=str(src))
    errors = Pipeline(ws, [a]).validate()
    _only(errors, step="A", field="outputs", contains="not a valid identifier")


def test_script_name_path_traversal(ws, src):
    a = PythonScriptStep("../a.py", name="A", source_directory=str(src))
    errors = Pipeline(ws, [a]).validate()
    _only(errors, step="A", field="script_name", contains="relative to source_directory")


def test_argument_not_declared_as_input(ws, src):
    d = PipelineData("d")
    a = PythonScriptStep("a.py", name="A", outputs=[d], source_directory=str(src))
    b = PythonScriptStep("b.py", name="B", arguments=[d], source_directory=str(src))
    b.run_after(a)
    errors = Pipeline(ws, [b]).validate()
    _only(errors, step="B", field="arguments", contains="not listed in this step's inputs")


def test_script_name_must_be_string():
    with pytest.raises(ValidationError) as exc:
        PythonScriptStep(42, name="A")  # type: ignore[arg-type]
    assert exc.value.field == "script_name" and exc.value.step == "A"


def test_submit_raises_all_errors_before_running(ws, src, experiment_name):
    a = PythonScriptStep("missing.py", name="A", source_directory=str(src))
    b = PythonScriptStep("b.py", name="A", source_directory=str(src))
    before = _runs_before(ws)
    with pytest.raises(PipelineValidationError) as exc:
        Experiment(ws, experiment_name).submit(Pipeline(ws, [a, b]))
    assert len(exc.value.errors) == 2
    assert _runs_before(ws) == before


def test_unknown_pipeline_parameter(ws, src, experiment_name):
    p = PipelineParameter("pipeline_arg", 10)
    a = PythonScriptStep("a.py", name="A", arguments=[p], source_directory=str(src))
    before = _runs_before(ws)
    with pytest.raises(ValidationError) as exc:
        Experiment(ws, experiment_name).submit(
            Pipeline(ws, [a]), pipeline_parameters={"pipeline_argg": 3}
        )
    assert exc.value.field == "pipeline_parameters"
    assert "pipeline_argg" in str(exc.value) and "pipeline_arg" in str(exc.value)
    assert _runs_before(ws) == before


@pytest.mark.parametrize("value", ["20", 2.5, True, None])
def test_wrong_parameter_type(ws, src, experiment_name, value):
    p = PipelineParameter("pipeline_arg", 10)
    a = PythonScriptStep("a.py", name="A", arguments=[p], source_directory=str(src))
    with pytest.raises(ValidationError) as exc:
        Experiment(ws, experiment_name).submit(
            Pipeline(ws, [a]), pipeline_parameters={"pipeline_arg": value}
        )
    assert exc.value.field == "pipeline_parameters.pipeline_arg"
    assert "integer" in str(exc.value)


def test_bad_experiment_name(ws, src):
    with pytest.raises(ValidationError) as exc:
        Experiment(ws, "bad name/../x")
    assert exc.value.field == "experiment_name"


def test_unknown_compute_target(ws, src):
    a = PythonScriptStep("a.py", name="A", compute_target="gpu-cluster", source_directory=str(src))
    errors = Pipeline(ws, [a]).validate()
    _only(errors, step="A", field="compute_target", contains="not registered")


def test_shared_source_directory_warns(ws, src):
    a = PythonScriptStep("a.py", name="A", source_directory=str(src))
    b = PythonScriptStep("b.py", name="B", source_directory=str(src))
    with pytest.warns(UserWarning, match="share source_directory"):
        assert Pipeline(ws, [a, b]).validate() == []


def test_same_script_in_shared_directory_does_not_warn(ws, src, recwarn):
    a = PythonScriptStep("a.py", name="A", arguments=["--model", "x"], source_directory=str(src))
    b = PythonScriptStep("a.py", name="B", arguments=["--model", "y"], source_directory=str(src))
    assert Pipeline(ws, [a, b]).validate() == []
    assert not [w for w in recwarn if "share source_directory" in str(w.message)]


def test_graph_keeps_one_edge_per_port(ws, src):
    d1, d2 = PipelineData("d1"), PipelineData("d2")
    a = PythonScriptStep(
        "a.py", name="A", arguments=[d1, d2], outputs=[d1, d2], source_directory=str(src)
    )
    b = PythonScriptStep(
        "b.py", name="B", arguments=[d1, d2], inputs=[d1, d2], source_directory=str(src)
    )
    graph = Pipeline(ws, [b]).graph
    assert graph.node_names() == ["A", "B"]
    assert sorted((e.source, e.target, e.port) for e in graph.edges) == [
        ("A", "B", "d1"),
        ("A", "B", "d2"),
    ]
    assert a.name == "A"


# ------------------------------------------- issue #10: bad input caught at validate()
def _rc(**variables):
    from airflow_aml.core import RunConfiguration

    rc = RunConfiguration()
    rc.environment_variables = dict(variables)
    return rc


def _env_rc(**variables):
    from airflow_aml.core import RunConfiguration

    rc = RunConfiguration()
    rc.environment.environment_variables = dict(variables)
    return rc


_BIG = "x" * 131072  # one byte over Linux's MAX_ARG_STRLEN with its NUL


@pytest.mark.parametrize(
    ("kwargs", "field", "reason"),
    [
        ({"runconfig": _rc(**{"A=B": "1"})}, "runconfig.environment_variables", "contains '='"),
        ({"runconfig": _rc(**{"": "1"})}, "runconfig.environment_variables", "is empty"),
        ({"runconfig": _rc(**{"A\x00": "1"})}, "runconfig.environment_variables", "NUL"),
        ({"runconfig": _rc(A="x\x00")}, "runconfig.environment_variables", "NUL"),
        ({"runconfig": _rc(A=float("nan"))}, "runconfig.environment_variables", "finite"),
        ({"runconfig": _rc(A=_BIG)}, "runconfig.environment_variables", "MAX_ARG_STRLEN"),
        (
            {"runconfig": _env_rc(**{"A=B": "1"})},
            "runconfig.environment.environment_variables",
            "contains '='",
        ),
        ({"runconfig": {"environment_variables": {}}}, "runconfig", "must be a RunConfiguration"),
        ({"params": {"a=b": 1}}, "params", "contains '='"),
        ({"params": {"": 1}}, "params", "is empty"),
        ({"params": {"a\x00": 1}}, "params", "NUL"),
        ({"params": {"a": "x\x00"}}, "params", "NUL"),
        ({"params": {"a": float("inf")}}, "params", "finite"),
        ({"params": {"a": _BIG}}, "params", "MAX_ARG_STRLEN"),
        ({"arguments": ["--x", "a\x00b"]}, "arguments", "NUL"),
        ({"arguments": [float("nan")]}, "arguments", "finite"),
        ({"arguments": [float("-inf")]}, "arguments", "finite"),
        ({"arguments": [10**4000]}, "arguments", "4000 digits"),
        ({"arguments": [_BIG]}, "arguments", "MAX_ARG_STRLEN = 131072"),
        ({"arguments": ["y" * 100_000] * 40}, "arguments", "SC_ARG_MAX"),
        (
            {"arguments": [PipelineParameter("p", "a\x00")]},
            "PipelineParameter.default_value",
            "NUL",
        ),
        (
            {"arguments": [PipelineParameter("p", "z" * 131060)]},
            "PipelineParameter.default_value",
            "environment variable AML_PARAMETER_p",
        ),
        ({"version": 3}, "version", "must be a string"),
        ({"version": ["1"]}, "version", "must be a string"),
        ({"allow_reuse": "false"}, "allow_reuse", "must be True or False"),
        ({"source_directory": "src\x00"}, "source_directory", "NUL"),
    ],
)
def test_bad_literals_are_refused_naming_step_and_field(ws, src, kwargs, field, reason):
    """Each of these passed validate() and failed at run time (or as E2BIG) before."""
    kwargs = {"source_directory": str(src), **kwargs}
    step = PythonScriptStep("a.py", name="S", **kwargs)
    errors = Pipeline(ws, [step]).validate()
    _only(errors, step="S", field=field, contains=reason)


def test_total_size_counts_every_parameter_exported_to_the_step(ws, src):
    """Every PipelineParameter is exported to every step as AML_PARAMETER_<name>: a step
    that uses none of them still gets them all in its environment."""
    uses = [PipelineParameter(f"p{i}", "v" * 120_000) for i in range(20)]
    a = PythonScriptStep("a.py", name="A", arguments=uses, source_directory=str(src))
    b = PythonScriptStep("b.py", name="B", source_directory=str(src))
    errors = Pipeline(ws, [a, b]).validate()
    _only(errors, step="B", field="arguments", contains="AML_PARAMETER_<name> included")
    _only(errors, step="A", field="arguments", contains="SC_ARG_MAX")


def test_step_name_with_nul_is_refused(ws, src):
    step = PythonScriptStep("a.py", name="bad\x00name", source_directory=str(src))
    errors = Pipeline(ws, [step]).validate()
    assert any(e.field == "name" and "NUL" in str(e) for e in errors), errors


def test_script_name_with_nul_is_refused(ws, src):
    step = PythonScriptStep("a\x00.py", name="S", source_directory=str(src))
    _only(Pipeline(ws, [step]).validate(), step="S", field="script_name", contains="NUL")


@pytest.mark.parametrize("description", [5, {"text": "x"}, ["x"]])
def test_pipeline_description_must_be_a_string(ws, src, description):
    step = PythonScriptStep("a.py", source_directory=str(src))
    with pytest.raises(ValidationError, match="description must be a string") as exc:
        Pipeline(ws, [step], description=description)
    assert exc.value.field == "description"
    pipeline = Pipeline(ws, [step])
    pipeline.description = description  # set later: validate() names it too
    assert [e.field for e in pipeline.validate()] == ["description"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"description": {"a": 1}}, "description"),
        ({"version": 2}, "version"),
        ({"version": 1.0}, "version"),
        ({"continue_on_step_failure": "no"}, "continue_on_step_failure"),
    ],
)
def test_publish_options_are_typed(ws, src, kwargs, field):
    from airflow_aml.pipeline.core import PublishedPipeline

    before = {p.id for p in PublishedPipeline.list(ws, active_only=False)}
    step = PythonScriptStep("a.py", source_directory=str(src))
    with pytest.raises(ValidationError) as exc:
        Pipeline(ws, [step]).publish(name="typed", **kwargs)
    assert exc.value.field == field
    assert {p.id for p in PublishedPipeline.list(ws, active_only=False)} == before


@pytest.mark.parametrize(
    ("default_path", "reason"),
    [("../up", "must not contain '..'"), ("/abs", "must be relative"), ("a\x00", "NUL")],
)
def test_datapath_default_paths_set_after_construction_are_checked(ws, src, default_path, reason):
    from airflow_aml.data import DataPath, DataPathComputeBinding

    path = DataPath(ws.get_default_datastore(), "ok")
    path.path_on_datastore = default_path  # DataPath() refuses it; attributes are open
    param = (PipelineParameter("where", path), DataPathComputeBinding())
    step = PythonScriptStep(
        "a.py", name="S", arguments=[param], inputs=[param], source_directory=str(src)
    )
    errors = Pipeline(ws, [step]).validate()
    _only(errors, step="S", field="PipelineParameter.default_value", contains=reason)


@pytest.mark.parametrize(
    ("submit_kwargs", "field"),
    [
        ({"regenerate_outputs": "false"}, "regenerate_outputs"),
        ({"regenerate_outputs": 0}, "regenerate_outputs"),
        ({"continue_on_step_failure": "no"}, "continue_on_step_failure"),
        ({"pipeline_parameters": {"p": "a\x00"}}, "pipeline_parameters.p"),
        ({"pipeline_parameters": {"p": "b" * 900_000}}, "pipeline_parameters.p"),
    ],
)
def test_submit_refuses_bad_options_before_running(ws, src, experiment_name, submit_kwargs, field):
    step = PythonScriptStep(
        "a.py", arguments=[PipelineParameter("p", "x")], source_directory=str(src)
    )
    before = _runs_before(ws)
    with pytest.raises(ValidationError) as exc:
        Pipeline(ws, [step]).submit(experiment_name, **submit_kwargs)
    assert exc.value.field == field
    assert _runs_before(ws) == before
