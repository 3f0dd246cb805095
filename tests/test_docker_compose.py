"""docker-compose.yaml: the shape of the official Airflow 3 compose, plus airflow-aml.

No Docker engine runs in the test environment, so the file is checked as data
(the same topology runs natively in tests/deployed).
"""

from __future__ import annotations

import json
import re
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import yaml

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


# What a user puts in .env (see the compose file's header).
DOTENV = {"AIRFLOW_UID": "1000", "AIRFLOW_AML_HOME_DIR": "/srv/aml-home"}


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


def test_home_dir_must_be_set():
    with pytest.raises(ValueError, match="AIRFLOW_AML_HOME_DIR is not set"):
        interpolate(COMPOSE.read_text(encoding="utf-8"), {"AIRFLOW_UID": "1000"})


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


def test_workspace_home_is_mounted_at_the_same_path_everywhere(services):
    home = DOTENV["AIRFLOW_AML_HOME_DIR"]
    for name in REGISTRY_READERS:
        assert _mounts(services[name]).get(home) == home, name


def test_registry_is_a_shared_volume(compose, services, common_env):
    registry = common_env["AIRFLOW_AML_REGISTRY"]
    assert registry == f"{DOTENV['AIRFLOW_AML_HOME_DIR']}/registry"
    sources = set()
    for name in REGISTRY_READERS:
        service = services[name]
        assert service["environment"]["AIRFLOW_AML_REGISTRY"] == registry, name
        mounts = _mounts(service)
        home = DOTENV["AIRFLOW_AML_HOME_DIR"]
        assert home in mounts, f"{name} does not mount the workspace home with the registry"
        sources.add(mounts[home])
    assert len(sources) == 1, f"services mount different registries: {sources}"
    source = sources.pop()
    if not source.startswith((".", "/")):  # a named volume must be declared
        assert source in (compose.get("volumes") or {}), source


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


def test_azurite_and_the_wasb_connection(services, common_env):
    azurite = services["azurite"]
    assert azurite["image"].startswith("mcr.microsoft.com/azure-storage/azurite")
    command = _command(azurite)
    assert "azurite-blob" in command and "--blobPort 10000" in command
    assert "--blobHost 0.0.0.0" in command  # inside its container, for the compose network
    assert "/data" in _mounts(azurite)

    wasb = [
        json.loads(value)
        for key, value in common_env.items()
        if key.startswith("AIRFLOW_CONN_") and value.lstrip().startswith("{")
    ]
    wasb = [conn for conn in wasb if conn.get("conn_type") == "wasb"]
    assert len(wasb) == 1, wasb
    fields = dict(
        part.split("=", 1) for part in wasb[0]["extra"]["connection_string"].split(";") if part
    )
    assert fields["AccountName"] == "devstoreaccount1"
    assert fields["AccountKey"] == AZURITE_KEY  # Azurite's published development key
    assert fields["BlobEndpoint"] == "http://azurite:10000/devstoreaccount1"
    for name in AIRFLOW_SERVICES:
        assert services[name]["depends_on"]["azurite"]["condition"] == "service_healthy"


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
