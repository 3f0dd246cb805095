"""Local work folders of step runs, findable by run and step, cleaned when their owner dies.

A step operator works in ``<tmp>/airflow-aml-work/<run>/<task>-<try>-<random>/``:
the step's run record while it runs, the staging of outputs bound for a
remote datastore, downloaded inputs. Each folder names its owner process
(:mod:`airflow_aml._processes`) in a file ``.owner``, and, while the step's
script runs, the script's process group in ``.step-group``. The operator
removes its folder when the step ends; when the process dies first (killed,
crashed), :func:`sweep_abandoned` ends the step's process group at once (what
the script started; the script itself died with the operator) and removes the
folder some minutes later (every step operator sweeps now and then, every
embedded runner when it starts and while idle), and :func:`step_workdirs` lets the runner that
reconciles a dead run publish what the step had recorded.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import tempfile
import time
from pathlib import Path

from airflow_aml._processes import owner_alive, this_process

__all__ = [
    "work_root",
    "new_workdir",
    "remove_workdir",
    "record_step_group",
    "forget_step_group",
    "end_step_group",
    "step_workdirs",
    "sweep_abandoned",
    "sweep_now_and_then",
]

OWNER_FILE = ".owner"
STEP_GROUP_FILE = ".step-group"
#: A dead operator's folder is removed once unchanged for this long (seconds): time for
#: the runner that reconciles its run to publish the step's record first.
ABANDONED_GRACE_SECONDS = 900.0
#: A folder whose owner cannot be read (its owner died while creating it) is removed
#: once it is older than this.
UNOWNED_GRACE_SECONDS = 3600.0

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def _part(text: str) -> str:
    """``text`` as one safe path component (run ids may hold ``:`` and ``+``)."""
    return _UNSAFE.sub("_", text)[:200] or "_"


def work_root() -> Path:
    """Where step work folders live (under this machine's temporary folder)."""
    return Path(tempfile.gettempdir()) / "airflow-aml-work"


def new_workdir(run_id: str, task_id: str, try_number: int | str = "") -> Path:
    """A new work folder for one try of one step, owned by this process."""
    parent = work_root() / _part(run_id)
    for _ in range(100):  # another step may remove the (empty) parents meanwhile
        parent.mkdir(parents=True, exist_ok=True)
        try:
            path = Path(tempfile.mkdtemp(prefix=f"{_part(task_id)}-{try_number}-", dir=parent))
            break
        except FileNotFoundError:
            continue
    else:  # pragma: no cover - 100 removals in a row
        raise FileNotFoundError(f"work folder parent {parent} keeps disappearing")
    (path / OWNER_FILE).write_text(json.dumps(this_process()), encoding="utf-8")
    return path


def _remove_empty_parents(run_dir: Path) -> None:
    """Remove the run's folder, then the work root, each only when empty (another step
    still working there keeps them)."""
    for folder in (run_dir, run_dir.parent):
        try:
            folder.rmdir()
        except OSError:
            return


def remove_workdir(path: Path) -> None:
    """Remove a work folder (and its run's folder and the work root once empty)."""
    shutil.rmtree(path, ignore_errors=True)
    _remove_empty_parents(path.parent)


def record_step_group(path: Path, pgid: int) -> None:
    """Note that the step's script runs in process group ``pgid`` (ended if we die)."""
    (path / STEP_GROUP_FILE).write_text(str(pgid), encoding="ascii")


def forget_step_group(path: Path) -> None:
    """The step's process group has been ended by its operator: nothing to end later."""
    with contextlib.suppress(OSError):
        (path / STEP_GROUP_FILE).unlink()


def end_step_group(path: Path) -> None:
    """Kill what is left of the process group recorded in an abandoned work folder.

    Linux never hands out a pid that is still some group's id, so while anything of
    the group lives, the id names it. Once the whole group is gone the id is free
    again; the record is dropped at the first attempt, so only a sweep within the
    pid space's wrap-around time (``pid_max`` forks) could meet a reused id.
    """
    try:
        pgid = int((path / STEP_GROUP_FILE).read_text(encoding="ascii"))
    except (OSError, ValueError):
        return
    if pgid > 1:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
    forget_step_group(path)


def step_workdirs(run_id: str, task_id: str) -> list[Path]:
    """The work folders of a step of a run on this machine, newest first."""
    parent = work_root() / _part(run_id)
    found = [p for p in parent.glob(f"{_part(task_id)}-*") if p.is_dir()]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def _owner_dead(path: Path, now: float) -> bool:
    """Whether the folder's owner process is known to be dead (or, with no readable owner,
    the folder is older than :data:`UNOWNED_GRACE_SECONDS`)."""
    try:
        owner = json.loads((path / OWNER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        owner = None
    if not isinstance(owner, dict):
        with contextlib.suppress(OSError):
            return now - path.stat().st_mtime > UNOWNED_GRACE_SECONDS
        return False
    return owner_alive(owner) is False


def _last_change(path: Path) -> float:
    """When the folder or its run record last changed (what the step last wrote)."""
    times = []
    for place in (path, path / "record"):
        with contextlib.suppress(OSError):
            times.append(place.stat().st_mtime)
            if place.name == "record":
                times += [f.stat().st_mtime for f in place.iterdir()]
    return max(times, default=0.0)


def sweep_abandoned(keep: frozenset[str] = frozenset()) -> list[Path]:
    """Clean up after step operators that died; returns the folders removed.

    The process group of a step whose operator is known to be dead is ended at
    once. Its folder is removed once nothing was written to it for
    :data:`ABANDONED_GRACE_SECONDS`: until then the runner that reconciles the
    run (embedded mode) can still publish what the step had recorded (it then
    removes the folder itself). Folders of the runs whose ids are in ``keep``
    are left alone.
    """
    removed: list[Path] = []
    root = work_root()
    if not root.is_dir():
        return removed
    now = time.time()
    kept = {_part(run_id) for run_id in keep}
    for run_dir in root.iterdir():
        if run_dir.name in kept or not run_dir.is_dir():
            continue
        for path in run_dir.iterdir():
            if not path.is_dir() or not _owner_dead(path, now):
                continue
            end_step_group(path)
            if now - _last_change(path) > ABANDONED_GRACE_SECONDS:
                remove_workdir(path)
                removed.append(path)
        _remove_empty_parents(run_dir)
    return removed


_last_sweep = 0.0


def sweep_now_and_then(every: float = 60.0) -> None:
    """:func:`sweep_abandoned`, at most once per ``every`` seconds in this process; a
    sweep that fails is skipped (it is a clean-up, never a reason to fail a step)."""
    global _last_sweep
    now = time.monotonic()
    if _last_sweep and now - _last_sweep < every:
        return
    _last_sweep = now
    with contextlib.suppress(OSError):
        sweep_abandoned()
