"""The embedded backend's runner pool: a job queue and warm runner processes.

``submit`` puts a job in ``registry/runners/queue``; runner processes
(``python -m airflow_aml.backends.embedded_runner --serve``) take jobs one at
a time and stay warm between runs (Airflow imported, in-process execution API
up), so a run after the first starts in a fraction of a second. They are
started on demand, at most :data:`MAX_RUNNERS` at once (one slot lock each),
and exit after :data:`IDLE_SECONDS` without work: nothing to start or stop
by hand.

A pool has an identity (``runners/pool-id``, a random id made when the
pool is first used). Runners remember it and jobs carry it, so a runner of
a workspace home that was deleted and re-created at the same path never
takes the new home's jobs: it sees the id change and exits.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from airflow_aml._files import atomic_write_text
from airflow_aml._processes import owner_alive, pid_alive, this_process

__all__ = ["RunnerPool", "MAX_RUNNERS", "IDLE_SECONDS"]

MAX_RUNNERS = max(2, os.cpu_count() or 2)
IDLE_SECONDS = 120.0
WAIT_BEFORE_SPAWN = 1.0
SPAWN_COOLDOWN = 10.0


class RunnerPool:
    """Queue and runner slots under ``registry/runners``."""

    # Runners started by this process, so stop_all also reaches one still starting up.
    _spawned: dict[str, list[subprocess.Popen[bytes]]] = {}

    def __init__(self, registry: Path, env: dict[str, str] | None = None):
        self.root = registry / "runners"
        self.queue = self.root / "queue"
        self.env = env

    # --------------------------------------------------------------- identity
    def pool_id(self) -> str:
        """This pool's identity (made on first use; a re-created home gets a new one)."""
        path = self.root / "pool-id"
        try:
            return path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            pass
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".pool-id.{uuid.uuid4().hex}"
        tmp.write_text(uuid.uuid4().hex, encoding="ascii")
        try:
            os.link(tmp, path)  # the first writer wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        return path.read_text(encoding="ascii").strip()

    def is_pool(self, pool_id: str) -> bool:
        """Whether the pool at this path is still the one with ``pool_id``."""
        try:
            return (self.root / "pool-id").read_text(encoding="ascii").strip() == pool_id
        except OSError:
            return False

    # ------------------------------------------------------------------- jobs
    def enqueue(self, run_id: str, run_file: Path) -> None:
        """Queue a run and make sure a runner will take it."""
        pool = self.pool_id()
        self.queue.mkdir(parents=True, exist_ok=True)
        atomic_write_text(
            self.queue / f"{time.time_ns()}-{run_id}.job",
            json.dumps({"run_file": str(run_file), "pool": pool}),
        )
        self.ensure_runners()

    def pending(self) -> list[Path]:
        """Jobs not taken yet, oldest first."""
        return sorted(self.queue.glob("*.job")) if self.queue.is_dir() else []

    def is_pending(self, run_id: str) -> bool:
        """Whether ``run_id`` waits in the queue."""
        return any(p.name.endswith(f"-{run_id}.job") for p in self.pending())

    def take(self, slot: int, pool_id: str) -> Path | None:
        """Take the oldest job of pool ``pool_id`` for runner ``slot`` (atomic rename; one
        taker wins). A job of another pool (the home was re-created) is put back."""
        for job in self.pending():
            taken = job.with_name(f"{job.name}.{slot}")
            try:
                os.rename(job, taken)
            except FileNotFoundError:
                continue  # another runner took it
            try:
                data = json.loads(taken.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = {}
            if not isinstance(data, dict) or data.get("pool") != pool_id:
                with contextlib.suppress(OSError):
                    os.rename(taken, job)  # not ours: leave it to a runner of its pool
                return None
            taken.unlink()
            return Path(str(data["run_file"]))
        return None

    # ------------------------------------------------------------------ slots
    def _read_slot(self, slot: int) -> dict[str, Any] | None:
        try:
            state = json.loads((self.root / f"slot-{slot}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return state if isinstance(state, dict) else None

    @staticmethod
    def _runner_alive(state: dict[str, Any]) -> bool:
        alive = owner_alive(state)  # pid and start time: a reused pid is not the runner
        if alive is None:
            with contextlib.suppress(TypeError, ValueError):
                return pid_alive(int(state.get("pid", 0)))
            return False
        return alive

    def slot_state(self, slot: int) -> dict[str, Any] | None:
        """State written by the runner holding ``slot`` (None if the slot is free)."""
        state = self._read_slot(slot)
        return state if state is not None and self._runner_alive(state) else None

    def orphaned(self) -> list[dict[str, Any]]:
        """Last states of runners that died while busy with a run not marked done."""
        found = []
        for slot in range(MAX_RUNNERS):
            state = self._read_slot(slot)
            if (
                state is not None
                and state.get("state") == "busy"
                and state.get("run_file")
                and not self._runner_alive(state)
                and not Path(f"{Path(str(state['run_file'])).with_suffix('')}.done").exists()
            ):
                found.append(state)
        return found

    def request_reconcile(self) -> None:
        """A run's runner died: make sure some runner is alive to reconcile it (it
        does so when it starts, then exits when idle)."""
        if self.live_runners():
            return
        marker = self.root / "spawned_at"
        with contextlib.suppress(FileNotFoundError):
            if time.time() - marker.stat().st_mtime < SPAWN_COOLDOWN:
                return
        atomic_write_text(marker, str(time.time()))
        self._spawn()

    def live_runners(self) -> list[dict[str, Any]]:
        """States of live runners."""
        return [s for s in (self.slot_state(i) for i in range(MAX_RUNNERS)) if s]

    def running(self, run_id: str) -> bool:
        """Whether a live runner is executing ``run_id`` now."""
        return any(s.get("run_id") == run_id for s in self.live_runners())

    def ensure_runners(self) -> None:
        """Start a runner when a queued job has none to take it.

        Always when no runner is alive; otherwise only once the oldest job has
        waited :data:`WAIT_BEFORE_SPAWN` seconds (a busy warm runner is usually
        free sooner than a new one is warm, and a starting runner steals CPU
        from running steps). At most one start per :data:`SPAWN_COOLDOWN`.
        """
        pending = self.pending()
        if not pending:
            return
        live = self.live_runners()
        if len(live) >= MAX_RUNNERS:
            return
        if live:
            try:
                waited = time.time() - pending[0].stat().st_mtime
            except FileNotFoundError:
                return
            if waited < WAIT_BEFORE_SPAWN:
                return
        marker = self.root / "spawned_at"
        try:
            if time.time() - marker.stat().st_mtime < SPAWN_COOLDOWN:
                return
        except FileNotFoundError:
            pass
        atomic_write_text(marker, str(time.time()))
        self._spawn()

    def _spawn(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        env = dict(self.env if self.env is not None else os.environ)
        env["AIRFLOW_AML_POOL_ID"] = self.pool_id()
        with open(self.root / "runner.log", "ab") as log:
            proc = subprocess.Popen(  # noqa: S603 - fixed argument list
                [
                    sys.executable,
                    "-m",
                    "airflow_aml.backends.embedded_runner",
                    "--serve",
                    str(self.root.parent),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._spawned.setdefault(str(self.root), []).append(proc)

    def acquire_slot(self) -> tuple[int, Any] | None:
        """For a runner: lock a free slot; returns (slot, open lock file) or None."""
        self.root.mkdir(parents=True, exist_ok=True)
        for slot in range(MAX_RUNNERS):
            lock = FileLock(str(self.root / f"slot-{slot}.lock"))
            try:
                lock.acquire(timeout=0)  # held for the runner's life
            except Timeout:
                continue
            return slot, lock
        return None

    def set_state(self, slot: int, state: str, run_file: Path | None = None) -> None:
        """For a runner: publish its state (and the run it is busy with)."""
        atomic_write_text(
            self.root / f"slot-{slot}.json",
            json.dumps(
                {
                    **this_process(),
                    "state": state,
                    "run_id": run_file.stem if run_file is not None else None,
                    "run_file": str(run_file) if run_file is not None else None,
                    "since": time.time(),
                }
            ),
        )

    def stop_all(self, timeout: float = 10.0) -> None:
        """Stop every live runner (used by tests and tools).

        SIGTERM first (a runner finishes nothing half-way: it exits between runs);
        SIGKILL for any still alive after ``timeout`` (e.g. one that got SIGTERM
        while Airflow's own handler was installed during a run).
        """
        pids = {int(s["pid"]) for s in self.live_runners()}
        spawned = self._spawned.pop(str(self.root), [])
        pids |= {p.pid for p in spawned if p.poll() is None}
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + timeout
            while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
                time.sleep(0.1)
            pids = {p for p in pids if pid_alive(p)}
            if not pids:
                break
        for proc in spawned:  # reap our own children
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=1)
