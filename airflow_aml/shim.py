"""Opt-in import shim: unmodified ``azureml.*`` code runs on airflow-aml.

Either install it in code before the ``azureml`` imports::

    import airflow_aml.shim
    airflow_aml.shim.install()

or run a script under it without touching the script::

    python -m airflow_aml.shim my_pipeline.py [args...]

``import azureml.X`` then gives ``airflow_aml.X`` (the same module object).
Names airflow-aml does not provide fail with the usual ImportError, naming
the ``airflow_aml`` module that was looked for. If the real Azure ML SDK is
installed, the shim still takes precedence while it is installed.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import runpy
import sys
from types import ModuleType
from typing import Any

__all__ = ["install", "uninstall", "main"]

_PREFIX = "azureml"
_TARGET = "airflow_aml"


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        """The target module is already executed."""


class _AzuremlFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Any = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _PREFIX and not fullname.startswith(_PREFIX + "."):
            return None
        real = _TARGET + fullname[len(_PREFIX) :]
        try:
            found = importlib.util.find_spec(real)
        except ModuleNotFoundError:  # a parent package is missing too
            found = None
        if found is None:
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: airflow-aml has no {real!r} (see the "
                "airflow-aml README for what is supported)",
                name=fullname,
            )
        is_pkg = hasattr(importlib.import_module(real), "__path__")
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(real), is_package=is_pkg)


_finder = _AzuremlFinder()


def install() -> None:
    """Make ``import azureml...`` load ``airflow_aml...``."""
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


def uninstall() -> None:
    """Remove the shim (modules already imported stay imported)."""
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    for name in [n for n in sys.modules if n == _PREFIX or n.startswith(_PREFIX + ".")]:
        del sys.modules[name]


def main(argv: list[str] | None = None) -> int:
    """``python -m airflow_aml.shim script.py [args]``: run a script with the shim."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("usage: python -m airflow_aml.shim script.py [args...]", file=sys.stderr)
        return 2
    install()
    sys.argv = args
    runpy.run_path(args[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
