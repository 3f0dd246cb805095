"""The ``airflow-aml`` command.

* ``airflow-aml ui`` serves the Airflow UI/REST API of the embedded workspace
  home on 127.0.0.1 (runs submitted from Python show up there);
* ``airflow-aml env`` prints the environment to use the plain ``airflow``
  CLI on that home.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

from airflow_aml._processes import set_parent_death_signal
from airflow_aml._version import __version__
from airflow_aml.backends import airflow_home as ah
from airflow_aml.core.workspace import Workspace

__all__ = ["main", "build_parser"]

_DESCRIPTION = """\
airflow-aml runs Azure ML SDK v1 pipeline code on Apache Airflow 3.
These commands work on the embedded workspace home (an Airflow home with
SQLite), where runs submitted from Python execute without any server.
"""

_UI_DESCRIPTION = """\
Serve the Airflow UI and REST API of the workspace home on 127.0.0.1, with
Airflow's login: user "admin", password generated on first start (the
command prints the file that holds it).

What runs on the embedded home: runs submitted from Python and through the
/aml/... REST routes run. The UI's Trigger button and
POST /api/v2/dags/{dag_id}/dagRuns only queue a run here (no scheduler runs
on the embedded home); they run on a deployment with a scheduler.

The port is remembered for the home: published pipelines' endpoints and the
runs' UI links use it, also while the UI is not running. Stop the server with
Ctrl-C or SIGTERM; the Airflow api-server it started stops with it.
"""

_WHAT_RUNS = (
    "Runs submitted from Python and through the /aml/... REST routes run here; the "
    "Trigger button and POST /api/v2/dags/{dag_id}/dagRuns only queue a run on this "
    "home (no scheduler runs here; they run on a deployment with a scheduler)."
)


def _workspace(home: str | None):
    return Workspace(home=home) if home else Workspace.from_config()


def _env(ws) -> dict[str, str]:
    ah.prepare_home(ws.airflow_home)
    return ah.airflow_env(ws.airflow_home, ws.home / "registry")


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGTERM when this process dies (Linux).

    Covers the case no signal handler can: the CLI being SIGKILLed.
    """
    if not sys.platform.startswith("linux"):
        return None
    parent = os.getpid()

    def preexec() -> None:
        set_parent_death_signal(signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def _port_in_use(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _ui_port(args: argparse.Namespace, ws: Any) -> tuple[int, int]:
    """The port to serve on, and a non-zero exit code when the UI cannot start there."""
    home = ws.airflow_home
    running = ah.serving_ui(home, accepting=False)
    if running is not None:
        print(
            f"airflow-aml ui: the UI of {ws.home} is already served at {running['url']}/ "
            f"(pid {running['pid']})",
            file=sys.stderr,
        )
        return 0, 1
    port = args.port if args.port is not None else ah.ui_port(home)
    if not 0 < port < 65536:
        print(f"airflow-aml ui: --port {port} is not a TCP port (1-65535)", file=sys.stderr)
        return port, 2
    if _port_in_use(port):
        print(
            f"airflow-aml ui: port {port} on 127.0.0.1 is in use; choose another with --port",
            file=sys.stderr,
        )
        return port, 1
    return port, 0


def cmd_ui(args: argparse.Namespace) -> int:
    """Migrate the home's DB if needed and run the api-server (UI + REST) on loopback.

    The api-server is a child process that dies with this one: signals are
    forwarded to it, and a parent-death signal stops it if this process is
    killed outright. While it runs, the home records its pid and URL.
    """
    ws = _workspace(args.home)
    home = ws.airflow_home
    home.mkdir(parents=True, exist_ok=True)
    port, refused = _ui_port(args, ws)
    if refused:
        return refused
    ah.set_ui_port(home, port)
    env = _env(ws)
    preexec = _die_with_parent()
    migrate = subprocess.run(
        [sys.executable, "-m", "airflow_aml.backends.airflow_home"],
        env=env,
        preexec_fn=preexec,  # the CLI is single-threaded
    )
    if migrate.returncode != 0:
        print(
            f"airflow-aml ui: preparing the Airflow database of {home} failed "
            f"(exit code {migrate.returncode}; its output is above)",
            file=sys.stderr,
        )
        return 1
    url = f"http://{ah.UI_HOST}:{port}"
    print(f"Airflow UI for workspace {ws.name!r} ({ws.home}): {url}/")
    print(
        f"Log in as 'admin'; the password is in {ah.passwords_file(home)} "
        "(generated on first start)"
    )
    print(_WHAT_RUNS)
    sys.stdout.flush()
    cmd = [sys.executable, "-m", "airflow", "api-server", "--host", ah.UI_HOST]
    cmd += ["--port", str(port), "--workers", "1"]
    proc = subprocess.Popen(cmd, env=env, preexec_fn=preexec)
    ah.write_ui_state(home, proc.pid, port)
    stopping: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        # First signal: ask the server to stop (it closes its port at once);
        # a second one: kill it.
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL if stopping else signal.SIGTERM)
        stopping.append(signum)

    previous: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        previous[sig] = signal.signal(sig, forward)
    try:
        rc = proc.wait()
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        ah.clear_ui_state(home, proc.pid)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if stopping:
        print("airflow-aml ui: stopped")
        return 0
    return rc if rc >= 0 else 128 - rc


def cmd_env(args: argparse.Namespace) -> int:
    """Print shell exports for the plain airflow CLI."""
    ws = _workspace(args.home)
    env = _env(ws)
    for key in ("AIRFLOW_HOME", "AIRFLOW_CONFIG", "AIRFLOW__AML__REGISTRY"):
        print(f"export {key}={env[key]}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``airflow-aml`` (also used to check the README's commands)."""
    parser = argparse.ArgumentParser(
        prog="airflow-aml",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"airflow-aml {__version__}")
    parser.add_argument(
        "--home",
        default=os.environ.get("AIRFLOW_AML_HOME"),
        help="workspace home (default: $AIRFLOW_AML_HOME or ~/.airflow_aml)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ui = sub.add_parser(
        "ui",
        help="serve the Airflow UI and REST API of the workspace on 127.0.0.1",
        description=_UI_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ui.add_argument(
        "--port",
        type=int,
        default=None,
        help="port on 127.0.0.1 (default: the home's last port, else 8080); remembered",
    )
    ui.set_defaults(func=cmd_ui)
    env = sub.add_parser(
        "env",
        help="print the exports that point the plain airflow CLI at the workspace home",
        description="Print the exports (AIRFLOW_HOME, AIRFLOW_CONFIG, AIRFLOW__AML__REGISTRY) "
        "that point the plain airflow CLI at the workspace home.",
    )
    env.set_defaults(func=cmd_env)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``airflow-aml``."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
