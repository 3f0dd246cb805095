"""The ``airflow-aml`` command.

* ``airflow-aml ui`` serves the Airflow UI/REST API of the embedded workspace
  home on 127.0.0.1 (runs submitted from Python show up there);
* ``airflow-aml env`` prints the environment to use the plain ``airflow``
  CLI on that home.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

__all__ = ["main"]


def _workspace(home: str | None):
    from airflow_aml.core.workspace import Workspace

    return Workspace(home=home) if home else Workspace.from_config()


def _env(ws) -> dict[str, str]:
    from airflow_aml.backends.airflow_home import airflow_env, prepare_home

    prepare_home(ws.airflow_home)
    return airflow_env(ws.airflow_home, ws.home / "registry")


def cmd_ui(args: argparse.Namespace) -> int:
    """Migrate the home's DB if needed and run the api-server (UI + REST) on loopback."""
    ws = _workspace(args.home)
    env = _env(ws)
    subprocess.run([sys.executable, "-m", "airflow_aml.backends.airflow_home"], env=env, check=True)
    airflow = Path(sys.executable).with_name("airflow")
    from airflow_aml.backends.airflow_home import passwords_file

    print(f"Airflow UI for workspace {ws.name!r} ({ws.home}): http://127.0.0.1:{args.port}/")
    print(
        f"Log in as 'admin'; the password is in {passwords_file(ws.airflow_home)} "
        "(generated on first start)"
    )
    cmd = [str(airflow), "api-server", "--host", "127.0.0.1", "--port", str(args.port)]
    return subprocess.call(cmd, env=env)


def cmd_env(args: argparse.Namespace) -> int:
    """Print shell exports for the plain airflow CLI."""
    ws = _workspace(args.home)
    env = _env(ws)
    for key in ("AIRFLOW_HOME", "AIRFLOW_CONFIG", "AIRFLOW_AML_REGISTRY"):
        print(f"export {key}={env[key]}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``airflow-aml``."""
    parser = argparse.ArgumentParser(
        prog="airflow-aml",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--home",
        default=os.environ.get("AIRFLOW_AML_HOME"),
        help="workspace home (default: $AIRFLOW_AML_HOME or ~/.airflow_aml)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    ui = sub.add_parser("ui", help="serve the Airflow UI for the workspace on 127.0.0.1")
    ui.add_argument("--port", type=int, default=8080)
    ui.set_defaults(func=cmd_ui)
    env = sub.add_parser("env", help="print exports for the plain airflow CLI")
    env.set_defaults(func=cmd_env)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
