"""Registry parsing on Azure Blob (Azurite) vs a local folder.

The dag-processor renders every spec of the registry at each parse of the
loader file. Measures ``dags_from_registry`` for N pipelines of 5 steps:

1. local folder registry (the embedded / shared-disk case);
2. Azure Blob registry on Azurite, cold (empty spec cache: every spec fetched);
3. Azure Blob registry, warm (specs unchanged: one listing, texts from the
   per-etag cache);

and the render-only time (specs already in memory) as the floor. Each
measurement first checks that every pipeline really became a DAG.

Results are printed and written to ``benchmarks/results/registry.json``;
Airflow's own output goes to ``benchmarks/results/registry.log``. The
benchmark's home and Azurite's data folder are deleted at exit.

Run: ``uv run python benchmarks/bench_registry.py [--pipelines N]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._home import RESULTS, fresh_home, quiet  # noqa: E402
from tests.azurite import start_azurite  # noqa: E402


def _median(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pipelines", type=int, default=100)
    args = parser.parse_args()
    home = fresh_home("bench-registry-")
    report = quiet("registry")
    os.environ["AIRFLOW__AML__CACHE_DIR"] = str(home / "cache")
    azurite_data = Path(tempfile.mkdtemp(prefix="bench-azurite-"))
    azurite = start_azurite(azurite_data)
    try:
        azurite.create_container("aml")
        os.environ["AIRFLOW_CONN_AML_BLOB"] = azurite.conn_json()
        from airflow_aml.artifacts.registry import Registry
        from airflow_aml.compiler.loader import dags_from_registry
        from airflow_aml.compiler.render import render_dag
        from airflow_aml.core import Workspace
        from airflow_aml.pipeline.core import Pipeline, PipelineData
        from airflow_aml.pipeline.steps import PythonScriptStep

        ws = Workspace(workspace_name="bench", home=home)
        src = home / "src"
        src.mkdir()
        (src / "s.py").write_text("pass\n")
        data = [PipelineData(f"d{i}") for i in range(5)]
        steps = [
            PythonScriptStep(
                "s.py",
                name=f"s{i}",
                source_directory=str(src),
                arguments=[data[i]] + ([data[i - 1]] if i else []),
                inputs=[data[i - 1]] if i else [],
                outputs=[data[i]],
            )
            for i in range(5)
        ]
        base = Pipeline(ws, steps)._compile("bench_0").spec
        specs = [base.with_changes(dag_id=f"bench_{n}") for n in range(args.pipelines)]
        local = Registry(home / "registry")
        blob = Registry("wasb://aml_blob@aml/registry")
        for spec in specs:
            local.write_spec(spec)
            blob.write_spec(spec)

        expected = args.pipelines + 1
        assert len(dags_from_registry(local.url)) == expected
        assert len(dags_from_registry(blob.url)) == expected
        cache = home / "cache" / "registry-specs"

        def cold() -> None:
            shutil.rmtree(cache, ignore_errors=True)
            dags_from_registry(blob.url)

        m = {
            "pipelines": args.pipelines,
            "render_only_s": _median(lambda: [render_dag(s) for s in specs]),
            "local_folder_s": _median(lambda: dags_from_registry(local.url)),
            "blob_cold_s": _median(cold),
            "blob_warm_s": _median(lambda: dags_from_registry(blob.url)),
        }
    finally:
        azurite.stop()
        shutil.rmtree(azurite_data, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
    report(
        f"dags_from_registry, {m['pipelines']} pipelines of 5 steps: render only "
        f"{m['render_only_s']:.2f} s; local folder {m['local_folder_s']:.2f} s; Azure Blob "
        f"(Azurite) cold {m['blob_cold_s']:.2f} s, warm {m['blob_warm_s']:.2f} s"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "registry.json").write_text(json.dumps(m, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
