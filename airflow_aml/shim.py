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
import importlib.machinery
import os
import sys

TYPE_CHECKING = False  # not `from typing import ...`: every step process imports this module
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

__all__ = ["install", "uninstall", "main"]

_PREFIX = "azureml"
_TARGET = "airflow_aml"


# The finder and loader follow importlib's protocols without subclassing importlib.abc:
# that module pulls in importlib.resources (~14 ms), paid by every step process.
class _AliasLoader:
    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        """The target module is already executed."""


class _AzuremlFinder:
    def find_spec(
        self, fullname: str, path: Any = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _PREFIX and not fullname.startswith(_PREFIX + "."):
            return None
        real = _TARGET + fullname[len(_PREFIX) :]
        try:
            module = importlib.import_module(real)
        except ModuleNotFoundError as exc:
            missing = exc.name or ""
            if missing != real and not real.startswith(missing + "."):
                raise  # airflow_aml.X exists but needs something missing: say that
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: airflow-aml has no {real!r} (see the "
                "airflow-aml README for what is supported)",
                name=fullname,
            ) from None
        is_pkg = hasattr(module, "__path__")
        loader: Any = _AliasLoader(real)  # a Loader by protocol
        return importlib.machinery.ModuleSpec(fullname, loader, is_package=is_pkg)


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


_USAGE = "usage: python -m airflow_aml.shim [-h] script.py [args...]"
_HELP = f"""{_USAGE}

Run an unmodified Azure ML SDK v1 script on airflow-aml: while it runs,
`import azureml.X` loads `airflow_aml.X`. The script gets the remaining
arguments as sys.argv[1:], and its folder is first on sys.path, as with
`python script.py`.

options:
  -h, --help  show this help message and exit
"""


def main(argv: list[str] | None = None) -> int:
    """``python -m airflow_aml.shim script.py [args]``: run a script with the shim."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print(_USAGE, file=sys.stderr)
        return 2
    if args[0] in ("-h", "--help"):
        print(_HELP, end="")
        return 0
    if args[0].startswith("-"):
        print(f"{_USAGE}\npython -m airflow_aml.shim: unknown option {args[0]}", file=sys.stderr)
        return 2
    script = args[0]
    if not os.path.exists(script):
        print(
            f"python -m airflow_aml.shim: can't open file {os.path.abspath(script)!r}: "
            "no such file",
            file=sys.stderr,
        )
        return 2
    install()
    sys.argv = args
    folder = os.path.dirname(os.path.abspath(script))
    if sys.path and sys.path[0] in ("", os.getcwd()):
        sys.path[0] = folder  # as ``python script.py`` sets it
    else:
        sys.path.insert(0, folder)
    import runpy  # lazy: every step process imports this module; `python -m` has runpy loaded

    runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
