"""PipelineSpec serialisation and render_dag: tasks, edges, params, schedule."""

from __future__ import annotations

import json

import pytest

from airflow_aml.compiler.render import render_dag
from airflow_aml.core import Workspace
from airflow_aml.core.compute import AmlCompute, ComputeTarget
from airflow_aml.data import DataPath, DataPathComputeBinding
from airflow_aml.exceptions import SpecError
from airflow_aml.pipeline.core import Pipeline, PipelineData, PipelineParameter, StepSequence
from airflow_aml.pipeline.core.graph import Edge
from airflow_aml.pipeline.steps import PythonScriptStep
from airflow_aml.spec import SPEC_VERSION, PipelineSpec


@pytest.fixture
def fresh_ws(tmp_path):
    return Workspace("sub", "rg", "compiler_ws", home=tmp_path / "ws_home")


@pytest.fixture
def src(make_source):
    return make_source(
        {
            "prep.py": "print('prep')\n",
            "eval.py": "print('eval')\n",
            "train.py": "print('train')\n",
        }
    )


@pytest.fixture
def three_steps(fresh_ws, src):
    """prep -(data)-> train; StepSequence: prep then eval; run_after: train after eval."""
    prepared = PipelineData("prepared")
    lr = PipelineParameter("learning_rate", 0.1)
    epochs = PipelineParameter("epochs", 3)
    shuffle = PipelineParameter("shuffle", True)
    label = PipelineParameter("label", "baseline")
    prep = PythonScriptStep(
        "prep.py",
        name="Prepare data",
        arguments=["--out", prepared, "--label", label],
        outputs=[prepared],
        source_directory=str(src),
    )
    evaluate = PythonScriptStep(
        "eval.py",
        name="Evaluate model",
        arguments=["--shuffle", shuffle],
        source_directory=str(src),
    )
    train = PythonScriptStep(
        "train.py",
        name="Train model",
        arguments=["--in", prepared, "--lr", lr, "--epochs", epochs],
        inputs=[prepared],
        source_directory=str(src),
        allow_reuse=False,
    )
    train.run_after(evaluate)
    pipeline = Pipeline(fresh_ws, [StepSequence([prep, evaluate]), [train]], description="demo")
    return pipeline


@pytest.fixture
def spec(three_steps):
    result = three_steps._compile("spec-exp")
    assert result.errors == []
    assert result.spec is not None
    return result.spec


# ------------------------------------------------------------------------ spec
def test_compiled_spec_shape(spec):
    assert spec.dag_id == "spec-exp"
    assert [s.name for s in spec.steps] == ["Prepare data", "Evaluate model", "Train model"]
    assert [s.task_id for s in spec.steps] == ["Prepare_data", "Evaluate_model", "Train_model"]
    assert spec.step("Prepare data").upstream == ()
    assert spec.step("Evaluate model").upstream == ("Prepare data",)
    assert set(spec.step("Train model").upstream) == {"Prepare data", "Evaluate model"}
    assert spec.parameter_defaults() == {
        "label": "baseline",
        "learning_rate": 0.1,
        "epochs": 3,
        "shuffle": True,
    }
    assert {p.name: p.type for p in spec.parameters} == {
        "label": "string",
        "learning_rate": "number",
        "epochs": "integer",
        "shuffle": "boolean",
    }
    train = spec.step("Train model")
    assert train.arguments == (
        {"literal": "--in"},
        {"input": "prepared"},
        {"literal": "--lr"},
        {"param": "learning_rate"},
        {"literal": "--epochs"},
        {"param": "epochs"},
    )
    assert train.input("prepared").producer == "Prepare data"
    assert train.allow_reuse is False


def test_spec_json_round_trip(spec):
    data = spec.to_json()
    assert PipelineSpec.from_json(data) == spec
    text = spec.dumps()
    assert json.loads(text) == json.loads(json.dumps(data))  # plain JSON
    again = PipelineSpec.loads(text)
    assert again == spec
    assert again.dumps() == text
    assert again.digest() == spec.digest()


def test_spec_round_trip_with_datapath_and_data_reference(fresh_ws, src):
    store = fresh_ws.get_default_datastore()
    data_path = PipelineParameter("input_path", DataPath(store, "raw/2024"))
    ref = store.path("ref/lookup", data_reference_name="lookup").as_download()
    step = PythonScriptStep(
        "train.py",
        name="train",
        arguments=["--data", data_path, "--lookup", ref],
        inputs=[(data_path, DataPathComputeBinding(mode="mount")), ref],
        params={"seed": 7, "lr": PipelineParameter("lr", 0.5)},
        source_directory=str(src),
    )
    result = Pipeline(fresh_ws, [step])._compile("dp-exp")
    assert result.errors == []
    spec = result.spec
    assert spec is not None
    assert spec.parameter_defaults()["input_path"] == {
        "datastore": "workspaceblobstore",
        "path": "raw/2024",
    }
    assert PipelineSpec.loads(spec.dumps()) == spec
    assert PipelineSpec.from_json(spec.to_json()) == spec
    param = render_dag(spec).params.get_param("input_path")
    assert param.schema["type"] == "object"
    assert param.value == {"datastore": "workspaceblobstore", "path": "raw/2024"}


@pytest.mark.parametrize(
    ("corrupt", "where"),
    [
        (lambda d: d["steps"][0].update(kind="DatabricksStep"), "unknown step kind"),
        (lambda d: d["steps"][0].update(allow_reuse="yes"), "steps.0.PythonScriptStep.allow_reuse"),
        (lambda d: d["steps"][0].update(arguments=[{"shell": "rm"}]), "malformed argument"),
        (
            lambda d: d["steps"][0]["inputs"].append({"name": "x"}),
            "steps.0.PythonScriptStep.inputs",
        ),
        (lambda d: d.update(parameters=[{"name": "p", "type": "object", "default": 1}]), "type"),
        (lambda d: d.update(surprise=1), "surprise"),
        (lambda d: d.pop("steps"), "steps"),
    ],
)
def test_a_corrupt_spec_is_refused_naming_the_field(spec, corrupt, where):
    data = json.loads(spec.dumps())  # as stored
    corrupt(data)
    with pytest.raises(SpecError, match=where.replace(".", r"\.")):
        PipelineSpec.from_json(data)


def test_a_spec_that_is_not_json_is_a_spec_error():
    with pytest.raises(SpecError, match="must be JSON"):
        PipelineSpec.loads('{"dag_id": ')


@pytest.mark.parametrize("version", [None, 0, SPEC_VERSION + 1, "1"])
def test_wrong_spec_version_rejected(spec, version):
    data = spec.to_json()
    if version is None:
        del data["spec_version"]
    else:
        data["spec_version"] = version
    with pytest.raises(SpecError, match="spec_version"):
        PipelineSpec.from_json(data)
    with pytest.raises(SpecError, match="spec_version"):
        PipelineSpec.loads(json.dumps(data))


# ---------------------------------------------------------------------- render
@pytest.fixture
def dag(spec):
    return render_dag(spec)


STEP_TASKS = ["Evaluate_model", "Prepare_data", "Train_model"]


def test_render_task_ids_and_display_names(dag):
    assert dag.dag_id == "spec-exp"
    assert sorted(dag.task_ids) == sorted(STEP_TASKS)  # one task per step
    names = {t.task_id: t.task_display_name for t in dag.tasks}
    assert names == {
        "Prepare_data": "Prepare data",
        "Evaluate_model": "Evaluate model",
        "Train_model": "Train model",
    }


def test_task_ids_are_sanitised_and_unique(fresh_ws, src):
    names = ["Train model", "Train_model", "step/1 (v2)", "  ..odd--name.. "]
    steps = [PythonScriptStep("train.py", name=n, source_directory=str(src)) for n in names]
    spec = Pipeline(fresh_ws, steps)._compile("ids-exp").spec
    assert spec is not None
    ids = {s.name: s.task_id for s in spec.steps}
    assert ids == {
        "Train model": "Train_model",
        "Train_model": "Train_model_2",
        "step/1 (v2)": "step_1_v2",
        "  ..odd--name.. ": "odd--name",
    }
    dag = render_dag(spec)
    shown = {t.task_id: t.task_display_name for t in dag.tasks}
    assert shown == {v: k for k, v in ids.items()}


def test_render_edges_follow_data_run_after_and_sequence(dag):
    upstream = {t.task_id: set(t.upstream_task_ids) for t in dag.tasks}
    assert upstream == {
        "Prepare_data": set(),
        "Evaluate_model": {"Prepare_data"},  # StepSequence order
        "Train_model": {"Prepare_data", "Evaluate_model"},  # data + run_after
    }
    # A reused step succeeds (with the reused outputs), so the default rule is right:
    # a failed upstream makes its downstream steps upstream_failed (v1's NotStarted).
    assert {t.trigger_rule for t in dag.tasks} == {"all_success"}


def test_embedded_dags_say_what_runs_on_an_embedded_home(spec):
    from airflow_aml.compiler.render import EMBEDDED_DOC

    assert EMBEDDED_DOC in render_dag(spec, embedded=True).doc_md
    assert EMBEDDED_DOC not in render_dag(spec).doc_md
    assert "Trigger button" in EMBEDDED_DOC and "queue" in EMBEDDED_DOC


def test_render_params_are_typed_params_with_defaults(dag):
    from airflow.sdk import Param

    # one Param per PipelineParameter, and the run options' (tests: test_conf_schema.py)
    assert set(dag.params) == {"label", "learning_rate", "epochs", "shuffle", "azureml"}
    expected = {
        "label": ("string", "baseline"),
        "learning_rate": ("number", 0.1),
        "epochs": ("integer", 3),
        "shuffle": ("boolean", True),
    }
    for name, (jtype, default) in expected.items():
        param = dag.params.get_param(name)
        assert isinstance(param, Param)
        assert param.schema["type"] == jtype
        assert param.value == default
        assert dag.params[name] == default


def test_render_is_unscheduled(dag):
    from airflow.sdk.definitions.timetables.simple import NullTimetable

    assert dag.schedule is None
    assert isinstance(dag.timetable, NullTimetable)
    assert dag.catchup is False
    assert dag.description == "demo"


def test_render_dag_kwargs_override(spec):
    dag = render_dag(spec, dag_id="override-id", tags=["custom"])
    assert dag.dag_id == "override-id"
    assert set(dag.tags) == {"custom"}


def test_render_puts_amlcompute_steps_in_their_pool(fresh_ws, src):
    ComputeTarget.create(fresh_ws, "cpu", AmlCompute.provisioning_configuration(max_nodes=2))
    step = PythonScriptStep(
        "train.py", name="train", compute_target="cpu", source_directory=str(src)
    )
    local = PythonScriptStep("eval.py", name="eval", source_directory=str(src))
    spec = Pipeline(fresh_ws, [step, local])._compile("pool-exp").spec
    assert spec is not None
    dag = render_dag(spec)
    assert dag.get_task("train").pool == "aml_cpu"
    assert dag.get_task("eval").pool == "default_pool"


# ----------------------------------------------------------------------- graph
def test_pipeline_graph(three_steps):
    graph = three_steps.graph
    assert graph.node_names() == ["Prepare data", "Evaluate model", "Train model"]
    assert [n.node_id for n in graph.nodes] == ["Prepare_data", "Evaluate_model", "Train_model"]
    assert set(graph.edges) == {
        Edge("Prepare data", "Evaluate model", None),
        Edge("Prepare data", "Train model", "prepared"),
        Edge("Evaluate model", "Train model", None),
    }
    assert graph.params == {
        "label": "baseline",
        "learning_rate": 0.1,
        "epochs": 3,
        "shuffle": True,
    }


def test_resolve_closure_false_reports_missing_upstream(fresh_ws, src):
    prepared = PipelineData("prepared")
    prep = PythonScriptStep(
        "prep.py", name="prep", arguments=[prepared], outputs=[prepared], source_directory=str(src)
    )
    train = PythonScriptStep(
        "train.py", name="train", arguments=[prepared], inputs=[prepared], source_directory=str(src)
    )
    assert prep.name == "prep"
    errors = Pipeline(fresh_ws, [train], resolve_closure=False).validate()
    assert errors, "a missing upstream step must be reported"
    assert all(e.step == "train" for e in errors)
    assert any("'prep'" in str(e) and "not in the pipeline" in str(e) for e in errors)
    # With the default resolve_closure=True the producer is pulled in.
    closed = Pipeline(fresh_ws, [train])
    assert closed.validate() == []
    assert closed.graph.node_names() == ["prep", "train"]


def test_only_steps_with_parallel_branches_ask_whether_another_step_failed(fresh_ws, src):
    from airflow_aml.compiler.render import concurrent_steps

    def step(name, after=()):
        s = PythonScriptStep("train.py", name=name, source_directory=str(src))
        for a in after:
            s.run_after(a)
        return s

    a = step("a")
    b, c = step("b", [a]), step("c", [a])
    d = step("d", [b, c])
    diamond = Pipeline(fresh_ws, [d])._compile("diamond").spec
    assert sorted(concurrent_steps(diamond)) == ["b", "c"]  # a and d run alone
    x = step("x")
    y = step("y", [x])
    chain = Pipeline(fresh_ws, [y, step("z", [y])])._compile("chain").spec
    assert concurrent_steps(chain) == []
    lone = Pipeline(fresh_ws, [y, step("w")])._compile("lone").spec
    assert sorted(concurrent_steps(lone)) == ["w", "x", "y"]
