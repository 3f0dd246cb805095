"""SDK v1 behaviours real pipeline code relies on, run on the embedded Airflow."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from airflow_aml.core import Experiment, RunConfiguration
from airflow_aml.exceptions import ValidationError, WorkspaceException
from airflow_aml.pipeline.core import Pipeline, PipelineData, PipelineRun
from airflow_aml.pipeline.steps import PythonScriptStep

pytestmark = pytest.mark.e2e

V1_STEP = """
from azureml.core import Run  # as nearly every v1 step script starts
import azureml.core
import airflow_aml.core

run = Run.get_context()
print("OURS", azureml.core is airflow_aml.core, Run is airflow_aml.core.Run)
run.log("answer", 42)
run.tag("origin", "v1-script")
run.parent.log("pipeline_metric", 7)
run.parent.tag("pipeline_tag", "set-by-step")
props = run.get_properties()
print("PROPS", props["azureml.runsource"], props["StepType"], run.id)
"""


def _fake_real_azureml(root: Path) -> Path:
    """A stand-in for a real ``azureml`` install: it must lose to ours inside steps."""
    pkg = root / "site" / "azureml"
    (pkg / "core").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "core" / "__init__.py").write_text(
        "raise ImportError('the real azureml-core was imported, not airflow_aml')\n"
    )
    return root / "site"


def test_step_scripts_import_azureml_and_ours_wins(ws, make_source, experiment_name, tmp_path):
    site = _fake_real_azureml(tmp_path)
    src = make_source({"v1.py": V1_STEP})
    rc = RunConfiguration()
    rc.environment_variables = {"PYTHONPATH": str(site)}  # the real package is importable
    step = PythonScriptStep("v1.py", name="v1", source_directory=str(src), runconfig=rc)
    run = Experiment(ws, experiment_name).submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"
    step_run = run.find_step_run("v1")[0]
    out = step_run.get_stdout_log()
    assert "OURS True True" in out
    assert f"PROPS azureml.StepRun PythonScriptStep {step_run.id}" in out
    assert step_run.get_metrics() == {"answer": 42}


def test_reused_step_keeps_its_results(ws, make_source, experiment_name):
    src = make_source({"v1.py": V1_STEP})
    step = PythonScriptStep("v1.py", name="v1", source_directory=str(src))
    first = Experiment(ws, experiment_name).submit(Pipeline(ws, [step]))
    assert first.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"
    second = Experiment(ws, experiment_name).submit(Pipeline(ws, [step]))
    assert second.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"
    reused = second.find_step_run("v1")[0]
    assert reused.is_reused and reused.reused_run_id == first.id
    # v1: a reused step run reports the original execution's metrics, tags, outputs.
    assert reused.get_metrics() == {"answer": 42}
    assert reused.get_tags() == {"origin": "v1-script"}
    assert second.get_metrics() == {"pipeline_metric": 7}
    assert second.get_tags() == {"pipeline_tag": "set-by-step"}
    assert "OURS True True" in reused.get_stdout_log()
    props = reused.get_properties()
    assert props["azureml.isreused"] == "true"
    assert props["azureml.reusedpipelinerunid"] == first.id
    assert props["azureml.pipelinerunid"] == second.id  # its own run, not the reused one


def test_recreated_steps_are_the_producers(ws, make_source, experiment_name):
    """Re-running notebook cells: new steps built on the same PipelineData objects."""
    src = make_source(
        {
            "produce.py": "import os, sys\nos.makedirs(sys.argv[1], exist_ok=True)\n"
            "open(os.path.join(sys.argv[1], 'v.txt'), 'w').write(sys.argv[2])\n",
            "consume.py": "import sys\nprint('GOT', open(sys.argv[1] + '/v.txt').read())\n",
        }
    )
    data = PipelineData("data")

    def cell(version: str) -> PythonScriptStep:
        PythonScriptStep(  # the producer: registers itself on `data`
            "produce.py",
            name="produce",
            arguments=[data, version],
            outputs=[data],
            source_directory=str(src),
        )
        return PythonScriptStep(
            "consume.py",
            name="consume",
            arguments=[data],
            inputs=[data],
            source_directory=str(src),
        )

    cell("first")
    consume = cell("second")  # the cell ran again
    pipeline = Pipeline(ws, [consume])
    assert pipeline.validate() == []
    assert sorted(pipeline.graph.node_names()) == ["consume", "produce"]
    run = Experiment(ws, experiment_name).submit(pipeline)
    assert run.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"
    assert "GOT second" in run.find_step_run("consume")[0].get_stdout_log()


def test_experiments_are_keyed_by_experiment_name(ws, make_source, experiment_name):
    src = make_source({"a.py": "print('a')\n"})
    step = PythonScriptStep("a.py", name="a", source_directory=str(src))
    published = Pipeline(ws, [step]).publish(name=f"keyed-{experiment_name}")
    run = published.submit(ws, experiment_name)  # the DAG is the published pipeline's
    assert run.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"
    assert experiment_name in ws.experiments
    assert published.dag_id not in ws.experiments
    again = PipelineRun(ws.experiments[experiment_name], run.id)
    assert again.get_status() == "Finished"
    assert [r.id for r in ws.experiments[experiment_name].get_runs()] == [run.id]
    props = again.get_properties()
    assert props["azureml.pipelineid"] == published.id
    assert props["azureml.runsource"] == "azureml.PipelineRun"
    assert props["runSource"] == "SDK"
    assert json.loads(props["azureml.parameters"]) == {}


def test_reuse_notes_say_why_in_the_airflow_ui(ws, make_source, experiment_name):
    import sqlite3

    src = make_source({"a.py": f"print({experiment_name!r})\n"})  # never run before
    step = PythonScriptStep("a.py", name="a", source_directory=str(src))
    runs = []
    for _ in range(2):
        run = Experiment(ws, experiment_name).submit(Pipeline(ws, [step]))
        assert run.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"
        runs.append(run)
    db = sqlite3.connect(ws.airflow_home / "airflow.db")
    try:
        notes = dict(
            db.execute(
                "SELECT ti.run_id, n.content FROM task_instance ti JOIN task_instance_note n "
                "ON n.ti_id = ti.id WHERE ti.dag_id = ?",
                (experiment_name,),
            ).fetchall()
        )
    finally:
        db.close()
    assert notes[runs[0].id] == "Ran: no earlier execution of this step"
    assert notes[runs[1].id].startswith(f"Reused: outputs come from step 'a' of run {runs[0].id}")


def test_datapath_tuple_problems_are_reported_by_validate(ws, make_source):
    from airflow_aml.data.datapath import DataPath, DataPathComputeBinding
    from airflow_aml.pipeline.core import PipelineParameter

    src = make_source({"a.py": "print('a')\n"})
    store = ws.get_default_datastore()
    param = PipelineParameter("input_datapath", DataPath(store, "somewhere"))
    bound = (param, DataPathComputeBinding(mode="mount"))
    not_listed = PythonScriptStep(
        "a.py", name="a", arguments=["--p", bound], source_directory=str(src)
    )
    errors = Pipeline(ws, [not_listed]).validate()
    assert [(e.step, e.field) for e in errors] == [("a", "arguments")]
    assert "'input_datapath' appears in arguments but is not in this step's inputs" in str(
        errors[0]
    )
    bad_mode = (param, DataPathComputeBinding(mode="upload"))
    step = PythonScriptStep("a.py", name="b", inputs=[bad_mode], source_directory=str(src))
    assert "mode 'upload'" in str(Pipeline(ws, [step]).validate()[0])
    ok = PythonScriptStep(
        "a.py", name="c", arguments=[bound], inputs=[bound], source_directory=str(src)
    )
    pipeline = Pipeline(ws, [ok])
    assert pipeline.validate() == []
    exp = Experiment(ws, "datapath-validation")
    for value, reason in (
        ({"datastore": "nope", "path": "x"}, "datastore 'nope', which this pipeline does not use"),
        ({"datastore": store.name, "path": "../etc"}, "must not contain '..'"),
        ("a string", "expected a DataPath"),
    ):
        with pytest.raises(ValidationError, match=reason):
            exp.submit(pipeline, pipeline_parameters={"input_datapath": value})


def test_workspace_setting_turns_the_step_shim_off(tmp_path):
    from airflow_aml.core import Workspace

    config = tmp_path / ".azureml" / "config.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"home": str(tmp_path / "home"), "azureml_shim": False}))
    ws_off = Workspace.from_config(path=str(tmp_path))
    assert ws_off._to_runtime_config()["azureml_shim"] is False
    config.write_text(json.dumps({"home": str(tmp_path / "home"), "azureml_shim": "no"}))
    with pytest.raises(WorkspaceException, match="'azureml_shim' must be true or false"):
        Workspace.from_config(path=str(tmp_path))


def test_launcher_without_the_shim_leaves_azureml_imports_alone(tmp_path):
    import os
    import subprocess
    import sys

    site = _fake_real_azureml(tmp_path)
    script = tmp_path / "s.py"
    script.write_text(
        textwrap.dedent("""
        import sys
        print("ARGV", sys.argv[1:], sys.path[0])
        import azureml.core
    """)
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    launcher = [sys.executable, "-m", "airflow_aml.runtime.launcher"]
    with_shim = subprocess.run(
        [*launcher, str(script), "x"], env=env, capture_output=True, text=True, timeout=60
    )
    assert with_shim.returncode == 0, with_shim.stderr
    assert f"ARGV ['x'] {tmp_path}" in with_shim.stdout
    without = subprocess.run(
        [*launcher, "--no-azureml-shim", str(script), "x"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert without.returncode == 1
    assert "the real azureml-core was imported" in without.stderr


@pytest.mark.parametrize("mode", ["mount", "download"])
def test_datapath_parameter_bound_in_either_mode_reaches_the_script(
    ws, make_source, experiment_name, mode
):
    """Issue #8 point 3: ``(PipelineParameter(DataPath), DataPathComputeBinding(mode))``
    in arguments and inputs gives the script the path on compute, for the default and
    for a ``pipeline_parameters`` override, in both v1 modes."""
    from airflow_aml.data.datapath import DataPath, DataPathComputeBinding
    from airflow_aml.pipeline.core import PipelineParameter

    store = ws.get_default_datastore()
    root = Path(store.root)  # a local datastore
    for name, text in ((f"{experiment_name}/a", "first"), (f"{experiment_name}/b", "second")):
        (root / name).mkdir(parents=True)
        (root / name / "data.txt").write_text(text)
    src = make_source(
        {
            "read.py": "import os, sys\n"
            "print('READ', open(os.path.join(sys.argv[1], 'data.txt')).read())\n"
        }
    )
    param = PipelineParameter("input_datapath", DataPath(store, f"{experiment_name}/a"))
    bound = (param, DataPathComputeBinding(mode=mode))
    step = PythonScriptStep(
        "read.py", name="read", arguments=[bound], inputs=[bound], source_directory=str(src)
    )
    pipeline = Pipeline(ws, [step])
    exp = Experiment(ws, experiment_name)
    first = exp.submit(pipeline)
    second = exp.submit(
        pipeline,
        pipeline_parameters={"input_datapath": DataPath(store, f"{experiment_name}/b")},
    )
    for run, text in ((first, "first"), (second, "second")):
        assert run.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"
        assert f"READ {text}" in run.find_step_run("read")[0].get_stdout_log()
