"""Test set-up: one embedded workspace home per test session.

The home (and its Airflow home) is created before anything imports Airflow,
so in-process Airflow use in tests and the runner processes share it.
"""

from __future__ import annotations

import os
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

_HOME = Path(tempfile.mkdtemp(prefix="aml-test-home-"))
os.environ["AIRFLOW_AML_HOME"] = str(_HOME)
os.environ.pop("AIRFLOW_AML_REGISTRY", None)
os.environ["AIRFLOW_AML_CACHE"] = str(_HOME / "cache")

from airflow_aml.backends.airflow_home import prepare_home  # noqa: E402

prepare_home(_HOME / "airflow")
os.environ["AIRFLOW_HOME"] = str(_HOME / "airflow")
os.environ["AIRFLOW_CONFIG"] = str(_HOME / "airflow" / "airflow.cfg")
os.environ["AIRFLOW_AML_REGISTRY"] = str(_HOME / "registry")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


@pytest.fixture(scope="session")
def ws():
    """The session's embedded workspace (its warm runners are stopped at the end)."""
    from airflow_aml.core import Workspace

    workspace = Workspace.from_config(path=str(_HOME))
    yield workspace
    workspace._backend.shutdown()


@pytest.fixture
def make_source(tmp_path: Path) -> Callable[..., Path]:
    """Create a source folder with the given ``{relative path: code}`` files."""

    def make(files: dict[str, str], name: str = "src") -> Path:
        root = tmp_path / name
        for rel, code in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(code), encoding="utf-8")
        root.mkdir(parents=True, exist_ok=True)
        return root

    return make


@pytest.fixture
def experiment_name(request: pytest.FixtureRequest) -> str:
    """A unique experiment name per test."""
    import re
    import uuid

    base = re.sub(r"[^A-Za-z0-9_-]", "_", request.node.name)[:60]
    return f"{base}-{uuid.uuid4().hex[:6]}"
