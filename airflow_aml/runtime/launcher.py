"""How a step process starts a v1 step script: ``import azureml.X`` loads ``airflow_aml.X``.

Nearly every SDK v1 step script begins with ``from azureml.core import Run``.
The step operator runs ``python -m airflow_aml.runtime.launcher script.py
args...``, which installs the import shim (:mod:`airflow_aml.shim`) ahead of
every other importer, so our modules win over a real ``azureml`` package
installed in the same interpreter (only ours reports to this run), then runs
the script as ``__main__`` exactly as ``python script.py args...`` would:
same ``sys.argv``, the script's folder first on ``sys.path``.

``--no-azureml-shim`` (the workspace setting ``azureml_shim: false``) runs
the script without the shim.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType

__all__ = ["main", "NO_SHIM_FLAG"]

NO_SHIM_FLAG = "--no-azureml-shim"


def main(argv: list[str] | None = None) -> None:
    """Run ``argv[0]`` (a script) with ``argv[1:]`` as its arguments."""
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
