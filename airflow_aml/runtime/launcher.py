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
``$AIRFLOW_AML_STEP_PARENT_PID``; the launcher asks Linux for ``SIGKILL``
when that process dies (the parent-death signal), so the script never goes
on writing into the staging folders of a dead run. Processes the script
started are in its process group, which the operator records in its work
folder: when the step ends, the operator ends the group; when the operator's
process died instead, whoever finds its work folder abandoned (an embedded
runner reconciling the run, the next step operator on that machine) ends it
(:mod:`airflow_aml.runtime.workdirs`). The script runs in the launched
process itself, so its exit code and signal are the step's.
"""

from __future__ import annotations

import os
import signal
import sys
from types import ModuleType

from airflow_aml._processes import set_parent_death_signal

__all__ = ["main", "NO_SHIM_FLAG", "ENV_PARENT_PID"]

NO_SHIM_FLAG = "--no-azureml-shim"
#: The pid of the process that started the step (the operator's); set by the operator.
ENV_PARENT_PID = "AIRFLOW_AML_STEP_PARENT_PID"


def _die_with_parent() -> None:
    """Have Linux kill this process when the process named by ``$AIRFLOW_AML_STEP_PARENT_PID``
    (the operator's) dies; nothing without that variable or outside Linux."""
    parent = os.environ.pop(ENV_PARENT_PID, "")
    if not parent.isdigit():
        return
    # An ignored SIGCHLD is inherited across exec (a runner's may be): the script's
    # children would be reaped by the kernel and never waited for.
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    if set_parent_death_signal(signal.SIGKILL) and os.getppid() != int(parent):
        os._exit(137)  # the operator died before we could ask: as if the signal came


def main(argv: list[str] | None = None) -> None:
    """Run ``argv[0]`` (a script) with ``argv[1:]`` as its arguments."""
    _die_with_parent()
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
