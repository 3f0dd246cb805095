"""The opt-in shim runs unmodified ``azureml`` imports."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import airflow_aml.shim as shim


@pytest.fixture
def installed():
    shim.install()
    yield
    shim.uninstall()


def test_azureml_imports_resolve_to_airflow_aml(installed):
    from azureml.core import Workspace  # type: ignore[import-not-found]
    from azureml.pipeline.core import PipelineData  # type: ignore[import-not-found]
    from azureml.pipeline.core.graph import PipelineParameter  # type: ignore[import-not-found]
    from azureml.pipeline.steps import PythonScriptStep  # type: ignore[import-not-found]

    import airflow_aml.core
    import airflow_aml.pipeline.core
    import airflow_aml.pipeline.steps

    assert Workspace is airflow_aml.core.Workspace
    assert PipelineData is airflow_aml.pipeline.core.PipelineData
    assert PythonScriptStep is airflow_aml.pipeline.steps.PythonScriptStep
    assert PipelineParameter is airflow_aml.pipeline.core.PipelineParameter


def test_missing_name_is_a_clear_import_error(installed):
    expected = (
        "No module named 'azureml.train.hyperdrive': airflow-aml has no "
        "'airflow_aml.train.hyperdrive'"
    )
    with pytest.raises(ModuleNotFoundError, match=expected):
        import azureml.train.hyperdrive  # type: ignore[import-not-found]  # noqa: F401


def test_run_unmodified_script(tmp_path, ws):
    script = tmp_path / "v1.py"
    script.write_text(
        textwrap.dedent("""
        from azureml.core import Workspace, Experiment
        from azureml.pipeline.core import Pipeline
        from azureml.pipeline.steps import PythonScriptStep
        ws = Workspace.from_config()
        step = PythonScriptStep("s.py", source_directory=".")
        print("valid:", Pipeline(workspace=ws, steps=[step]).validate() == [])
    """)
    )
    (tmp_path / "s.py").write_text("print('hi')\n")
    out = subprocess.run(
        [sys.executable, "-m", "airflow_aml.shim", str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "valid: True" in out.stdout
