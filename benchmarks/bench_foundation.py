"""Foundation benchmarks (issue: foundation).

1. Per-step overhead: a 10-step chain of no-op PythonScriptSteps vs a
   hand-written DAG of 10 BashOperator tasks running ``python noop.py``,
   both under ``dag.test()`` in this process. Goal: ratio <= 1.5.
2. Compile time of a 1,000-step pipeline (spec + DAG). Goal: <= 1 s.
3. ``import airflow_aml`` object model in a fresh interpreter. Goal: <= 0.3 s.

Run: ``uv run python benchmarks/bench_foundation.py [--repeats N]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _home import fresh_home  # noqa: E402

HOME = fresh_home("aml-bench-foundation-")

from airflow_aml.core import Workspace  # noqa: E402
from airflow_aml.pipeline.core import Pipeline, StepSequence  # noqa: E402
from airflow_aml.pipeline.steps import PythonScriptStep  # noqa: E402


def _chain_pipeline(ws: Workspace, src: Path, n: int) -> Pipeline:
    steps = [
        PythonScriptStep("noop.py", name=f"step_{i}", source_directory=str(src)) for i in range(n)
    ]
    return Pipeline(ws, StepSequence(steps))


PLAIN_DAGS = """\
import subprocess

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, chain

with DAG("plain_bash_chain", schedule=None, catchup=False) as bash_dag:
    chain(*[BashOperator(task_id=f"t{{i}}", bash_command="{python} noop.py", cwd="{src}")
            for i in range({n})])


def _noop():
    subprocess.run(["{python}", "noop.py"], cwd="{src}", check=True)


with DAG("plain_python_chain", schedule=None, catchup=False) as python_dag:
    chain(*[PythonOperator(task_id=f"t{{i}}", python_callable=_noop) for i in range({n})])
"""


def _plain_dags(src: Path, n: int) -> dict:
    """Hand-written DAGs in a file of the dags folder, loaded the way Airflow loads them."""
    from airflow.dag_processing.dagbag import DagBag

    path = HOME / "airflow" / "dags" / "plain_chains.py"
    path.write_text(PLAIN_DAGS.format(python=sys.executable, src=src, n=n))
    bag = DagBag(dag_folder=str(path))
    assert not bag.import_errors, bag.import_errors
    return bag.dags


def _time_dag_test(dag) -> float:
    from airflow.sdk import timezone

    start = time.perf_counter()
    dr = dag.test(logical_date=timezone.utcnow())
    elapsed = time.perf_counter() - start
    assert str(dr.state) == "success", f"{dag.dag_id} ended {dr.state}"
    return elapsed


def bench_step_overhead(ws: Workspace, repeats: int) -> dict[str, float]:
    from airflow_aml.backends.airflow_home import ensure_database
    from airflow_aml.compiler.render import render_dag

    ensure_database(HOME / "airflow")
    src = HOME / "noop_src"
    src.mkdir(exist_ok=True)
    (src / "noop.py").write_text("pass\n")
    spec = _chain_pipeline(ws, src, 10)._compile("aml_chain").spec
    assert spec is not None
    specs = HOME / "registry" / "specs"
    specs.mkdir(parents=True, exist_ok=True)
    (specs / "aml_chain.json").write_text(spec.dumps())  # what submit() registers
    aml_dag = render_dag(spec)
    plain = _plain_dags(src, 10)
    bash, python = plain["plain_bash_chain"], plain["plain_python_chain"]
    for dag in (bash, python, aml_dag):  # warm-up: in-process execution API, imports
        _time_dag_test(dag)
    aml, base, base_py = [], [], []
    for _ in range(repeats):  # interleaved so drift hits all alike
        base.append(_time_dag_test(bash))
        base_py.append(_time_dag_test(python))
        aml.append(_time_dag_test(aml_dag))
    m_aml, m_bash, m_py = (statistics.median(x) for x in (aml, base, base_py))
    return {
        "aml_10_steps_s": m_aml,
        "plain_10_tasks_s": m_bash,
        "plain_python_10_tasks_s": m_py,
        "ratio": m_aml / m_bash,
        "ratio_vs_python_subprocess": m_aml / m_py,
    }


def bench_compile(ws: Workspace) -> dict[str, float]:
    from airflow_aml.compiler.render import render_dag

    src = HOME / "compile_src"
    src.mkdir(exist_ok=True)
    (src / "noop.py").write_text("pass\n")
    pipeline = _chain_pipeline(ws, src, 1000)
    render_dag(_chain_pipeline(ws, src, 3)._compile("warm").spec)  # import Airflow first
    t0 = time.perf_counter()
    result = pipeline._compile("big")
    t1 = time.perf_counter()
    assert result.spec is not None, result.errors
    dag = render_dag(result.spec)
    t2 = time.perf_counter()
    assert len(dag.task_dict) == 2000  # each step + its reuse-check sensor
    return {"spec_s": t1 - t0, "dag_s": t2 - t1, "total_s": t2 - t0}


def bench_import() -> dict[str, float]:
    code = (
        "import time; t=time.perf_counter(); import airflow_aml, airflow_aml.core, "
        "airflow_aml.data, airflow_aml.pipeline.core, airflow_aml.pipeline.steps; "
        "import sys; assert 'airflow' not in sys.modules; print(time.perf_counter()-t)"
    )
    times = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(5)
    ]
    return {"import_s": statistics.median(times)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    ws = Workspace.from_config(path=str(HOME))
    results = {
        "import": bench_import(),
        "compile_1000": bench_compile(ws),
        "step_overhead": bench_step_overhead(ws, args.repeats),
    }
    so, co, im = results["step_overhead"], results["compile_1000"], results["import"]
    print(
        f"per-step overhead: airflow-aml 10 steps {so['aml_10_steps_s']:.2f}s vs plain "
        f"Airflow 10 BashOperator tasks {so['plain_10_tasks_s']:.2f}s -> ratio {so['ratio']:.2f} "
        f"(goal <= 1.5); vs 10 PythonOperator+subprocess tasks "
        f"{so['plain_python_10_tasks_s']:.2f}s -> ratio {so['ratio_vs_python_subprocess']:.2f}"
    )
    print(
        f"compile 1000 steps: spec {co['spec_s']:.3f}s + DAG {co['dag_s']:.3f}s = "
        f"{co['total_s']:.3f}s (goal <= 1 s)"
    )
    print(f"import airflow_aml object model: {im['import_s']:.3f}s (goal <= 0.3 s)")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "foundation.json").write_text(json.dumps(results, indent=2))
    ok = (
        max(so["ratio"], so["ratio_vs_python_subprocess"]) <= 1.5
        and co["total_s"] <= 1.0
        and im["import_s"] <= 0.3
    )
    print("all goals met" if ok else "SOME GOALS MISSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
