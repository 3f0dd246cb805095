"""Runs left behind by a dead embedded runner: failed for real, nothing left held or half-done.

A runner process can die at any moment (``kill -9``, the OOM killer, a crash).
Its step processes die with it (:mod:`airflow_aml.runtime.launcher`), but the
run it was running would otherwise stay ``running`` in the Airflow DB and UI,
hold reuse claims, and leave staging folders, committed-but-unrecorded outputs
and work folders behind. Every runner, when it starts and then every few
seconds while it waits for work, looks for runner slots whose process is dead
while busy with a run, and for each such run:

1. marks the DagRun failed in the metadata DB, its running task instances
   failed and those not started ``upstream_failed`` (a note says why);
2. publishes a failure record for each step that was running, with the
   stdout/stderr and metrics it had recorded and the reason, so
   ``get_details()`` and ``wait_for_completion`` tell the user what happened;
3. removes those steps' staging folders and the outputs they committed but
   never recorded in the reuse index (an output recorded there stays: it is
   complete, and a later run may reuse it);
4. releases the run's reuse claims and removes its work folders;
5. writes the run's ``.error`` and ``.done`` markers, so clients stop waiting.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from airflow_aml._files import atomic_write_text
from airflow_aml.artifacts.reuse_index import ReuseIndex
from airflow_aml.artifacts.store import ARTIFACT_ROOT, ArtifactStore
from airflow_aml.backends.airflow_compat import fail_unfinished_run
from airflow_aml.backends.runner_pool import RunnerPool
from airflow_aml.runtime.record import STATUS, STDERR, RecordWriter
from airflow_aml.runtime.workdirs import (
    end_step_group,
    new_workdir,
    remove_workdir,
    step_workdirs,
)
from airflow_aml.spec import PipelineSpec, StepSpec

__all__ = ["reconcile_orphans", "reconcile_run"]

_STARTED = {"running", "deferred", "restarting"}
_TAIL_LINES = 40


def reconcile_orphans(pool: RunnerPool, orphans: list[dict[str, Any]]) -> list[str]:
    """Reconcile the runs of dead runners (slot states from ``pool.orphaned()``); returns
    the run ids reconciled. Never raises: a run that cannot be reconciled is reported
    on stderr and tried again later."""
    if not orphans:
        return []
    done: list[str] = []
    lock = FileLock(str(pool.root / "reconcile.lock"))
    try:
        with lock.acquire(timeout=30):
            for orphan in orphans:
                run_file = Path(str(orphan.get("run_file") or ""))
                if not run_file.name or Path(f"{run_file.with_suffix('')}.done").exists():
                    continue  # another runner reconciled it meanwhile
                try:
                    reconcile_run(run_file, orphan)
                    done.append(run_file.stem)
                except Exception as exc:
                    print(f"airflow-aml: could not reconcile {run_file}: {exc!r}", file=sys.stderr)
    except Timeout:
        pass  # another runner is reconciling
    return done


def reconcile_run(run_file: Path, orphan: dict[str, Any]) -> None:
    """Reconcile one run whose runner (``orphan``: its last slot state) died."""
    base = run_file.with_suffix("")
    run_id = run_file.stem
    reason = (
        f"the embedded runner running this run (pid {orphan.get('pid')}) died before the "
        f"run ended (killed or crashed); runner pid {os.getpid()} marked the run failed"
    )
    try:
        record = json.loads(run_file.read_text(encoding="utf-8"))
        spec = PipelineSpec.from_json(record["spec"])
    except Exception as exc:  # the record is unreadable: the run can still be ended
        spec = None
        reason += f" (its run record could not be read: {type(exc).__name__}: {exc})"
    if spec is not None:
        changed = fail_unfinished_run(spec.dag_id, run_id, f"airflow-aml: {reason}") or {}
        _clean_steps(spec, run_id, changed, reason)
    atomic_write_text(Path(f"{base}.error"), reason)
    atomic_write_text(Path(f"{base}.done"), "failed")


def _clean_steps(spec: PipelineSpec, run_id: str, changed: dict[str, str], reason: str) -> None:
    store = ArtifactStore(spec.datastores)
    index = ReuseIndex(store.objects(spec.default_datastore).child(f"{ARTIFACT_ROOT}/.reuse"))
    index.release_run(run_id)
    for step in spec.steps:
        if step.task_id not in changed:
            continue
        latest = index.latest(spec.dag_id, step.task_id)
        recorded = latest is not None and latest.get("run_id") == run_id
        for datastore in sorted({o.datastore for o in step.outputs}):
            unrecorded = (
                [] if recorded else [o.name for o in step.outputs if o.datastore == datastore]
            )
            store.discard_unfinished(datastore, run_id, step.task_id, unrecorded)
        if changed[step.task_id] in _STARTED:
            _publish_failure(store, spec, step, run_id, reason)
        for workdir in step_workdirs(run_id, step.task_id):
            end_step_group(workdir)  # what the script started (it died with the runner)
            remove_workdir(workdir)


def _publish_failure(
    store: ArtifactStore, spec: PipelineSpec, step: StepSpec, run_id: str, reason: str
) -> None:
    """The step's failure record: what it had recorded so far (from its work folder on
    this machine), its status and the reason."""
    folders = [w / "record" for w in step_workdirs(run_id, step.task_id)]
    folder = next((f for f in folders if f.is_dir()), None)
    scratch = None
    if folder is None:
        scratch = new_workdir(run_id, step.task_id, "reconcile")
        folder = scratch / "record"
    writer = RecordWriter(folder)
    tail = ""
    with contextlib.suppress(OSError):
        lines = (folder / STDERR).read_text(encoding="utf-8", errors="replace").splitlines()
        tail = "\n".join(lines[-_TAIL_LINES:])
    error = f"step {step.name!r} did not finish: {reason}"
    writer.write_json(STATUS, {"status": "Failed", "error": error, "stderr_tail": tail})
    try:
        store.commit_record(
            folder, datastore=spec.default_datastore, run_id=run_id, task_id=step.task_id
        )
    finally:
        if scratch is not None:
            remove_workdir(scratch)
