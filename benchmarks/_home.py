"""Shared set-up for benchmarks: a throwaway embedded workspace home, quiet output.

* :func:`fresh_home` makes a workspace home and points this process's Airflow
  at it (before Airflow is imported); the home is deleted when the benchmark
  exits, after its warm runner processes are stopped.
* :func:`quiet` sends everything Airflow prints (this process's stdout and
  stderr, file descriptors included) to a log file and returns a function that
  prints the benchmark's own results to the terminal.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["fresh_home", "quiet", "RESULTS"]

RESULTS = Path(__file__).resolve().parent / "results"


def _remove_home(home: Path) -> None:
    from airflow_aml.backends.runner_pool import RunnerPool

    RunnerPool(home / "registry").stop_all()
    shutil.rmtree(home, ignore_errors=True)


def fresh_home(prefix: str) -> Path:
    """Create a workspace home and point this process's Airflow at it (before importing it);
    it is removed when the process exits."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["AIRFLOW_AML_HOME"] = str(home)
    os.environ["AIRFLOW__AML__CACHE_DIR"] = str(home / "cache")
    from airflow_aml.backends.airflow_home import prepare_home

    prepare_home(home / "airflow")
    os.environ["AIRFLOW_HOME"] = str(home / "airflow")
    os.environ["AIRFLOW_CONFIG"] = str(home / "airflow" / "airflow.cfg")
    os.environ["AIRFLOW__AML__REGISTRY"] = str(home / "registry")
    atexit.register(_remove_home, home)
    return home


def quiet(name: str) -> Callable[..., None]:
    """Send this process's output (Airflow's logs) to ``results/<name>.log``; returns a
    ``print`` for results, which go to the terminal."""
    RESULTS.mkdir(exist_ok=True)
    log = open(RESULTS / f"{name}.log", "ab")  # noqa: SIM115 - open for the process's life
    sys.stdout.flush()
    sys.stderr.flush()
    terminal = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)

    def report(*args: object) -> None:
        print(*args, file=terminal, flush=True)

    report(f"(Airflow's own output goes to {RESULTS / f'{name}.log'})")
    return report
