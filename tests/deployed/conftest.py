"""The deployed tier: a real Airflow on a private PostgreSQL, all on 127.0.0.1.

``deployed_airflow`` (session scope) starts, in this order:

1. a PostgreSQL cluster of its own (``initdb`` + ``pg_ctl`` from the Debian
   ``postgresql`` package, run as the ``postgres`` user when the tests run as
   root) in a temporary folder, listening on a free 127.0.0.1 port only;
2. an Airflow home (``airflow.cfg``: LocalExecutor, SimpleAuthManager with
   fixed users and passwords, a shared JWT secret and API secret key, the
   scheduler and dag-processor tuned for latency) whose DAGs folder holds the
   one airflow-aml loader file;
   an Azurite blob service (``tests/azurite.py``) whose container ``aml`` is the
   workspace datastore and holds the registry (``wasb://aml_blob@aml/registry``),
   reached through the Airflow connection ``aml_blob`` (``AIRFLOW_CONN_AML_BLOB``),
   so clients share no disk with the servers, as in ``docker-compose.yaml``;
3. ``airflow db migrate``, then in parallel ``airflow api-server``,
   ``airflow scheduler --skip-serve-logs``, ``airflow dag-processor`` and
   ``airflow triggerer --skip-serve-logs`` (no log server opens a port; the
   api-server reads task logs from the shared local log folder).

It waits for ``/api/v2/monitor/health`` (database, scheduler, dag-processor,
triggerer) and for the loader file's first complete parse, warms the
api-server's execution API (built lazily on its first request, ~3 s), and
stops everything (SIGTERM to each process group, then SIGKILL) at the end of
the session. The servers run with ``[aml] registry`` (``AIRFLOW__AML__REGISTRY``) =
``registry``, ``[aml] cache_dir`` in ``aml_home`` and ``AIRFLOW_AML_HOME`` =
``aml_home`` (theirs alone) of the yielded object.

Environment: ``AIRFLOW_AML_PG_BINDIR`` names the PostgreSQL bin folder if it is
not a Debian one; ``AIRFLOW_AML_KEEP_DEPLOYED=1`` keeps the temporary folders
(config, component logs) for debugging; ``AIRFLOW_AML_PYCACHE`` is where the
Airflow processes keep bytecode when ``PYTHONDONTWRITEBYTECODE`` is set.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.azurite import AzuriteBlob, start_azurite

LOADER_FILE = "airflow_aml_loader.py"
LOADER_SOURCE = (
    "from airflow_aml.compiler.loader import dags_from_registry\n"
    "globals().update(dags_from_registry())\n"
)
USERS = {"admin": "admin", "viewer": "viewer", "editor": "op"}  # user -> SimpleAuthManager role
COMPONENTS = {
    "api-server": ["api-server"],
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
}
STARTUP_TIMEOUT = 240.0
BLOB_CONN_ID = "aml_blob"
CONTAINER = "aml"
_TIMINGS: dict[str, float] = {}


# --------------------------------------------------------------------------- PostgreSQL


def find_pg_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (newest Debian cluster version first)."""
    override = os.environ.get("AIRFLOW_AML_PG_BINDIR")
    candidates: list[Path] = [Path(override)] if override else []

    def version(path: Path) -> float:
        try:
            return float(path.parent.name)
        except ValueError:
            return 0.0

    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    which = shutil.which("initdb")
    if which:
        candidates.append(Path(which).resolve().parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresCluster:
    """A throw-away PostgreSQL cluster on 127.0.0.1, owned by a non-root user."""

    bindir: Path
    root: Path
    port: int
    password: str
    user: str = "airflow"
    run_as: pwd.struct_passwd | None = None

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "postgresql.log"

    def url(self, database: str, driver: str = "postgresql+psycopg2") -> str:
        return f"{driver}://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, Any] = {}
        if self.run_as is not None:
            kwargs = {"user": self.run_as.pw_uid, "group": self.run_as.pw_gid, "extra_groups": []}
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"}
        if self.run_as is not None:
            env["HOME"] = str(self.root)
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **kwargs,
        )

    def _check(self, proc: subprocess.CompletedProcess[str], what: str) -> None:
        if proc.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{what} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n{log}"
            )

    def start(self) -> None:
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.run_as is not None:
            for path in (self.root, pwfile):
                os.chown(path, self.run_as.pw_uid, self.run_as.pw_gid)
        proc = self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            self.user,
            f"--pwfile={pwfile}",
            "--auth-local=trust",  # the socket lives in this private 0700 folder
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        pwfile.unlink()
        self._check(proc, "initdb")
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-p {self.port}",
                f"-k {self.root}",
                "-c max_connections=200",
                # Durability is pointless for a throw-away test cluster; speed is not.
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            ]
        )
        proc = self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options,
            "start",
        )  # fmt: skip
        self._check(proc, "pg_ctl start")

    def execute(self, database: str, sql: str, params: tuple[Any, ...] = ()) -> None:
        """Run one statement (autocommit) as the cluster's superuser."""
        import psycopg2

        conn = psycopg2.connect(
            host="127.0.0.1",
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=database,
        )
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql, params)
        finally:
            conn.close()

    def create_database(self, name: str) -> None:
        self.execute("postgres", f'CREATE DATABASE "{name}"')

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        if not (self.data / "postmaster.pid").exists():
            return
        proc = self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")
        if proc.returncode != 0:
            pid = self.postmaster_pid()
            if pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGQUIT)


def _postgres_run_as() -> pwd.struct_passwd | None:
    """PostgreSQL refuses to run as root: use ``postgres`` (from the package), else ``nobody``."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root, and neither a 'postgres' nor a 'nobody' user exists")


# --------------------------------------------------------------------------- Airflow


def _airflow_cfg(
    *,
    home: Path,
    dags: Path,
    db_url: str,
    api_port: int,
    passwords_file: Path,
    jwt_secret: str,
    secret_key: str,
    fernet_key: str,
) -> str:
    users = ",".join(f"{user}:{role}" for user, role in USERS.items())
    return f"""\
[core]
dags_folder = {dags}
plugins_folder = {home / "plugins"}
executor = LocalExecutor
parallelism = 16
load_examples = False
dags_are_paused_at_creation = True
min_serialized_dag_update_interval = 0
fernet_key = {fernet_key}
auth_manager = airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager
simple_auth_manager_users = {users}
simple_auth_manager_all_admins = False
simple_auth_manager_passwords_file = {passwords_file}
execution_api_server_url = http://127.0.0.1:{api_port}/execution/

[database]
sql_alchemy_conn = {db_url}

[logging]
base_log_folder = {home / "logs"}
dag_processor_child_process_log_directory = {home / "logs" / "dag_processor"}
colored_console_log = False

[api]
host = 127.0.0.1
port = {api_port}
workers = 1
secret_key = {secret_key}
expose_config = False

[api_auth]
jwt_secret = {jwt_secret}

[scheduler]
scheduler_heartbeat_sec = 1
job_heartbeat_sec = 1
scheduler_idle_sleep_time = 0.2
enable_health_check = False
scheduler_health_check_server_host = 127.0.0.1
use_job_schedule = True

[triggerer]
job_heartbeat_sec = 1

[dag_processor]
refresh_interval = 2
bundle_refresh_check_interval = 1
min_file_process_interval = 5
parsing_processes = 2
print_stats_interval = 0
stale_dag_threshold = 10
"""


@dataclass
class DeployedAirflow:
    """Handles on the running deployment (see the module docstring)."""

    api_url: str
    airflow_home: Path
    dags_folder: Path
    registry: str
    datastore: str
    aml_home: Path
    azurite: AzuriteBlob
    users: dict[str, str]
    env: dict[str, str]
    log_dir: Path
    postgres: PostgresCluster
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    _tokens: dict[str, str] = field(default_factory=dict)
    _http: Any = None

    def mark(self, milestone: str) -> None:
        """Record how long after the start of the fixture ``milestone`` was reached."""
        self.timings[milestone] = round(time.monotonic() - self.started, 2)

    # -- HTTP ---------------------------------------------------------------------------------

    @property
    def http(self) -> Any:
        """An ``httpx.Client`` on ``api_url`` (ignores proxy settings: all is on loopback)."""
        if self._http is None:
            import httpx

            self._http = httpx.Client(base_url=self.api_url, timeout=30, trust_env=False)
        return self._http

    def token(self, user: str = "admin") -> str:
        """A JWT for ``user`` from ``POST /auth/token`` (SimpleAuthManager)."""
        if user not in self._tokens:
            resp = self.http.post(
                "/auth/token", json={"username": user, "password": self.users[user]}
            )
            if resp.status_code != 201:
                raise RuntimeError(f"login as {user!r} failed: {resp.status_code} {resp.text}")
            self._tokens[user] = resp.json()["access_token"]
        return self._tokens[user]

    def headers(self, user: str | None = "admin") -> dict[str, str]:
        """Authorization headers for ``user`` (none for ``None``)."""
        return {} if user is None else {"Authorization": f"Bearer {self.token(user)}"}

    def request(self, method: str, path: str, *, user: str | None = "admin", **kwargs: Any) -> Any:
        """An ``httpx.Response`` for ``method`` on ``{api_url}{path}`` as ``user``."""
        headers = {**self.headers(user), **kwargs.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kwargs)

    def wait_for_dag(self, dag_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """Wait until the dag-processor has serialised ``dag_id``; its ``GET /dags/{id}`` body."""
        deadline = time.monotonic() + timeout
        while True:
            resp = self.request("GET", f"/api/v2/dags/{dag_id}")
            if resp.status_code == 200:
                return dict(resp.json())
            if time.monotonic() > deadline:
                errors = self.request("GET", "/api/v2/importErrors").text
                raise TimeoutError(
                    f"DAG {dag_id!r} not parsed after {timeout}s ({resp.status_code});"
                    f" import errors: {errors}\n{self.log_tail()}"
                )
            time.sleep(0.2)

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 120.0) -> dict[str, Any]:
        """Wait until a DagRun is finished; its ``GET`` body."""
        deadline = time.monotonic() + timeout
        while True:
            resp = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
            resp.raise_for_status()
            body = dict(resp.json())
            if body["state"] in ("success", "failed"):
                return body
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"run {dag_id}/{run_id} still {body['state']} after {timeout}s\n"
                    + self.log_tail()
                )
            time.sleep(0.2)

    # -- processes ----------------------------------------------------------------------------

    def airflow(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run the ``airflow`` CLI against this deployment."""
        return subprocess.run(
            [_airflow_bin(), *args],
            env=self.env,
            cwd=self.airflow_home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def log_tail(self, lines: int = 25) -> str:
        """The last lines of every component log (for failure messages)."""
        out = []
        logs = sorted(self.log_dir.glob("*.log")) + [self.postgres.log]
        for path in logs:
            if not path.exists():
                continue
            text = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"----- {path.name} (last {len(text)} lines)\n" + "\n".join(text))
        return "\n".join(out)

    def pids(self) -> dict[str, list[int]]:
        """Live pids of every component (with their children) and of PostgreSQL."""
        import psutil

        found: dict[str, list[int]] = {}
        roots = {name: proc.pid for name, proc in self.processes.items()}
        pg = self.postgres.postmaster_pid()
        if pg:
            roots["postgresql"] = pg
        for name, pid in roots.items():
            try:
                root = psutil.Process(pid)
                found[name] = [pid] + [c.pid for c in root.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
        return found

    def listening_sockets(self) -> list[tuple[str, int, str, int]]:
        """``(component, pid, ip, port)`` of every TCP socket our processes listen on."""
        import psutil

        sockets = []
        for name, pids in self.pids().items():
            for pid in pids:
                try:
                    conns = psutil.Process(pid).net_connections(kind="inet")
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                for conn in conns:
                    if conn.status == psutil.CONN_LISTEN:
                        sockets.append((name, pid, conn.laddr.ip, conn.laddr.port))
        return sockets

    def stop(self) -> None:
        """SIGTERM every component's process group, SIGKILL what is left, stop PostgreSQL."""
        import psutil

        tree = {pid for name, pids in self.pids().items() if name != "postgresql" for pid in pids}
        for proc in self.processes.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for proc in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        for pid in tree:  # children that left their process group (e.g. task runners)
            with contextlib.suppress(psutil.NoSuchProcess):
                proc = psutil.Process(pid)
                if proc.status() != psutil.STATUS_ZOMBIE:
                    proc.kill()
        self.postgres.stop()
        self.azurite.stop()
        if self._http is not None:
            self._http.close()


def _airflow_bin() -> str:
    candidate = Path(sys.executable).parent / "airflow"
    return str(candidate) if candidate.exists() else shutil.which("airflow") or "airflow"


def _clean_env() -> dict[str, str]:
    """The test process environment minus Airflow / airflow-aml settings of the embedded tier."""
    drop = ("AIRFLOW__", "AIRFLOW_AML_", "AIRFLOW_CONN_", "AIRFLOW_VAR_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    for key in ("AIRFLOW_HOME", "AIRFLOW_CONFIG"):
        env.pop(key, None)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "/usr/bin:/bin")
    env["PYTHONUNBUFFERED"] = "1"
    env["NO_COLOR"] = "1"
    for key in ("NO_PROXY", "no_proxy"):  # task runners call the execution API on loopback
        env[key] = ",".join(filter(None, [env.get(key), "127.0.0.1", "localhost"]))
    if env.pop("PYTHONDONTWRITEBYTECODE", None) and "PYTHONPYCACHEPREFIX" not in env:
        # Without bytecode every Airflow process compiles ~1,200 modules (2-3 s of CPU each);
        # keep the bytecode in a cache of our own rather than in the venv.
        cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        env["PYTHONPYCACHEPREFIX"] = os.environ.get(
            "AIRFLOW_AML_PYCACHE", str(Path(cache) / "airflow-aml" / "pycache")
        )
    return env


def _fernet_key() -> str:
    import base64

    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _warm_execution_api(deployed: DeployedAirflow) -> None:
    """Have the api-server set up its execution API now, not in the first task's call (~3 s)."""
    import httpx

    with contextlib.suppress(httpx.HTTPError):
        httpx.get(f"{deployed.api_url}/execution/health", timeout=120, trust_env=False)
        deployed.mark("execution_api_warm")


def _wait_healthy(deployed: DeployedAirflow, timeout: float) -> dict[str, Any]:
    import httpx

    deadline = time.monotonic() + timeout
    last: Any = None
    warming = threading.Thread(target=_warm_execution_api, args=(deployed,), daemon=True)
    while time.monotonic() < deadline:
        for name, proc in deployed.processes.items():
            if proc.poll() is not None:
                raise RuntimeError(
                    f"airflow {name} exited with {proc.returncode} during start-up\n"
                    + deployed.log_tail(60)
                )
        try:
            resp = deployed.http.get("/api/v2/monitor/health", timeout=5)
            last = resp.text
            if not warming.is_alive() and "api_server_up" not in deployed.timings:
                deployed.mark("api_server_up")
                warming.start()  # in the background: tests need not wait for it
            if resp.status_code == 200:
                health = resp.json()
                parts = ("metadatabase", "scheduler", "dag_processor", "triggerer")
                if all((health.get(p) or {}).get("status") == "healthy" for p in parts):
                    deployed.mark("healthy")
                    return dict(health)
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.2)
    raise TimeoutError(f"Airflow not healthy after {timeout}s: {last}\n{deployed.log_tail(60)}")


def _parse_count(logs: Path) -> int:
    """How many parses of the loader file the dag-processor has started (from its file logs)."""
    count = 0
    for path in logs.glob(f"*/*/{LOADER_FILE}.log"):
        if "latest" not in path.parts:  # a symlink to today's folder
            text = path.read_text(errors="replace")
            count += text.count('"Filling up the DagBag from')
    return count


def _wait_loader_parsed(deployed: DeployedAirflow, timeout: float) -> None:
    """Wait until the dag-processor has parsed the loader file once, completely, without errors.

    A file without DAGs leaves no trace in the database, and its per-file log only marks the
    start of a parse. So: wait for the first parse to start, ask for a priority reparse (the
    REST endpoint refuses files that hold no DAG yet, so the request goes straight into the
    ``dag_priority_parsing_request`` table) and wait for that one to start: the processor
    parses a file once at a time, so the first parse has finished by then.
    """
    logs = deployed.airflow_home / "logs" / "dag_processor"
    deadline = time.monotonic() + timeout
    requested = False
    while True:
        count = _parse_count(logs)
        if count >= 2:
            break
        if count == 1 and not requested:
            deployed.postgres.execute(
                "airflow",
                "INSERT INTO dag_priority_parsing_request (id, bundle_name, relative_fileloc)"
                " VALUES (%s, %s, %s)",
                (secrets.token_hex(16), "dags-folder", LOADER_FILE),
            )
            requested = True
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"loader DAG file not parsed after {timeout}s\n{deployed.log_tail(60)}"
            )
        time.sleep(0.1)
    errors = deployed.request("GET", "/api/v2/importErrors").json()
    bad = [e for e in errors.get("import_errors", []) if LOADER_FILE in e.get("filename", "")]
    if bad:
        raise RuntimeError(f"the loader DAG file does not import: {bad}")
    deployed.mark("loader_parsed")


class NoPostgres(RuntimeError):
    """PostgreSQL server binaries are missing on this machine."""


@pytest.fixture(scope="session")
def deployed_airflow() -> Iterator[DeployedAirflow]:
    """A running Airflow deployment on PostgreSQL, bound to 127.0.0.1 (see module docstring)."""
    try:
        with start_deployment() as deployed:
            yield deployed
    except NoPostgres as exc:
        pytest.skip(str(exc))


@contextlib.contextmanager
def start_deployment() -> Iterator[DeployedAirflow]:
    """Start the deployment (also used by benchmarks/bench_deployed.py); stop it on exit."""
    started = time.monotonic()
    bindir = find_pg_bindir()
    if bindir is None:
        raise NoPostgres(
            "PostgreSQL server binaries (initdb, pg_ctl) not found: install the Debian "
            "'postgresql' package (scripts/bootstrap.sh does) or set AIRFLOW_AML_PG_BINDIR"
        )
    keep = bool(os.environ.get("AIRFLOW_AML_KEEP_DEPLOYED"))
    base = Path(tempfile.mkdtemp(prefix="aml-deployed-"))
    # PostgreSQL runs as another user, who must own its folder (and reach it: /tmp is 1777).
    pg_root = Path(tempfile.mkdtemp(prefix="aml-deployed-pg-"))
    run_as = _postgres_run_as()
    postgres = PostgresCluster(
        bindir=bindir,
        root=pg_root,
        port=free_port(),
        password=secrets.token_urlsafe(16),
        run_as=run_as,
    )

    home = base / "airflow"
    dags = home / "dags"
    aml_home = base / "aml-home"  # the servers' own: nothing in it is shared with clients
    log_dir = base / "component-logs"
    for folder in (dags, home / "plugins", aml_home, log_dir, base / "azurite"):
        folder.mkdir(parents=True, exist_ok=True)
    # The workspace datastore and the registry: a blob container, as in docker-compose.yaml.
    azurite = start_azurite(base / "azurite")
    azurite.create_container(CONTAINER)
    registry = f"wasb://{BLOB_CONN_ID}@{CONTAINER}/registry"
    datastore = f"wasb://{BLOB_CONN_ID}@{CONTAINER}"
    (dags / LOADER_FILE).write_text(LOADER_SOURCE, encoding="utf-8")

    api_port = free_port()
    users = {user: secrets.token_urlsafe(12) for user in USERS}
    passwords_file = home / "simple_auth_manager_passwords.json"
    passwords_file.write_text(json.dumps(users) + "\n", encoding="utf-8")
    env = _clean_env()
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW_CONFIG=str(home / "airflow.cfg"),
        AIRFLOW__AML__REGISTRY=registry,
        AIRFLOW_AML_HOME=str(aml_home),
        **{f"AIRFLOW_CONN_{BLOB_CONN_ID.upper()}": azurite.conn_json()},
        AIRFLOW__AML__CACHE_DIR=str(aml_home / "cache"),
    )
    deployed = DeployedAirflow(
        api_url=f"http://127.0.0.1:{api_port}",
        airflow_home=home,
        dags_folder=dags,
        registry=registry,
        datastore=datastore,
        aml_home=aml_home,
        azurite=azurite,
        users=users,
        env=env,
        log_dir=log_dir,
        postgres=postgres,
        started=started,
    )
    try:
        postgres.start()
        postgres.create_database("airflow")
        deployed.mark("postgres")
        (home / "airflow.cfg").write_text(
            _airflow_cfg(
                home=home,
                dags=dags,
                db_url=postgres.url("airflow"),
                api_port=api_port,
                passwords_file=passwords_file,
                jwt_secret=secrets.token_urlsafe(64),  # HS512 wants >= 64 bytes
                secret_key=secrets.token_urlsafe(32),
                fernet_key=_fernet_key(),
            ),
            encoding="utf-8",
        )
        migrate = deployed.airflow("db", "migrate")
        (log_dir / "db-migrate.log").write_text(migrate.stdout + migrate.stderr)
        if migrate.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed:\n{deployed.log_tail(80)}")
        deployed.mark("migrated")

        for name, args in COMPONENTS.items():
            with open(log_dir / f"{name}.log", "ab") as out:
                deployed.processes[name] = subprocess.Popen(
                    [_airflow_bin(), *args],
                    env=env,
                    cwd=home,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group, stopped as one
                )
        _wait_healthy(deployed, STARTUP_TIMEOUT)
        _wait_loader_parsed(deployed, 60)
        yield deployed
    finally:
        _TIMINGS.update(deployed.timings)
        deployed.stop()
        if keep:
            print(f"\nkept deployed Airflow folders: {base} {pg_root}", file=sys.stderr)
        else:
            shutil.rmtree(base, ignore_errors=True)
            shutil.rmtree(pg_root, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder belongs to the ``deployed`` tier (``-m "not deployed"``)."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.deployed)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Report how long the deployment took to start (seconds since the fixture began)."""
    if _TIMINGS:
        parts = ", ".join(f"{k} {v:.1f}s" for k, v in _TIMINGS.items())
        terminalreporter.write_line(f"deployed Airflow start-up: {parts}")
