"""Operator for ``PythonScriptStep``: run a script as a subprocess, never a shell."""

from __future__ import annotations

import collections
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from typing import IO, Any

from airflow_aml.artifacts.snapshot import local_source
from airflow_aml.operators.base import AmlStepOperator, StepContext, StepFailed
from airflow_aml.runtime import cancel, contract, launcher
from airflow_aml.runtime.contract import data_reference_env, parameter_env
from airflow_aml.runtime.launcher import ENV_PARENT_PID, NO_SHIM_FLAG
from airflow_aml.runtime.record import STDERR, STDOUT
from airflow_aml.runtime.workdirs import forget_step_group, record_step_group

__all__ = ["PythonScriptStepOperator"]

_TAIL_LINES = 40


def _wait_and_end_group(proc: subprocess.Popen[bytes], timeout: float | None) -> int:
    """Wait for the step process to exit; then kill what it left running in its process
    group (the step is over, as when an AML compute node ends a job; their open output
    pipes would also keep the log readers waiting); return its exit code.

    The exited process is not reaped until its group is killed, so the group id cannot
    have been reused by then.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    flags, pause = os.WEXITED | os.WNOWAIT | (0 if deadline is None else os.WNOHANG), 0.0005
    while True:
        try:
            found = os.waitid(os.P_PID, proc.pid, flags)  # blocks unless there is a deadline
        except ChildProcessError:  # reaped elsewhere (a cancel's poll): nothing to kill
            return proc.wait()
        except InterruptedError:  # pragma: no cover - retried by Python (PEP 475)
            continue
        if found is not None:
            break
        if deadline is not None and time.monotonic() > deadline:
            raise subprocess.TimeoutExpired(proc.args, timeout or 0)
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    return proc.wait()


class PythonScriptStepOperator(AmlStepOperator):
    """Runs a ``PythonScriptStep``'s script from its source snapshot.

    The script gets an argument list (paths and values substituted), the
    SDK v1 environment variables, and a run context; its stdout and stderr
    stream into the task log line by line and are kept with the run record.
    """

    ui_color = "#fdebd0"

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._proc: subprocess.Popen[bytes] | None = None

    def run_step(self, ctx: StepContext) -> None:
        spec = ctx.spec
        source = local_source(spec.source_directory)
        script = source / spec.script_name
        if not script.is_file():
            raise StepFailed(f"script {spec.script_name!r} not found in {source}")
        shim = [] if ctx.pipeline.get("workspace", {}).get("azureml_shim", True) else [NO_SHIM_FLAG]
        # The launcher by its path, not ``-m``: runpy would cost each step ~5 ms.
        argv = [sys.executable, "-u", launcher.__file__, *shim, str(script), *ctx.arguments]
        env = self._environment(ctx)
        timeout = spec.runconfig.get("max_run_duration_seconds")
        ctx.record.mkdir(parents=True, exist_ok=True)
        self.log.info("Running step %r: %s", spec.name, " ".join(argv[3 + len(shim) :]))
        tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        # Unbuffered: what the script printed is on disk even if this process is killed.
        with (
            open(ctx.record / STDOUT, "wb", buffering=0) as out_f,
            open(ctx.record / STDERR, "wb", buffering=0) as err_f,
        ):
            self._proc = subprocess.Popen(  # noqa: S603 - argument list, no shell
                argv,
                cwd=source,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            cancel.track(self._proc)
            record_step_group(ctx.workdir, self._proc.pid)  # ended by a sweep if we die
            threads = [
                threading.Thread(target=self._pump, args=(self._proc.stdout, out_f, None, False)),
                threading.Thread(target=self._pump, args=(self._proc.stderr, err_f, tail, True)),
            ]
            for t in threads:
                t.start()
            try:
                code = _wait_and_end_group(self._proc, timeout)
            except subprocess.TimeoutExpired:
                self._kill()
                code = self._proc.wait()
                for t in threads:
                    t.join()
                raise StepFailed(
                    f"step {spec.name!r} exceeded max_run_duration_seconds={timeout}",
                    "\n".join(tail),
                ) from None
            except BaseException:
                self._kill()
                raise
            finally:
                cancel.untrack(self._proc)
                forget_step_group(ctx.workdir)
            for t in threads:
                t.join()
        self._proc = None
        if cancel.cancel_requested():
            raise StepFailed(f"step {spec.name!r} was canceled", "\n".join(tail))
        if code != 0:
            raise StepFailed(
                f"step {spec.name!r} failed: script {spec.script_name} exited with code {code}",
                "\n".join(tail),
            )

    def _pump(
        self, stream: IO[bytes], sink: IO[bytes], tail: collections.deque[str] | None, is_err: bool
    ) -> None:
        for raw in iter(stream.readline, b""):
            sink.write(raw)
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            if tail is not None:
                tail.append(line)
            if is_err:
                self.log.warning("%s", line)
            else:
                self.log.info("%s", line)
        stream.close()

    def _environment(self, ctx: StepContext) -> dict[str, str]:
        spec = ctx.spec
        env = dict(os.environ)
        env.update(spec.runconfig.get("environment_variables", {}))
        for name, path in ctx.paths.items():
            env[data_reference_env(name)] = path
        for name, value in ctx.params.items():
            env[parameter_env(name)] = contract.format_value(value)
        for key, value in spec.params:
            env[parameter_env(key)] = contract.format_value(
                ctx.params[value["param"]] if "param" in value else value["literal"]
            )
        env.update(
            {
                contract.ENV_RUN_ID: ctx.run_id,
                contract.ENV_PARENT_RUN_ID: ctx.pipeline_run_id,
                contract.ENV_EXPERIMENT: ctx.experiment_name,
                contract.ENV_WORKSPACE_NAME: ctx.pipeline.get("workspace", {}).get(
                    "workspace_name", ""
                ),
                contract.ENV_WORKSPACE: json.dumps(ctx.pipeline.get("workspace", {})),
                contract.ENV_RECORD: str(ctx.record),
                contract.ENV_STEP_NAME: spec.name,
                "PYTHONUNBUFFERED": "1",
                # The step's process group dies with this process (runtime.launcher).
                ENV_PARENT_PID: str(os.getpid()),
            }
        )
        return env

    def _kill(self) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def on_kill(self) -> None:
        """Stop the script (and its children) when Airflow kills the task; release the claim."""
        self._kill()
        super().on_kill()
