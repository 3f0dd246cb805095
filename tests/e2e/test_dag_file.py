"""A pipeline exposed as a DAG in a DAG file (``pipeline.as_dag``) runs in Airflow,
from its live source folder, with reuse checks."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.e2e

DAG_FILE = """
from airflow_aml.core import Workspace
from airflow_aml.pipeline.core import Pipeline, PipelineData, PipelineParameter
from airflow_aml.pipeline.steps import PythonScriptStep

ws = Workspace.from_config()
out = PipelineData("out")
n = PipelineParameter("n", 2)
step = PythonScriptStep("w.py", name="write", source_directory={src!r},
                        arguments=[out, n], outputs=[out])
dag = Pipeline(ws, [step]).as_dag("aml_dag_file_demo")
"""
WRITE = """
import os, sys
os.makedirs(sys.argv[1], exist_ok=True)
open(os.path.join(sys.argv[1], "n.txt"), "w").write(sys.argv[2])
open({counter!r}, "a").write("x")
"""
RUN = """
import sys
from airflow.dag_processing.dagbag import DagBag
from airflow.utils import db
db.upgradedb()
bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
for conf in ({"n": 5}, {"n": 5}, {"n": 6}):
    dr = bag.dags["aml_dag_file_demo"].test(run_conf=conf)
    print("STATE", dr.state)
"""


def test_dag_file_pipeline_runs_with_reuse(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    counter = tmp_path / "count.txt"
    (src / "w.py").write_text(textwrap.dedent(WRITE.format(counter=str(counter))))
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "demo_dag.py").write_text(DAG_FILE.format(src=str(src)))
    home = tmp_path / "airflow"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "AIRFLOW__"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(dags),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW_AML_HOME=str(tmp_path / "aml"),
        AIRFLOW__AML__CACHE_DIR=str(tmp_path / "cache"),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
    )
    out = subprocess.run(
        [sys.executable, "-c", RUN, str(dags)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert out.stdout.count("STATE success") == 3, out.stdout[-3000:]
    # n=5 ran, the identical second run was reused, n=6 ran: the script body ran twice.
    assert counter.read_text() == "xx"
    written = sorted(
        (tmp_path / "aml" / "datastores" / "workspaceblobstore" / "azureml").glob(
            "*_write/out/n.txt"
        )
    )
    assert sorted(p.read_text() for p in written) == ["5", "6"]
