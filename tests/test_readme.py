"""Every code block of README.md is run or checked.

Each fenced block is preceded by a marker line, an HTML comment that does not
render::

    <!-- readme-test: NAME -->
    ```python
    ...
    ```

and ``NAME`` has a handler in :data:`HANDLERS` (registered with
``@handler(NAME, lang=...)``) that runs the block (Python in a prepared
folder; ``e2e`` when it executes pipelines) or checks it structurally (JSON
parses into a valid workspace config, shell lines name only commands,
scripts, modules, subcommands and flags that exist). A block without a
marker, a marker without a handler, or a handler whose block is gone fails
:func:`test_every_block_has_a_handler`, so a new README block cannot go
untested. To add one: put the marker before the block and add a handler;
:func:`check_shell` already checks ``airflow-aml``/``uv run``/``python -m``/
script lines.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import inspect
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MARKER = re.compile(r"^\s*<!--\s*readme-test:\s*([\w.-]+)\s*-->\s*$")
FENCE = re.compile(r"^(\s*)```([\w+-]*)\s*$")


# --------------------------------------------------------------------- blocks
@dataclass(frozen=True)
class Block:
    """One fenced code block of the README."""

    marker: str | None
    lang: str
    code: str
    line: int  # 1-based line of the opening fence

    @property
    def lines(self) -> list[str]:
        return self.code.splitlines()


def readme_blocks(text: str | None = None) -> list[Block]:
    """The fenced blocks of the README, with the marker line before each (if any)."""
    lines = (README.read_text(encoding="utf-8") if text is None else text).splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang, start = m.group(1), m.group(2), i
        body: list[str] = []
        i += 1
        while i < len(lines) and not re.match(rf"^{indent}```\s*$", lines[i]):
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
            i += 1
        i += 1
        prev = next((ln for ln in reversed(lines[:start]) if ln.strip()), "")
        marker = MARKER.match(prev)
        blocks.append(
            Block(marker.group(1) if marker else None, lang, "\n".join(body) + "\n", start + 1)
        )
    return blocks


def the_block(marker: str) -> Block:
    """The one block with ``marker``."""
    found = [b for b in readme_blocks() if b.marker == marker]
    assert len(found) == 1, f"README: {len(found)} blocks marked {marker!r}"
    return found[0]


# ------------------------------------------------------------------- handlers
@dataclass(frozen=True)
class Handler:
    func: Callable[[Block, pytest.FixtureRequest], None]
    lang: str
    marks: tuple[Any, ...]


HANDLERS: dict[str, Handler] = {}


def handler(marker: str, *, lang: str, marks: Iterable[Any] = ()) -> Callable[..., Any]:
    """Register ``func(block, request)`` as the test of the README block ``marker``."""

    def register(func: Callable[[Block, pytest.FixtureRequest], None]) -> Any:
        assert marker not in HANDLERS, f"two handlers for {marker!r}"
        HANDLERS[marker] = Handler(func, lang, tuple(marks))
        return func

    return register


# ------------------------------------------------------------ shell checking
def _uv() -> str | None:
    return shutil.which("uv") or next(
        (
            str(p)
            for p in (
                Path.home() / ".local/bin/uv",
                Path.home() / ".local/share/airflow-aml/uv/bin/uv",
            )
            if p.exists()
        ),
        None,
    )


def _uv_run_flags() -> set[str] | None:
    uv = _uv()
    if uv is None:
        return None
    text = subprocess.run([uv, "run", "--help"], capture_output=True, text=True, timeout=30).stdout
    return set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", text))


def shell_commands(code: str) -> list[list[str]]:
    """The commands of a shell block: continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", code)
    commands = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        # a ``a && b`` / ``a; b`` chain is several commands
        current: list[str] = []
        for word in words:
            if word in ("&&", "||", ";"):
                if current:
                    commands.append(current)
                current = []
            else:
                current.append(word)
        if current:
            commands.append(current)
    return commands


def check_airflow_aml_args(args: list[str]) -> None:
    """``airflow-aml ARGS`` parses with the real CLI parser (help/version exit 0)."""
    from airflow_aml.cli import build_parser

    err = io.StringIO()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            build_parser().parse_args(args)
    except SystemExit as exc:
        assert exc.code == 0, f"airflow-aml {shlex.join(args)}: {err.getvalue().strip()}"


def check_shell(code: str, *, allow: Iterable[str] = ()) -> list[list[str]]:
    """Check every command of a shell block; return them.

    Known commands: ``uv run [flags] CMD`` (flags exist in ``uv run --help``),
    ``airflow-aml ...`` (parses with the CLI parser), ``python -m MODULE``
    (importable), ``python FILE`` and ``./FILE`` (exist in the repo; ``./`` ones
    executable). Commands in ``allow`` are left to the block's handler; any
    other command fails.
    """
    allowed = set(allow)
    commands = shell_commands(code)
    assert commands, "no command in the block"
    for words in commands:
        cmd = list(words)
        if cmd[:2] == ["uv", "run"]:
            flags = _uv_run_flags()
            cmd = cmd[2:]
            while cmd and cmd[0].startswith("-"):
                if flags is not None:
                    assert cmd[0] in flags, f"uv run has no flag {cmd[0]}"
                cmd = cmd[1:]
            assert cmd, f"uv run without a command: {words}"
        head = cmd[0]
        if head == "airflow-aml":
            check_airflow_aml_args(cmd[1:])
        elif head in ("python", "python3"):
            if cmd[1] == "-m":
                assert importlib.util.find_spec(cmd[2]) is not None, f"no module {cmd[2]}"
            else:
                assert (ROOT / cmd[1]).is_file(), f"{cmd[1]} does not exist"
        elif head.startswith("./"):
            path = ROOT / head
            assert path.is_file() and os.access(path, os.X_OK), f"{head} is not an executable"
        else:
            assert head in allowed, f"no check for the command {head!r} in {shlex.join(words)}"
    return commands


def urls_in(text: str) -> list[str]:
    return re.findall(r"https?://[^\s'\"),]+", text)


def fresh_env(**extra: str) -> dict[str, str]:
    """The test environment minus the session home's Airflow settings."""
    session = ("AIRFLOW_HOME", "AIRFLOW_CONFIG", "AIRFLOW__AML__REGISTRY")
    session += ("AIRFLOW__AML__CACHE_DIR",)
    env = {k: v for k, v in os.environ.items() if k not in session}
    env.update(extra)
    return env


def stop_runners(home: Path) -> None:
    from airflow_aml.backends.runner_pool import RunnerPool

    RunnerPool(home / "registry").stop_all()


# ============================================================ the two commands
INSTALLER_NOISE = re.compile(
    r"npm (notice|warn|WARN|ERR)|^added \d+ packages|Resolved \d+ packages|"
    r"Installed \d+ packages|Prepared \d+ packages|Audited \d+ packages|Downloading |"
    r"^Reading package lists|^Setting up |^Selecting previously|Collecting |"
    r"Successfully installed|^WARNING: |externally-managed",
    re.MULTILINE,
)


@handler("demo-command", lang="bash", marks=[pytest.mark.e2e])
def _demo_command(block: Block, request: pytest.FixtureRequest) -> None:
    """Runs the demo on a fresh home; its output is the demo's and no installer's."""
    assert block.code.strip() == "./scripts/demo.sh"
    check_shell(block.code)
    tmp = request.getfixturevalue("tmp_path")
    home = tmp / "home"
    try:
        out = subprocess.run(
            ["./scripts/demo.sh"],
            cwd=ROOT,
            env=fresh_env(AIRFLOW_AML_HOME=str(home)),
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        stop_runners(home)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    both = out.stdout + out.stderr
    assert not INSTALLER_NOISE.search(both), INSTALLER_NOISE.search(both)
    assert len([ln for ln in out.stderr.splitlines() if "installing" in ln]) <= 1, out.stderr
    assert out.stdout.splitlines()[:4] == [
        "Workspace name: local",
        "Resource group: local",
        "Location: local",
        "Subscription id: local",
    ]
    assert "Link to Airflow UI" not in out.stdout  # no UI serves the fresh home
    assert re.search(
        r"^Airflow UI: not running; start it with `airflow-aml ui` to see this run at "
        r"http://127\.0\.0\.1:8080/dags/Compare_Models_Exp/runs/\S+$",
        out.stdout,
        re.MULTILINE,
    ), out.stdout
    assert "PipelineRun Status: Finished" in out.stdout
    assert "Best model: " in out.stdout


@handler("test-command", lang="bash")
def _test_command(block: Block, request: pytest.FixtureRequest) -> None:
    """The suite's command exists and is what CI runs (it cannot run inside itself)."""
    assert block.code.strip() == "./scripts/test.sh"
    check_shell(block.code)
    assert "exec ./scripts/test.sh" in (ROOT / ".ci/run").read_text(encoding="utf-8")


def test_the_two_commands_are_the_only_setup_commands():
    text = README.read_text(encoding="utf-8")
    section = text.split("## The two commands", 1)[1].split("\n## ", 1)[0]
    markers = [b.marker for b in readme_blocks(section)]
    assert markers == ["demo-command", "test-command"]


# ==================================================================== porting
def _porting_imports() -> list[str]:
    return [ln[1:] for ln in the_block("porting-diff").lines if ln.startswith("+")]


@handler("porting-diff", lang="diff")
def _porting_diff(block: Block, request: pytest.FixtureRequest) -> None:
    """Each removed ``azureml`` import has its ``airflow_aml`` twin, which imports."""
    removed = [ln[1:] for ln in block.lines if ln.startswith("-")]
    added = _porting_imports()
    assert removed and len(removed) == len(added)
    for old, new in zip(removed, added, strict=True):
        assert old.startswith("from azureml."), old
        assert new == old.replace("from azureml.", "from airflow_aml.", 1), (old, new)
    exec(compile("\n".join(added), "README porting imports", "exec"), {})


_EXTRACT = """\
import argparse, os, pickle, shutil
p = argparse.ArgumentParser()
p.add_argument("--input")
p.add_argument("--output")
a = p.parse_args()
os.makedirs(a.output, exist_ok=True)
shutil.copy(os.path.join(a.input, "20news.pkl"), os.path.join(a.output, "posts.pkl"))
"""
_COMPARE = """\
import argparse, os, pickle
from airflow_aml.core import Run
p = argparse.ArgumentParser()
p.add_argument("--data")
p.add_argument("--pipeline_param", type=int)
a = p.parse_args()
with open(os.path.join(a.data, "posts.pkl"), "rb") as fh:
    posts = pickle.load(fh)
run = Run.get_context()
run.log("posts", len(posts))
run.log("pipeline_param", a.pipeline_param)
"""


@handler("porting-run", lang="python", marks=[pytest.mark.e2e])
def _porting_run(block: Block, request: pytest.FixtureRequest) -> None:
    """Runs the ported snippet (with the diff's imports) in a folder holding its files."""
    import pickle

    ws = request.getfixturevalue("ws")
    tmp = request.getfixturevalue("tmp_path")
    (tmp / "20news.pkl").write_bytes(pickle.dumps(["post one", "post two", "post three"]))
    for rel, code in {"extract/extract.py": _EXTRACT, "compare/compare.py": _COMPARE}.items():
        path = tmp / "scripts" / rel
        path.parent.mkdir(parents=True)
        path.write_text(code, encoding="utf-8")
    (tmp / "snippet.py").write_text("\n".join(_porting_imports()) + "\n" + block.code)
    out = subprocess.run(
        [sys.executable, "snippet.py"],
        cwd=tmp,
        env={**os.environ, "AIRFLOW_AML_HOME": str(ws.home)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "PipelineRun Status: Finished" in out.stdout
    metrics = ast.literal_eval(out.stdout.strip().splitlines()[-1])
    assert metrics == {"posts": 3, "pipeline_param": 20}


@handler("shim-command", lang="bash")
def _shim_command(block: Block, request: pytest.FixtureRequest) -> None:
    """Runs the shim command on an unmodified v1 script (and its --help)."""
    (words,) = check_shell(block.code)
    assert words[:4] == ["python", "-m", "airflow_aml.shim", "my_v1_pipeline.py"], words
    assert "--help" in block.code
    tmp = request.getfixturevalue("tmp_path")
    (tmp / "s.py").write_text("print('hi')\n")
    (tmp / "my_v1_pipeline.py").write_text(
        textwrap.dedent("""\
            import sys
            from azureml.core import Workspace
            from azureml.pipeline.core import Pipeline
            from azureml.pipeline.steps import PythonScriptStep
            ws = Workspace.from_config()
            step = PythonScriptStep("s.py", source_directory=".")
            print("valid:", Pipeline(workspace=ws, steps=[step]).validate() == [], sys.argv[1:])
        """)
    )
    args = [w for w in words[4:] if w != "[args...]"] + ["a", "b"]
    for cmd in ([*words[:4], *args], [*words[:3], "--help"]):
        out = subprocess.run(
            [sys.executable, *cmd[1:]], cwd=tmp, capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr
    assert "usage: python -m airflow_aml.shim" in out.stdout
    first = subprocess.run(
        [sys.executable, *words[1:4], "a", "b"], cwd=tmp, capture_output=True, text=True
    )
    assert "valid: True ['a', 'b']" in first.stdout, first.stderr


# ============================================================== UI and CLI
@handler("ui-command", lang="bash")
def _ui_command(block: Block, request: pytest.FixtureRequest) -> None:
    """The ui commands parse; the URL named is the default address of a home."""
    from airflow_aml.backends.airflow_home import DEFAULT_UI_PORT, UI_HOST

    commands = check_shell(block.code)
    assert all(c[-1] == "ui" or "ui" in c for c in commands)
    assert urls_in(block.code) == [f"http://{UI_HOST}:{DEFAULT_UI_PORT}/"]
    assert "admin" in block.code


@handler("cli-commands", lang="bash")
def _cli_commands(block: Block, request: pytest.FixtureRequest) -> None:
    """The commands parse; --help and --version run and print clean text."""
    check_shell(block.code)
    import airflow_aml

    for args, expected in ((["--help"], "usage: airflow-aml"), (["--version"], "airflow-aml ")):
        out = subprocess.run(
            [sys.executable, "-m", "airflow_aml.cli", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0 and out.stdout.startswith(expected), out
    assert out.stdout.strip() == f"airflow-aml {airflow_aml.__version__}"


# ========================================================== DAGs, publishing
@handler("dag-file", lang="python")
def _dag_file(block: Block, request: pytest.FixtureRequest) -> None:
    """The DAG file builds the example pipeline's DAG, with its parameter as a Param."""
    monkeypatch = request.getfixturevalue("monkeypatch")
    monkeypatch.chdir(request.getfixturevalue("tmp_path"))
    monkeypatch.syspath_prepend(str(ROOT / "dags_examples"))
    namespace: dict[str, Any] = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(block.code, "README dag file", "exec"), namespace)
    dag = namespace["dag"]
    assert dag.dag_id == "compare_models"
    assert "pipeline_arg" in dag.params


def _tiny_pipeline(ws: Any, src: Path, value: int) -> Any:
    from airflow_aml.pipeline.core import Pipeline, PipelineParameter
    from airflow_aml.pipeline.steps import PythonScriptStep

    src.mkdir(parents=True, exist_ok=True)
    (src / "s.py").write_text("import sys\nprint(sys.argv)\n")
    param = PipelineParameter(name="pipeline_arg", default_value=value)
    step = PythonScriptStep("s.py", name="s", arguments=[param], source_directory=str(src))
    return Pipeline(ws, [step])


@handler("publish", lang="python")
def _publish(block: Block, request: pytest.FixtureRequest) -> None:
    """Publishes, makes an endpoint and adds a new default version, as the block says."""
    from airflow_aml.core import Workspace
    from airflow_aml.pipeline.core import PipelineEndpoint

    tmp = request.getfixturevalue("tmp_path")
    ws = Workspace(home=tmp / "home")
    newer = _tiny_pipeline(ws, tmp / "src2", 2).publish(name="newer", description="", version="2")
    namespace = {
        "ws": ws,
        "pipeline": _tiny_pipeline(ws, tmp / "src", 1),
        "PipelineEndpoint": PipelineEndpoint,
        "newer_published": newer,
    }
    exec(compile(block.code, "README publish", "exec"), namespace)
    published, endpoint = namespace["published"], namespace["endpoint"]
    assert published.endpoint.startswith(f"{ws.api_url}/aml/")
    assert endpoint.endpoint.startswith(f"{ws.api_url}/aml/")
    assert [p.id for p in endpoint.list_pipelines()] == [published.id, newer.id]
    assert endpoint.get_pipeline().id == newer.id


def _openapi(path: Path) -> dict[str, Any]:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _airflow_route(method: str, path: str) -> dict[str, Any]:
    import airflow

    spec = _openapi(
        Path(airflow.__file__).parent / "api_fastapi/core_api/openapi/v2-rest-api-generated.yaml"
    )
    template = re.sub(r"\$\{?(\w+)\}?", "{x}", path)
    for candidate, ops in spec["paths"].items():
        if re.sub(r"\{\w+\}", "{x}", candidate) == template and method.lower() in ops:
            body = ops[method.lower()].get("requestBody", {})
            ref = body.get("content", {}).get("application/json", {}).get("schema", {})
            name = ref.get("$ref", "").rsplit("/", 1)[-1]
            return spec["components"]["schemas"].get(name, {})
    raise AssertionError(f"Airflow has no route {method} {path}")


def _curl(words: list[str]) -> tuple[str, str, dict[str, Any]]:
    """(method, url, JSON body) of a curl command."""
    method, url, body = "GET", "", {}
    it = iter(words[1:])
    for word in it:
        if word == "-X":
            method = next(it)
        elif word in ("-H", "--header"):
            next(it)
        elif word in ("-d", "--data"):
            body = json.loads(next(it))
        elif not word.startswith("-"):
            url = word
    return method, url, body


@handler("rest-trigger-airflow", lang="bash")
def _rest_trigger_airflow(block: Block, request: pytest.FixtureRequest) -> None:
    """The plain Airflow trigger names a real route, and its body's fields exist."""
    (words,) = check_shell(block.code, allow=["curl"])
    method, url, body = _curl(words)
    assert url.startswith("$AIRFLOW/")
    schema = _airflow_route(method, url[len("$AIRFLOW") :])
    assert set(body) <= set(schema["properties"]), (body, schema["properties"])
    assert body["conf"] == {"pipeline_arg": 20}


@handler("rest-trigger-aml", lang="bash")
def _rest_trigger_aml(block: Block, request: pytest.FixtureRequest) -> None:
    """The AML routes named exist in the plugin's app; the body's fields are read."""
    from airflow_aml.api.app import app

    (words,) = check_shell(block.code, allow=["curl"])
    method, url, body = _curl(words)
    assert (method, url) == ("POST", "$ENDPOINT")
    service = (ROOT / "airflow_aml/api/service.py").read_text(encoding="utf-8")
    for key in body:
        assert f'"{key}"' in service, f"the AML routes do not read {key!r}"
    spec = app.openapi()
    routes = {
        (m.upper(), p.split("/PipelineRuns", 1)[1]): op
        for p, ops in spec["paths"].items()
        for m, op in ops.items()
    }
    named = re.findall(r"(GET |POST )?\.\.\./PipelineRuns(\S*)", block.code)
    assert named
    for verb, tail in named:
        path, _, query = tail.partition("?")
        variants = [path]
        if "[" in path:  # .../Id/{id}[/{version}]
            variants = [re.sub(r"\[.*\]", "", path), path.replace("[", "").replace("]", "")]
        for variant in variants:
            key = ((verb.strip() or "POST"), re.sub(r"\{\w+\}", "{x}", variant))
            found = {(m, re.sub(r"\{\w+\}", "{x}", p)): op for (m, p), op in routes.items()}.get(
                key
            )
            assert found is not None, f"no AML route {key}"
            params = {p["name"] for p in found.get("parameters", [])}
            for name in re.findall(r"(\w+)=", query):
                assert name in params, f"{variant} has no query parameter {name!r}"


# ============================================================= deployed mode
_CONFIG_KEYS = {"workspace_name", "subscription_id", "resource_group", "home"}
_CONFIG_KEYS |= {"airflow", "registry", "datastore"}


def _check_config(block: Block, request: pytest.FixtureRequest) -> dict[str, Any]:
    from airflow_aml.core import Workspace

    cfg = json.loads(block.code)
    assert set(cfg) <= _CONFIG_KEYS, set(cfg) - _CONFIG_KEYS
    assert set(cfg.get("airflow", {})) <= {"api_url"}
    tmp = request.getfixturevalue("tmp_path")
    target = tmp / ".azureml" / "config.json"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps({**cfg, "home": str(tmp / "home")}), encoding="utf-8")
    ws = Workspace.from_config(path=str(tmp))
    assert ws.mode == "deployed" and ws.name == cfg["workspace_name"]
    assert ws.api_url == cfg["airflow"]["api_url"]
    assert ws.registry_location == cfg["registry"]
    assert ws.get_default_datastore().name == "workspaceblobstore"
    return cfg


@handler("config-deployed", lang="json")
def _config_deployed(block: Block, request: pytest.FixtureRequest) -> None:
    """The deployed config is read as documented."""
    _check_config(block, request)


@handler("config-compose-client", lang="json")
def _config_compose_client(block: Block, request: pytest.FixtureRequest) -> None:
    """The compose client's config is read; its API URL is the compose api-server's port."""
    cfg = _check_config(block, request)
    port = cfg["airflow"]["api_url"].rsplit(":", 1)[1]
    assert f'"127.0.0.1:{port}:8080"' in (ROOT / "docker-compose.yaml").read_text()


def _check_exports(block: Block) -> dict[str, str]:
    exports: dict[str, str] = {}
    for words in check_shell(block.code, allow=["export"]):
        assert words[0] == "export", words
        for assignment in words[1:]:
            name, _, value = assignment.partition("=")
            exports[name] = value
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "airflow_aml").rglob("*.py"))
    for name, value in exports.items():
        if name.startswith("AIRFLOW_CONN_"):  # an Airflow connection, as JSON
            conn = json.loads(value)
            assert conn["conn_type"] == "wasb" and "connection_string" in conn["extra"]
            conn_id = name[len("AIRFLOW_CONN_") :].lower()
            assert f"wasb://{conn_id}@" in README.read_text(encoding="utf-8")
        else:
            assert name in source, f"airflow-aml does not read ${name}"
    return exports


@handler("env-blob-connection", lang="bash")
def _env_blob_connection(block: Block, request: pytest.FixtureRequest) -> None:
    """The blob connection export is an Airflow wasb connection in JSON."""
    _check_exports(block)


@handler("env-compose-client", lang="bash")
def _env_compose_client(block: Block, request: pytest.FixtureRequest) -> None:
    """The compose client's exports: Azurite's development key, variables the client reads."""
    from tests.azurite import ACCOUNT_KEY

    exports = _check_exports(block)
    assert f"AccountKey={ACCOUNT_KEY};" in exports["AIRFLOW_CONN_AML_BLOB"]
    assert {"AIRFLOW_AML_API_USERNAME", "AIRFLOW_AML_API_PASSWORD"} <= set(exports)


@handler("loader-line", lang="python")
def _loader_line(block: Block, request: pytest.FixtureRequest) -> None:
    """The one-line loader runs (on an empty registry) and is the shipped one."""
    from airflow.sdk import DAG

    from airflow_aml.backends.airflow_home import LOADER_SOURCE

    monkeypatch = request.getfixturevalue("monkeypatch")
    registry = request.getfixturevalue("tmp_path") / "registry"
    registry.mkdir()
    monkeypatch.setenv("AIRFLOW__AML__REGISTRY", str(registry))
    namespace: dict[str, Any] = {}
    exec(compile(block.code, "README loader", "exec"), namespace)
    dags = {k: v for k, v in namespace.items() if not k.startswith("__")}
    dags.pop("dags_from_registry")
    assert all(isinstance(d, DAG) for d in dags.values()), dags
    assert "from airflow_aml.compiler.loader import dags_from_registry" in LOADER_SOURCE
    assert "globals().update(dags_from_registry())" in LOADER_SOURCE


@handler("compose-up", lang="bash")
def _compose_up(block: Block, request: pytest.FixtureRequest) -> None:
    """The compose commands match docker-compose.yaml (no Docker engine here)."""
    commands = check_shell(block.code, allow=["echo", "docker"])
    assert [c[0] for c in commands] == ["echo", "docker"]
    compose = (ROOT / "docker-compose.yaml").read_text(encoding="utf-8")
    assert commands[0][1] == "AIRFLOW_UID=$(id -u)" and "${AIRFLOW_UID" in compose
    assert commands[1][1:] == ["compose", "up", "--build", "-d"] and "build:" in compose
    assert urls_in(block.code) == ["http://localhost:8080"]
    assert "127.0.0.1:8080:8080" in compose
    assert "user airflow / airflow" in block.code
    assert "_AIRFLOW_WWW_USER_USERNAME:-airflow" in compose
    assert "_AIRFLOW_WWW_USER_PASSWORD:-airflow" in compose


@handler("blob-datastore", lang="python", marks=[pytest.mark.azurite])
def _blob_datastore(block: Block, request: pytest.FixtureRequest) -> None:
    """Registers and uploads to a blob datastore on Azurite, as written."""
    from airflow_aml.core import Workspace

    request.getfixturevalue("blob_container")  # Azurite + AIRFLOW_CONN_AML_BLOB
    tmp = request.getfixturevalue("tmp_path")
    request.getfixturevalue("monkeypatch").chdir(tmp)
    (tmp / "data").mkdir()
    (tmp / "data" / "part-0.csv").write_text("a,b\n1,2\n")
    ws = Workspace(home=tmp / "home")
    namespace: dict[str, Any] = {"ws": ws}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(block.code, "README blob datastore", "exec"), namespace)
    blob = namespace["blob"]
    assert ws.datastores["raw"].container_name == "raw-data"
    blob.download(str(tmp / "back"), prefix="2026-11")
    assert (tmp / "back" / "2026-11" / "part-0.csv").read_text() == "a,b\n1,2\n"


# ====================================================================== reuse
@handler("reuse-options", lang="python")
def _reuse_options(block: Block, request: pytest.FixtureRequest) -> None:
    """Each call's keywords exist, and the values shown are accepted."""
    from airflow_aml.core import Workspace
    from airflow_aml.pipeline.core import Pipeline
    from airflow_aml.pipeline.steps import PythonScriptStep

    tmp = request.getfixturevalue("tmp_path")
    (tmp / "s.py").write_text("")
    ws = Workspace(home=tmp / "home")
    step = PythonScriptStep("s.py", source_directory=str(tmp))
    base: dict[str, Callable[..., Any]] = {
        "PythonScriptStep": lambda **kw: PythonScriptStep("s.py", source_directory=str(tmp), **kw),
        "Pipeline": lambda **kw: Pipeline(ws, [step], **kw),
    }
    classes = {"PythonScriptStep": PythonScriptStep, "Pipeline": Pipeline}
    # calls in comments too: ``# or Pipeline(..., data_aware_reuse=True)``
    in_comments = re.findall(r"#.*?\b((?:PythonScriptStep|Pipeline)\(.*?\))", block.code)
    code = block.code + "".join(f"{call}\n" for call in in_comments)
    calls = [n for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Call)]
    checked = 0
    for call in calls:
        name = getattr(call.func, "id", None)
        if name not in classes:
            continue
        params = inspect.signature(classes[name].__init__).parameters
        kwargs = {}
        for kw in call.keywords:
            assert kw.arg in params, f"{name} has no argument {kw.arg!r}"
            kwargs[kw.arg] = eval(  # the README's literal values, e.g. timedelta(days=1)
                compile(ast.Expression(kw.value), "README", "eval"), {"timedelta": timedelta}
            )
        base[name](**kwargs)
        checked += 1
    assert checked >= 3, code
    for comment in re.findall(r'# or "(\w+)"', block.code):
        base["PythonScriptStep"](data_aware_reuse=comment)


# ================================================================= reference
@handler("benchmarks", lang="bash")
def _benchmarks(block: Block, request: pytest.FixtureRequest) -> None:
    """Every benchmark named exists."""
    commands = check_shell(block.code)
    assert all(c[:3] == ["uv", "run", "python"] for c in commands)


@handler("layout", lang="")
def _layout(block: Block, request: pytest.FixtureRequest) -> None:
    """Every path of the layout exists (nested names under the package)."""
    parent = ROOT
    checked = 0
    for line in block.lines:
        if not line.strip() or line.startswith(" " * 10):  # a continued description
            continue
        names = re.split(r"\s{2,}", line.strip())[0].split()
        top = not line.startswith(" ")
        for name in names:
            path = (ROOT if top else parent) / name.rstrip("/")
            assert path.exists(), f"README layout names {path.relative_to(ROOT)}, which is missing"
            checked += 1
        if top and names[0].endswith("/"):
            parent = ROOT / names[0].rstrip("/")
    assert checked >= 10


# ====================================================================== tests
def test_every_block_has_a_handler():
    blocks = readme_blocks()
    unmarked = [b.line for b in blocks if b.marker is None]
    assert not unmarked, (
        f"README.md code blocks at lines {unmarked} have no '<!-- readme-test: NAME -->' "
        "line before them; add one and a handler in tests/test_readme.py"
    )
    markers = [b.marker for b in blocks]
    assert len(markers) == len(set(markers)), "a readme-test marker is used twice"
    missing = sorted({m for m in markers if m is not None} - set(HANDLERS))
    assert not missing, f"README markers without a handler in tests/test_readme.py: {missing}"
    stale = sorted(set(HANDLERS) - set(markers))
    assert not stale, f"handlers in tests/test_readme.py whose README block is gone: {stale}"


def test_block_parser_sees_markers_and_indented_blocks():
    text = (
        "intro\n\n<!-- readme-test: a -->\n```python\nx = 1\n```\n\n"
        "1. item:\n   <!-- readme-test: b -->\n   ```bash\n   echo hi\n   ```\n\n"
        "```\nno marker\n```\n"
    )
    blocks = readme_blocks(text)
    assert [(b.marker, b.lang, b.code) for b in blocks] == [
        ("a", "python", "x = 1\n"),
        ("b", "bash", "echo hi\n"),
        (None, "", "no marker\n"),
    ]


def test_check_shell_rejects_what_does_not_exist():
    check_shell("uv run --no-dev airflow-aml ui --port 8181   # ok\n")
    for bad in (
        "uv run airflow-aml serve\n",
        "uv run airflow-aml ui --bind 0.0.0.0\n",
        "./scripts/missing.sh\n",
        "python -m airflow_aml.nope\n",
        "rm -rf /\n",
    ):
        with pytest.raises(AssertionError):
            check_shell(bad)
    if _uv() is not None:
        with pytest.raises(AssertionError, match="no flag"):
            check_shell("uv run --no-such-flag airflow-aml ui\n")


def test_readme_does_not_say_the_ui_has_no_login():
    text = README.read_text(encoding="utf-8").lower()
    assert "no login" not in text
    assert "admin" in text and "simple_auth_manager_passwords.json.generated" in text


def _params() -> list[Any]:
    params = []
    for block in readme_blocks():
        found = HANDLERS.get(block.marker or "")
        marks = found.marks if found else ()
        params.append(pytest.param(block, marks=marks, id=block.marker or f"line{block.line}"))
    return params


@pytest.mark.parametrize("block", _params())
def test_readme_block(block: Block, request: pytest.FixtureRequest) -> None:
    found = HANDLERS.get(block.marker or "")
    assert found is not None, f"README.md line {block.line}: no handler for {block.marker!r}"
    assert block.lang == found.lang, f"{block.marker}: a {block.lang!r} block, not {found.lang!r}"
    found.func(block, request)
