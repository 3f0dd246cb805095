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


def _shim(*args: str, cwd=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "airflow_aml.shim", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_prints_usage_and_exits_0(flag):
    out = _shim(flag)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: python -m airflow_aml.shim")
    assert "import azureml.X" in out.stdout and out.stderr == ""


def test_missing_script_is_a_one_line_error(tmp_path):
    out = _shim("nope.py", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.splitlines() == [
        f"python -m airflow_aml.shim: can't open file {str(tmp_path / 'nope.py')!r}: no such file"
    ]


def test_no_arguments_and_unknown_options_print_usage(tmp_path):
    for args in ([], ["--bogus"]):
        out = _shim(*args, cwd=tmp_path)
        assert out.returncode == 2
        assert out.stderr.startswith("usage: python -m airflow_aml.shim")
        assert "Traceback" not in out.stderr


def test_script_gets_its_arguments_and_its_folder_on_sys_path(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "helper.py").write_text("VALUE = 42\n")
    (tmp_path / "pkg" / "main.py").write_text(
        "import sys\nimport helper\nfrom azureml.core import Workspace\n"
        "print(helper.VALUE, sys.argv[1:], Workspace.__module__)\n"
    )
    out = _shim(str(tmp_path / "pkg" / "main.py"), "--help", "x", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "42 ['--help', 'x'] airflow_aml.core.workspace"
