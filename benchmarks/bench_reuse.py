"""Reuse benchmarks (issue: step reuse).

1. A 5-step pipeline whose steps each take >= 2 s: the unchanged rerun (every
   step reused) vs the first run, both submitted through the embedded backend
   with a warm runner. Goal: rerun >= 10x faster.
2. Fingerprinting a source folder of 10,000 files / 500 MB: cold (empty digest
   cache) throughput vs ``sha256sum`` over the same files in the same run, and
   a warm check (nothing changed). Goal: warm <= 0.5 s.

Run: ``uv run python benchmarks/bench_reuse.py [--files N --mb M]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _home import RESULTS, fresh_home, quiet  # noqa: E402

HOME = fresh_home("aml-bench-reuse-")  # removed at exit, with its 500 MB tree
report = quiet("reuse")

from airflow_aml.core import Experiment, Workspace  # noqa: E402
from airflow_aml.pipeline.core import Pipeline, PipelineData  # noqa: E402
from airflow_aml.pipeline.steps import PythonScriptStep  # noqa: E402

STEP = """
import os, sys, time
time.sleep(2)
out = sys.argv[-1]
os.makedirs(out, exist_ok=True)
open(os.path.join(out, "result.txt"), "w").write("step done")
"""


def _timed_run(
    ws: Workspace, pipeline: Pipeline, name: str, *, reused: bool | None = None, **submit: object
) -> float:
    """Seconds from submit to finished; checks that every step was (not) reused."""
    start = time.perf_counter()
    run = Experiment(ws, name).submit(pipeline, **submit)
    status = run.wait_for_completion(show_output=False, timeout_seconds=600)
    elapsed = time.perf_counter() - start
    assert status == "Finished", status
    if reused is not None:
        flags = [s.is_reused for s in run.get_steps()]
        assert flags == [reused] * len(flags), f"reused flags {flags}, expected all {reused}"
    return elapsed


def bench_rerun(ws: Workspace) -> dict[str, float]:
    src = HOME / "steps"
    steps, previous = [], None
    for i in range(5):
        folder = src / f"s{i}"
        folder.mkdir(parents=True)
        (folder / "step.py").write_text(STEP)
        out = PipelineData(f"out{i}")
        step = PythonScriptStep(
            "step.py",
            name=f"step{i}",
            source_directory=str(folder),
            arguments=[*([previous] if previous else []), out],
            inputs=[previous] if previous else [],
            outputs=[out],
        )
        steps.append(step)
        previous = out
    warm_src = HOME / "warm"
    warm_src.mkdir()
    (warm_src / "w.py").write_text("pass\n")
    _timed_run(
        ws, Pipeline(ws, [PythonScriptStep("w.py", source_directory=str(warm_src))]), "warmup"
    )
    first = _timed_run(ws, Pipeline(ws, [steps[-1]]), "reuse_bench", reused=False)
    # The baseline is a full recomputation on an equally warm runner.
    full = _timed_run(
        ws, Pipeline(ws, [steps[-1]]), "reuse_bench", reused=False, regenerate_outputs=True
    )
    rerun = _timed_run(ws, Pipeline(ws, [steps[-1]]), "reuse_bench", reused=True)
    return {
        "first_run_s": first,
        "full_rerun_s": full,
        "unchanged_rerun_s": rerun,
        "speedup": full / rerun,
    }


def _make_tree(root: Path, files: int, total_mb: int) -> int:
    size = total_mb * 1024 * 1024 // files
    block = os.urandom(size)
    for i in range(files):
        d = root / f"d{i // 500:03d}"
        d.mkdir(parents=True, exist_ok=True)
        # distinct content per file: prefix the index
        (d / f"f{i:05d}.bin").write_bytes(i.to_bytes(4, "little") + block[4:])
    return size * files


def bench_fingerprint(files: int, total_mb: int) -> dict[str, float]:
    from airflow_aml.artifacts.snapshot import take_snapshot

    root = Path(tempfile.mkdtemp(prefix="aml-bench-tree-", dir=str(HOME)))
    nbytes = _make_tree(root, files, total_mb)
    paths = sorted(str(p) for p in root.rglob("*.bin"))
    # sha256sum over the same files (argument lists, no shell), page cache equally warm
    start = time.perf_counter()
    for i in range(0, len(paths), 1000):
        subprocess.run(["sha256sum", *paths[i : i + 1000]], check=True, stdout=subprocess.DEVNULL)
    sha = time.perf_counter() - start
    start = time.perf_counter()
    cold_snap = take_snapshot(root)
    cold = time.perf_counter() - start
    os.utime(paths[0])  # touch one file: still nothing changed in content
    start = time.perf_counter()
    warm_snap = take_snapshot(root)
    warm = time.perf_counter() - start
    assert cold_snap.digest == warm_snap.digest and len(cold_snap.files) == files
    mb = nbytes / 1e6
    return {
        "files": files,
        "mb": mb,
        "cold_s": cold,
        "cold_mb_s": mb / cold,
        "sha256sum_s": sha,
        "sha256sum_mb_s": mb / sha,
        "warm_s": warm,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--mb", type=int, default=500)
    args = parser.parse_args()
    ws = Workspace.from_config(path=str(HOME))
    try:
        rerun = bench_rerun(ws)
    finally:
        ws._backend.shutdown()
    fp = bench_fingerprint(args.files, args.mb)
    report(
        f"5 steps x 2 s: first run {rerun['first_run_s']:.1f}s, full recompute "
        f"(regenerate_outputs) {rerun['full_rerun_s']:.1f}s, unchanged rerun "
        f"{rerun['unchanged_rerun_s']:.2f}s -> {rerun['speedup']:.1f}x faster (goal >= 10x)"
    )
    report(
        f"fingerprint {fp['files']} files / {fp['mb']:.0f} MB: cold {fp['cold_s']:.2f}s "
        f"({fp['cold_mb_s']:.0f} MB/s) vs sha256sum {fp['sha256sum_s']:.2f}s "
        f"({fp['sha256sum_mb_s']:.0f} MB/s) -> {fp['sha256sum_s'] / fp['cold_s']:.1f}x; "
        f"warm {fp['warm_s']:.3f}s (goal <= 0.5 s)"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reuse.json").write_text(json.dumps({"rerun": rerun, "fingerprint": fp}, indent=2))
    ok = rerun["speedup"] >= 10 and fp["warm_s"] <= 0.5
    report("all goals met" if ok else "SOME GOALS MISSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
