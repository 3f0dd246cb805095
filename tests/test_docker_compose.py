"""docker-compose.yaml: the shape of the official Airflow 3 compose, plus airflow-aml.

No Docker engine runs in the test environment, so the file is checked as data
(the same topology runs natively in tests/deployed). The parts that talk to Azure
Blob (airflow-init's container creation, the host client's config and
connection from the header) run against a real Azurite (tests/azurite.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.azurite import AzuriteBlob

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yaml"
AIRFLOW_SERVICES = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-worker": "celery worker",
    "airflow-triggerer": "triggerer",
    "airflow-init": None,
}
# The services that parse DAG files or run tasks, and so need the DAGs and the registry.
REGISTRY_READERS = [
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-worker",
]
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
# The Airflow connection to Azurite and the container that is datastore and registry.
BLOB_CONN_ID = "aml_blob"
CONTAINER = "aml"
CONN_ENV = f"AIRFLOW_CONN_{BLOB_CONN_ID.upper()}"
# The registry: the [aml] registry setting of airflow-aml's provider, as its env variable.
REGISTRY_ENV = "AIRFLOW__AML__REGISTRY"
IN_COMPOSE_ENDPOINT = "http://azurite:10000/devstoreaccount1"


# What a user puts in .env (see the compose file's header).
DOTENV = {"AIRFLOW_UID": "1000"}


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose variable interpolation: ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}``,
    ``$$`` for a literal ``$``. A missing ``:?`` variable is an error, as in compose."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$$"  # kept: the container's shell sees it
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if op == ":?":
            raise ValueError(f"compose would stop: {name} is not set ({arg})")
        return arg if op == ":-" else ""

    return re.sub(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)([^}]*))?\}", one, text)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    text = interpolate(COMPOSE.read_text(encoding="utf-8"), DOTENV)
    return dict(yaml.safe_load(text))


def test_nothing_but_the_uid_goes_in_dotenv():
    # No variable is required (no `${VAR:?...}`): compose starts with an empty .env too.
    text = COMPOSE.read_text(encoding="utf-8")
    assert not re.search(r"\$\{[A-Za-z_][A-Za-z0-9_]*:\?", text)
    assert yaml.safe_load(interpolate(text, {}))["services"]
    # No shared workspace home any more (it was AIRFLOW_AML_HOME_DIR, bind-mounted).
    assert "AIRFLOW_AML_HOME_DIR" not in text


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return dict(compose["services"])


@pytest.fixture(scope="module")
def common_env(compose: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in compose["x-airflow-common"]["environment"].items()}


def _default(value: str) -> str:
    """``${VAR:-default}`` -> ``default`` (compose interpolation with the variable unset)."""
    return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}", r"\1", value)


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """``{container path: source}`` of a service's volumes (short syntax, options dropped)."""
    mounts = {}
    for entry in service.get("volumes", []):
        parts = _default(entry).split(":")
        assert len(parts) in (2, 3), entry
        mounts[parts[1]] = parts[0]
    return mounts


def _command(service: dict[str, Any]) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else str(command)


def _fields(connection_string: str) -> dict[str, str]:
    """``Key=value;...`` -> ``{key: value}``."""
    return dict(part.split("=", 1) for part in connection_string.split(";") if part)


def _init_python_one_liner(services: dict[str, Any]) -> str:
    """The Python code airflow-init runs with ``python -c "..."`` (container creation)."""
    found = re.findall(r'^\s*python -c "([^"]+)"\s*$', _command(services["airflow-init"]), re.M)
    assert len(found) == 1, found
    return found[0]


def _header() -> str:
    """The compose file's leading comment block, without the ``# `` prefixes."""
    lines = []
    for line in COMPOSE.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line[2:] if line.startswith("# ") else line[1:])
    return "\n".join(lines)


def _host_client() -> tuple[dict[str, Any], dict[str, str]]:
    """The host client's ``.azureml/config.json`` and environment, from the header."""
    header = _header()
    config = re.search(r"\.azureml/config\.json:\n(.*?)\n\s*environment:\n", header, re.S)
    assert config, "the header does not show the client's .azureml/config.json"
    env: dict[str, str] = {}
    for name, quoted, plain in re.findall(r"^\s*export (\w+)=(?:'([^']*)'|(\S+))$", header, re.M):
        env[name] = quoted or plain
    return json.loads(config.group(1)), env


def _run_init_one_liner(code: str, conn_json: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, CONN_ENV: conn_json}
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_required_services(services):
    required = {"postgres", "redis", "azurite", *AIRFLOW_SERVICES}
    assert required <= set(services), required - set(services)


def test_airflow_services_merge_the_common_anchor(compose, services):
    # At the YAML node level: each Airflow service starts with `<<: *airflow-common`.
    root = yaml.compose(COMPOSE.read_text(encoding="utf-8"))
    top = {key.value: value for key, value in root.value}
    common_node = top["x-airflow-common"]
    service_nodes = {key.value: value for key, value in top["services"].value}
    for name in AIRFLOW_SERVICES:
        merged = [
            value
            for key, value in service_nodes[name].value
            if key.tag == "tag:yaml.org,2002:merge"
        ]
        assert merged and merged[0] is common_node, f"{name} does not merge *airflow-common"

    # And resolved: the same image, environment, volumes and user everywhere.
    common = compose["x-airflow-common"]
    for name in AIRFLOW_SERVICES:
        service = services[name]
        assert service["image"] == common["image"], name
        env = service["environment"]
        for key, value in common["environment"].items():
            assert env.get(key) == value, f"{name}: {key}"
        assert service["volumes"] == common["volumes"], name
    for name in AIRFLOW_SERVICES.keys() - {"airflow-init"}:
        assert services[name]["user"] == common["user"], name


def test_commands_and_dependencies(services):
    for name, command in AIRFLOW_SERVICES.items():
        service = services[name]
        if command is not None:
            assert _command(service) == command, name
            deps = service["depends_on"]
            assert deps["airflow-init"]["condition"] == "service_completed_successfully", name
        for backing in ("postgres", "redis"):
            assert service["depends_on"][backing]["condition"] == "service_healthy", name
    init = services["airflow-init"]
    assert init["environment"]["_AIRFLOW_DB_MIGRATE"] == "true"
    script = _command(init)
    assert "airflow config list" in script  # writes airflow.cfg with the shared secrets
    assert "simple_auth_manager_passwords.json" in script


def test_every_service_has_a_healthcheck(services):
    for name, service in services.items():
        if name == "airflow-init":  # a one-shot job
            continue
        assert service.get("healthcheck", {}).get("test"), name


def test_celery_executor_with_redis_broker_and_postgres_backend(services, common_env):
    assert common_env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    broker = common_env["AIRFLOW__CELERY__BROKER_URL"]
    assert re.match(r"redis://[^@]*@redis:6379/\d+$", broker), broker
    backend = common_env["AIRFLOW__CELERY__RESULT_BACKEND"]
    assert re.match(r"db\+postgresql://airflow:airflow@postgres/airflow$", backend), backend
    db = common_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert re.match(r"postgresql\+psycopg2://airflow:airflow@postgres/airflow$", db), db
    assert services["postgres"]["environment"] == {
        "POSTGRES_USER": "airflow",
        "POSTGRES_PASSWORD": "airflow",
        "POSTGRES_DB": "airflow",
    }
    assert services["redis"]["image"].startswith("redis:")


def test_registry_is_in_the_azurite_container_for_every_airflow_service(services, common_env):
    registry = common_env[REGISTRY_ENV]
    parts = urlsplit(registry)
    assert parts.scheme == "wasb", registry
    assert parts.netloc == f"{BLOB_CONN_ID}@{CONTAINER}", registry
    assert parts.path.strip("/"), "the registry has a prefix of its own in the container"
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert env[REGISTRY_ENV] == registry, name
        assert env[CONN_ENV] == common_env[CONN_ENV], name  # the registry's connection


def test_no_workspace_home_is_shared(compose, services):
    # Bind mounts are the loader DAG folder and the plugins, read-only; the rest are
    # named volumes of Airflow's own (logs, config) or of the backing services.
    binds = {"./docker/dags": "/opt/airflow/dags", "./plugins": "/opt/airflow/plugins"}
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for entry in service.get("volumes", []):
            source, target, *options = _default(entry).split(":")
            if source.startswith((".", "/")):
                assert binds.get(source) == target and options == ["ro"], f"{name}: {entry}"
            else:
                assert source in declared, f"{name}: {entry}"
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert not {"AIRFLOW_AML_HOME", "AIRFLOW_AML_HOME_DIR"} & set(env), name
    assert set(_mounts(services["airflow-worker"]).values()) == {
        *binds,
        "airflow-logs",
        "airflow-config",
    }


def test_dags_folder_holds_the_loader_file(services, common_env):
    dags = common_env["AIRFLOW__CORE__DAGS_FOLDER"]
    sources = {_mounts(services[name]).get(dags) for name in REGISTRY_READERS}
    assert len(sources) == 1 and None not in sources, sources
    folder = ROOT / sources.pop()
    assert folder.is_dir(), folder
    assert sorted(p.name for p in folder.iterdir() if p.suffix == ".py") == [
        "airflow_aml_loader.py"
    ]
    loader = (folder / "airflow_aml_loader.py").read_text(encoding="utf-8")
    assert loader == (
        "from airflow_aml.compiler.loader import dags_from_registry\n"
        "globals().update(dags_from_registry())\n"
    )


def test_plugins_and_logs_and_config_are_shared(services, common_env):
    config = common_env["AIRFLOW_CONFIG"]
    for name in AIRFLOW_SERVICES:
        mounts = _mounts(services[name])
        assert "/opt/airflow/plugins" in mounts, name
        assert "/opt/airflow/logs" in mounts, name
        assert str(Path(config).parent) in mounts, name  # airflow.cfg from airflow-init
    passwords = common_env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
    assert Path(passwords).parent == Path(config).parent


def test_api_server_port_and_execution_api(services, common_env):
    api = services["airflow-apiserver"]
    ports = [_default(str(p)) for p in api["ports"]]
    assert any(p.split(":")[-1] == "8080" for p in ports), ports
    assert all(p.startswith("127.0.0.1:") for p in ports), "dev credentials: loopback only"
    assert "/api/v2/" in " ".join(api["healthcheck"]["test"])
    assert common_env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
        "http://airflow-apiserver:8080/execution/"
    )


def test_auth_is_simple_auth_manager_with_dev_login(common_env):
    assert common_env["AIRFLOW__CORE__AUTH_MANAGER"].endswith(".SimpleAuthManager")
    assert _default(common_env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"]) == "airflow:admin"


def test_azurite_and_the_blob_connection(services, common_env):
    azurite = services["azurite"]
    assert azurite["image"].startswith("mcr.microsoft.com/azure-storage/azurite")
    command = _command(azurite)
    assert "azurite-blob" in command and "--blobPort 10000" in command
    assert "--blobHost 0.0.0.0" in command  # inside its container, for the compose network
    assert "/data" in _mounts(azurite)
    assert [_default(str(p)) for p in azurite["ports"]] == ["127.0.0.1:10000:10000"]

    conns = [key for key in common_env if key.startswith("AIRFLOW_CONN_")]
    assert conns == [CONN_ENV], conns  # AIRFLOW_CONN_WASB_DEFAULT is gone
    conn = json.loads(common_env[CONN_ENV])
    assert conn["conn_type"] == "wasb"
    fields = _fields(conn["extra"]["connection_string"])
    assert fields == {
        "DefaultEndpointsProtocol": "http",
        "AccountName": "devstoreaccount1",
        "AccountKey": AZURITE_KEY,  # Azurite's published development key
        "BlobEndpoint": IN_COMPOSE_ENDPOINT,
    }
    for name in AIRFLOW_SERVICES:
        assert services[name]["depends_on"]["azurite"]["condition"] == "service_healthy", name


def test_airflow_init_creates_the_container(services, common_env):
    init = services["airflow-init"]
    assert init["depends_on"]["azurite"]["condition"] == "service_healthy"
    script = _command(init)
    code = _init_python_one_liner(services)
    assert ".create_container()" in code
    location = re.search(r"open_location\('([^']+)'\)", code)
    assert location, code
    registry = urlsplit(common_env[REGISTRY_ENV])
    assert urlsplit(location.group(1)).netloc == registry.netloc  # same connection, container
    # After the metadata DB and airflow.cfg exist; before airflow-init hands over.
    assert script.index("airflow config list") < script.index(code) < script.index("exec ")
    # The registry is no folder any more: nothing to create or chown.
    assert REGISTRY_ENV not in script


def test_airflow_init_one_liner_creates_the_container_in_azurite(
    services, common_env, azurite_blob: AzuriteBlob
):
    """The one-liner, with the compose connection pointed at a real Azurite, is idempotent."""
    from azure.storage.blob import BlobServiceClient

    conn = json.loads(common_env[CONN_ENV])
    string = conn["extra"]["connection_string"]
    assert "azurite:10000" in string
    conn["extra"]["connection_string"] = string.replace(
        "azurite:10000", f"127.0.0.1:{azurite_blob.port}"
    )
    code = _init_python_one_liner(services)
    with BlobServiceClient.from_connection_string(azurite_blob.connection_string) as client:
        container = client.get_container_client(CONTAINER)
        if container.exists():  # a fresh start, as on a new azurite-data volume
            container.delete_container()
        for attempt in (1, 2):  # the second run finds the container: still success
            done = _run_init_one_liner(code, json.dumps(conn))
            assert done.returncode == 0, f"run {attempt}:\n{done.stdout}\n{done.stderr}"
            assert container.exists(), f"run {attempt}"


def test_host_client_config_and_env_from_the_header(
    services, common_env, azurite_blob: AzuriteBlob, tmp_path, monkeypatch
):
    """The header's host-client config and env reach the same container as Airflow."""
    from azure.storage.blob import BlobServiceClient

    from airflow_aml.core import Workspace

    config, env = _host_client()
    registry = common_env[REGISTRY_ENV]
    assert config["registry"] == registry
    assert config["datastore"] == f"wasb://{BLOB_CONN_ID}@{CONTAINER}"
    api = urlsplit(config["airflow"]["api_url"])
    assert api.hostname == "127.0.0.1"
    assert f"127.0.0.1:{api.port}:8080" in services["airflow-apiserver"]["ports"]
    assert not {"password", "token"} & set(config["airflow"])  # secrets stay in the env

    assert env["AIRFLOW_AML_API_USERNAME"] == "airflow"
    assert env["AIRFLOW_AML_API_PASSWORD"] == "airflow"
    # The compose connection, through Azurite's published port instead of the network.
    host_conn = json.loads(env[CONN_ENV])
    compose_conn = json.loads(common_env[CONN_ENV])
    host_string = host_conn["extra"]["connection_string"]
    assert _fields(host_string)["BlobEndpoint"] == "http://127.0.0.1:10000/devstoreaccount1"
    assert host_string == compose_conn["extra"]["connection_string"].replace(
        "azurite:10000", "127.0.0.1:10000"
    )
    assert {**host_conn, "extra": {}} == {**compose_conn, "extra": {}}

    # Against a real Azurite (its port instead of 10000): the container airflow-init
    # creates is the client's registry and default datastore.
    host_string = host_string.replace("127.0.0.1:10000", f"127.0.0.1:{azurite_blob.port}")
    host_conn["extra"]["connection_string"] = host_string
    done = _run_init_one_liner(_init_python_one_liner(services), json.dumps(host_conn))
    assert done.returncode == 0, done.stderr
    (tmp_path / "project" / ".azureml").mkdir(parents=True)
    (tmp_path / "project" / ".azureml" / "config.json").write_text(json.dumps(config))
    monkeypatch.setenv("AIRFLOW_AML_HOME", str(tmp_path / "client-home"))
    monkeypatch.setenv(CONN_ENV, json.dumps(host_conn))
    for name in ("AIRFLOW_AML_API_USERNAME", "AIRFLOW_AML_API_PASSWORD"):
        monkeypatch.setenv(name, env[name])
    ws = Workspace.from_config(path=str(tmp_path / "project"))
    assert ws.mode == "deployed" and ws.registry_location == registry
    datastore = ws.get_default_datastore()
    assert datastore.name == "workspaceblobstore"
    data = tmp_path / "data"
    data.mkdir()
    (data / "hello.txt").write_text("hello from the host\n")
    target = f"compose-check-{os.getpid()}"
    datastore.upload(str(data), target_path=target, show_progress=False)
    with BlobServiceClient.from_connection_string(azurite_blob.connection_string) as client:
        container = client.get_container_client(CONTAINER)
        blob = container.get_blob_client(f"{target}/hello.txt")
        assert blob.download_blob().readall() == b"hello from the host\n"
        blob.delete_blob()


def test_no_secrets_beyond_the_dev_defaults(compose, common_env):
    # The shared secrets are generated into airflow.cfg by airflow-init, never set here.
    for key in common_env:
        assert not re.search(r"SECRET|FERNET|JWT|PRIVATE_KEY", key), key
    text = COMPOSE.read_text(encoding="utf-8")
    assert "DEVELOPMENT ONLY" in text
    assert set(re.findall(r"AccountKey=([^;\"]+)", text)) == {AZURITE_KEY}
    # user:password in URLs: airflow/airflow, or none at all (redis://:@redis).
    assert set(re.findall(r"://(\w*):(\w*)@", text)) <= {("airflow", "airflow"), ("", "")}


def test_dockerfile_installs_the_project(compose, services):
    build = services["airflow-init"]["build"]
    assert build["context"] == "."
    dockerfile = ROOT / build["dockerfile"]
    text = dockerfile.read_text(encoding="utf-8").replace("\\\n", " ")  # join continued lines
    # The image is the locked Airflow version.
    base = re.search(r"^FROM\s+(\S+)", text, re.M)
    assert base and base.group(1) == f"apache/airflow:{version('apache-airflow')}", base
    # The project's files are copied in and pip-installed (with extras), Airflow pinned.
    copies = re.findall(r"^COPY\s+(?:--\S+\s+)*(.+)\s+(\S+)$", text, re.M)
    copied = {src for sources, _ in copies for src in sources.split()}
    assert {"pyproject.toml", "airflow_aml"} <= copied, copied
    for src in copied:
        assert (ROOT / src).exists(), src
    destinations = {dest.rstrip("/") for _, dest in copies}
    install = re.search(r"^RUN\s.*pip install.*$", text, re.M)
    assert install, "no pip install"
    assert '"apache-airflow==${AIRFLOW_VERSION}"' in install.group(0)
    assert any(f'"{dest}[' in install.group(0) for dest in destinations), install.group(0)
    # The single build is tagged with the image every service runs.
    for name, service in services.items():
        if name.startswith("airflow-"):
            assert service["image"] == compose["x-airflow-common"]["image"]
            assert name == "airflow-init" or "build" not in service, name


def test_plugins_folder_holds_the_airflow_aml_plugin_file(services):
    """./plugins (mounted into every Airflow service) is the repository's plugins folder,
    whose one file loads the plugin only when the entry point is missing (see
    tests/test_plugins_folder.py)."""
    sources = {_mounts(services[name]).get("/opt/airflow/plugins") for name in AIRFLOW_SERVICES}
    assert len(sources) == 1 and None not in sources, sources
    folder = ROOT / sources.pop()
    assert sorted(p.name for p in folder.iterdir() if p.suffix == ".py") == [
        "airflow_aml_plugin.py"
    ]


def test_airflow_aml_settings_use_the_aml_section(common_env):
    """Settings are [aml] options (AIRFLOW__AML__*), not the deprecated AIRFLOW_AML_* ones."""
    from airflow_aml.provider import DEPRECATED_ENV, SETTINGS

    assert not set(DEPRECATED_ENV.values()) & set(common_env)
    ours = {k for k in common_env if k.startswith("AIRFLOW__AML__")}
    assert ours == {REGISTRY_ENV}
    assert {k.removeprefix("AIRFLOW__AML__").lower() for k in ours} <= set(SETTINGS)
