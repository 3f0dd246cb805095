"""Foundation benchmarks.

1. Per-step overhead with the steps really executing: a 10-step chain of
   PythonScriptSteps running ``noop.py`` vs a hand-written DAG of 10
   BashOperator tasks running the same ``python noop.py``, both under
   ``dag.test()`` in this process, interleaved. Every timed airflow-aml run
   executes every step. The headline figure is the ordinary miss: reuse is
   allowed, but each run passes a new value of a ``PipelineParameter`` that
   every step takes as an argument, so each step fingerprints, looks itself
   up in the reuse index, claims, explains its miss and runs. The forced miss
   (``regenerate_outputs``: no lookup, no claim) is reported beside it. The
   script appends to a counter file, and the run's reuse decisions are read
   back, so the output proves that 10 steps ran, none reused. Goal: ratio
   <= 1.5. The same for 10 independent steps (there each
   step also asks Airflow whether another step failed, v1's stop-at-first-
   failure rule) vs 10 independent BashOperator tasks. The all-reused rerun
   (every step a reuse hit, no script runs) is reported separately.
2. Compile time of a 1,000-step pipeline (spec + DAG). Goal: <= 1 s.
3. ``import airflow_aml`` object model in a fresh interpreter. Goal: <= 0.3 s.

Results are printed and written to ``benchmarks/results/foundation.json``;
Airflow's own output goes to ``benchmarks/results/foundation.log``.

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
from _home import RESULTS, fresh_home, quiet  # noqa: E402

HOME = fresh_home("aml-bench-foundation-")
report = quiet("foundation")
COUNTER = HOME / "executions.txt"
NOOP = f"import sys\nopen({str(COUNTER)!r}, 'a').write('x')\n"

from airflow_aml.core import Workspace  # noqa: E402
from airflow_aml.pipeline.core import Pipeline, PipelineParameter, StepSequence  # noqa: E402
from airflow_aml.pipeline.steps import PythonScriptStep  # noqa: E402


def _chain_pipeline(ws: Workspace, src: Path, n: int, *, parallel: bool = False) -> Pipeline:
    seed = PipelineParameter("seed", default_value="0")
    steps = [
        PythonScriptStep(
            "noop.py", name=f"step_{i}", source_directory=str(src), arguments=["--seed", seed]
        )
        for i in range(n)
    ]
    return Pipeline(ws, steps if parallel else StepSequence(steps))


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

with DAG("plain_bash_parallel", schedule=None, catchup=False) as bash_parallel_dag:
    [BashOperator(task_id=f"t{{i}}", bash_command="{python} noop.py", cwd="{src}")
     for i in range({n})]
"""


def _plain_dags(src: Path, n: int) -> dict:
    """Hand-written DAGs in a file of the dags folder, loaded the way Airflow loads them."""
    from airflow.dag_processing.dagbag import DagBag

    path = HOME / "airflow" / "dags" / "plain_chains.py"
    path.write_text(PLAIN_DAGS.format(python=sys.executable, src=src, n=n))
    bag = DagBag(dag_folder=str(path))
    assert not bag.import_errors, bag.import_errors
    return bag.dags


def _executions() -> int:
    return len(COUNTER.read_text()) if COUNTER.exists() else 0


def _time_dag_test(dag, conf: dict | None = None) -> tuple[float, int, str]:
    """Seconds, scripts executed and run id of one ``dag.test()``."""
    from airflow.sdk import timezone

    from airflow_aml.backends.airflow_compat import parsing_context

    before = _executions()
    start = time.perf_counter()
    # As a task runner (and an embedded runner) does: DAG files are parsed for this DAG
    # only, so neither side pays for rendering the other's DAGs when dag.test() re-syncs.
    with parsing_context(dag.dag_id):
        dr = dag.test(logical_date=timezone.utcnow(), run_conf=conf)
    elapsed = time.perf_counter() - start
    assert str(dr.state) == "success", f"{dag.dag_id} ended {dr.state}"
    return elapsed, _executions() - before, dr.run_id


def _reuse_hits(dag_id: str, run_id: str) -> list[bool]:
    """The reuse decisions the steps of one run published (hit or not, per step)."""
    import sqlite3

    db = sqlite3.connect(HOME / "airflow" / "airflow.db")
    try:
        rows = db.execute(
            "SELECT value FROM xcom WHERE dag_id = ? AND run_id = ? AND key = 'aml_reuse'",
            (dag_id, run_id),
        ).fetchall()
    finally:
        db.close()
    return [bool(json.loads(v)["hit"]) for (v,) in rows]


def bench_step_overhead(ws: Workspace, repeats: int) -> dict[str, float]:
    from airflow_aml.backends.airflow_home import ensure_database
    from airflow_aml.compiler.render import render_dag

    ensure_database(HOME / "airflow")
    src = HOME / "noop_src"
    src.mkdir(exist_ok=True)
    (src / "noop.py").write_text(NOOP)
    aml_dags = {}
    for dag_id, parallel in (("aml_chain", False), ("aml_parallel", True)):
        spec = _chain_pipeline(ws, src, 10, parallel=parallel)._compile(dag_id).spec
        assert spec is not None
        specs = HOME / "registry" / "specs"
        specs.mkdir(parents=True, exist_ok=True)
        (specs / f"{dag_id}.json").write_text(spec.dumps())  # what submit() registers
        aml_dags[dag_id] = render_dag(spec)
    aml_dag, aml_parallel = aml_dags["aml_chain"], aml_dags["aml_parallel"]
    plain = _plain_dags(src, 10)
    bash, python = plain["plain_bash_chain"], plain["plain_python_chain"]
    bash_parallel = plain["plain_bash_parallel"]
    seeds = iter(range(1, 1_000_000))

    def new_seed() -> dict:  # a value no earlier run had: an ordinary reuse miss
        return {"seed": str(next(seeds))}

    forced = {"azureml": {"regenerate_outputs": True}}
    for dag in (bash, python, bash_parallel, aml_dag, aml_parallel):  # warm-up
        _time_dag_test(dag, new_seed() if dag.dag_id.startswith("aml") else None)
    _time_dag_test(aml_dag)  # the default seed, for the all-reused reruns
    aml, forced_miss, reused, base, base_py, par, base_par = [], [], [], [], [], [], []
    for _ in range(repeats):  # interleaved so drift hits all alike
        for dag, out in ((bash, base), (python, base_py), (bash_parallel, base_par)):
            seconds, ran, _ = _time_dag_test(dag)
            assert ran == 10, f"{dag.dag_id}: {ran} of 10 tasks ran their script"
            out.append(seconds)
        for dag, conf, out in (
            (aml_dag, new_seed(), aml),
            (aml_parallel, new_seed(), par),
            (aml_dag, forced, forced_miss),
        ):
            seconds, ran, run_id = _time_dag_test(dag, conf)
            hits = _reuse_hits(dag.dag_id, run_id)
            assert ran == 10 and hits == [False] * 10, f"executed {ran}, reuse hits {hits}"
            out.append(seconds)
        seconds, ran, run_id = _time_dag_test(aml_dag)  # the default seed again: all reused
        hits = _reuse_hits("aml_chain", run_id)
        assert ran == 0 and hits == [True] * 10, f"executed {ran}, reuse hits {hits}"
        reused.append(seconds)
    m_aml, m_forced, m_reused, m_bash, m_py, m_par, m_bpar = (
        statistics.median(x) for x in (aml, forced_miss, reused, base, base_py, par, base_par)
    )
    return {
        "aml_10_steps_executed_s": m_aml,
        "aml_10_steps_forced_miss_s": m_forced,
        "forced_miss_ratio": m_forced / m_bash,
        "aml_10_steps_all_reused_s": m_reused,
        "plain_10_tasks_s": m_bash,
        "plain_python_10_tasks_s": m_py,
        "ratio": m_aml / m_bash,
        "ratio_vs_python_subprocess": m_aml / m_py,
        "all_reused_ratio": m_reused / m_bash,
        # 10 independent steps: each also asks Airflow whether another step failed
        "aml_10_parallel_steps_executed_s": m_par,
        "plain_10_parallel_tasks_s": m_bpar,
        "parallel_ratio": m_par / m_bpar,
        "repeats": repeats,
        "steps_executed_per_timed_run": 10,
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
    assert len(dag.task_dict) == 1000  # one task per step
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
    report(
        f"per-step overhead, every step executed (ordinary miss): airflow-aml 10 steps "
        f"{so['aml_10_steps_executed_s']:.2f}s vs plain Airflow 10 BashOperator tasks "
        f"{so['plain_10_tasks_s']:.2f}s -> ratio {so['ratio']:.2f} (goal <= 1.5); vs 10 "
        f"PythonOperator+subprocess tasks {so['plain_python_10_tasks_s']:.2f}s -> ratio "
        f"{so['ratio_vs_python_subprocess']:.2f}"
    )
    report(
        f"same, forced miss (regenerate_outputs: no index lookup, no claim): "
        f"{so['aml_10_steps_forced_miss_s']:.2f}s -> ratio {so['forced_miss_ratio']:.2f}"
    )
    report(
        f"10 independent steps, every step executed: {so['aml_10_parallel_steps_executed_s']:.2f}s "
        f"vs 10 independent BashOperator tasks {so['plain_10_parallel_tasks_s']:.2f}s -> ratio "
        f"{so['parallel_ratio']:.2f} (goal <= 1.5)"
    )
    report(
        f"all 10 steps reused (no script runs): {so['aml_10_steps_all_reused_s']:.2f}s -> "
        f"{so['all_reused_ratio']:.2f} x the BashOperator DAG"
    )
    report(
        f"compile 1000 steps: spec {co['spec_s']:.3f}s + DAG {co['dag_s']:.3f}s = "
        f"{co['total_s']:.3f}s (goal <= 1 s)"
    )
    report(f"import airflow_aml object model: {im['import_s']:.3f}s (goal <= 0.3 s)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "foundation.json").write_text(json.dumps(results, indent=2))
    ok = (
        max(
            so["ratio"],
            so["forced_miss_ratio"],
            so["ratio_vs_python_subprocess"],
            so["parallel_ratio"],
        )
        <= 1.5
        and co["total_s"] <= 1.0
        and im["import_s"] <= 0.3
    )
    report("all goals met" if ok else "SOME GOALS MISSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
