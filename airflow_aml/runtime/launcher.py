"""How a step process starts a v1 step script: ``import azureml.X`` loads ``airflow_aml.X``.

Nearly every SDK v1 step script begins with ``from azureml.core import Run``.
The step operator runs ``python <this file> script.py args...`` (by path:
``-m`` would cost each step ~5 ms of runpy; ``python -m
airflow_aml.runtime.launcher`` works too), which installs the import shim
(:mod:`airflow_aml.shim`) ahead of every other importer, so our modules win over
a real ``azureml`` package
installed in the same interpreter (only ours reports to this run), then runs
the script as ``__main__`` exactly as ``python script.py args...`` would:
same ``sys.argv``, the script's folder first on ``sys.path``.

``--no-azureml-shim`` (the workspace setting ``azureml_shim: false``) runs
the script without the shim.

A step process dies with the process that started it. The operator starts
the launcher in a new session (its own process group) and names itself in
``$AIRFLOW_AML_STEP_PARENT_PID``; the launcher then forks. The parent stays
behind as the step's *guard*: Linux sends it ``SIGHUP`` when the operator's
process dies (the parent-death signal), and it kills the whole process group,
so the script and every process it started die too, instead of writing into
the staging folders of a dead run. Otherwise the guard only waits and exits
as the script did (same exit code, same signal); the script runs in the
child, which dies with the guard. ``SIGTERM``/``SIGINT`` sent to the group
(cancel, Airflow killing the task) reach the script as before.
"""

from __future__ import annotations

import os
import signal
import sys
from types import ModuleType

__all__ = ["main", "NO_SHIM_FLAG", "ENV_PARENT_PID"]

NO_SHIM_FLAG = "--no-azureml-shim"
#: The pid of the process that started the step (the operator's); set by the operator.
ENV_PARENT_PID = "AIRFLOW_AML_STEP_PARENT_PID"


def _guard_group() -> None:
    """Fork; the parent guards the step's process group (never returns), the child runs on.

    Does nothing unless ``$AIRFLOW_AML_STEP_PARENT_PID`` names the parent, the
    launcher leads its own process group, and Linux can deliver the
    parent-death signal.
    """
    from airflow_aml._processes import set_parent_death_signal

    parent = os.environ.pop(ENV_PARENT_PID, "")
    if not parent.isdigit() or os.getpgrp() != os.getpid():
        return
    # An ignored SIGCHLD is inherited across exec (a runner's may be): children would be
    # reaped by the kernel and never waited for, by the guard or by the script.
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    if not set_parent_death_signal(signal.SIGHUP):
        return
    guard = os.getpid()
    if os.getppid() != int(parent):  # the operator died before we could ask
        os.killpg(0, signal.SIGKILL)
    child = os.fork()
    if child == 0:
        set_parent_death_signal(signal.SIGKILL)  # die with the guard, whatever kills it
        if os.getppid() != guard:
            os._exit(137)
        return
    _guard(child)


def _guard(child: int) -> None:
    """The guard's life: kill the group if the operator dies, else mirror the script's end."""
    signal.signal(signal.SIGHUP, lambda *_: os.killpg(0, signal.SIGKILL))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)  # they reach the script, which is the group
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # the operator's pipes close when the script's copies do
        os.dup2(devnull, fd)
    try:
        _, status = os.waitpid(child, 0)
        code = os.waitstatus_to_exitcode(status)
    except ChildProcessError:  # pragma: no cover - only our own child is waited for
        code = 1
    if code < 0:  # the script died of a signal: so does its guard
        if -code not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code if code >= 0 else 128 - code)


def main(argv: list[str] | None = None) -> None:
    """Run ``argv[0]`` (a script) with ``argv[1:]`` as its arguments."""
    _guard_group()
    args = list(sys.argv[1:] if argv is None else argv)
    shim = True
    if args and args[0] == NO_SHIM_FLAG:
        shim, args = False, args[1:]
    if not args:
        print(
            f"usage: python -m airflow_aml.runtime.launcher [{NO_SHIM_FLAG}] script.py [args...]",
            file=sys.stderr,
        )
        raise SystemExit(2)
    if shim:
        from airflow_aml.shim import install

        for name in [n for n in sys.modules if n == "azureml" or n.startswith("azureml.")]:
            del sys.modules[name]  # e.g. loaded by a .pth file of a real azureml install
        install()
    script = os.path.abspath(args[0])
    sys.argv = [args[0], *args[1:]]
    sys.path[0] = os.path.dirname(script)
    with open(script, "rb") as fh:  # as `python script.py` runs it (runpy costs ~6 ms more)
        code = compile(fh.read(), script, "exec")
    module = ModuleType("__main__")
    module.__file__ = script
    module.__builtins__ = __builtins__  # type: ignore[attr-defined]
    sys.modules["__main__"] = module
    exec(code, module.__dict__)


if __name__ == "__main__":
    main()
