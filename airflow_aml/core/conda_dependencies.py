"""CondaDependencies: the package list of an environment (SDK v1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["CondaDependencies"]


class CondaDependencies:
    """Conda and pip packages of an environment.

    airflow-aml builds pip packages into a cached virtualenv with uv; conda
    packages are installed with pip under the same name where possible.
    """

    def __init__(self, conda_dependencies_file_path: str | None = None, _underlying_structure=None):
        self.python_version: str | None = None
        self.channels: list[str] = ["conda-forge"]
        self.conda_packages: list[str] = []
        self.pip_packages: list[str] = []
        self.pip_options: list[str] = []
        if conda_dependencies_file_path:
            self._load(Path(conda_dependencies_file_path).read_text(encoding="utf-8"))

    @staticmethod
    def create(
        pip_indexurl: str | None = None,
        pip_packages: list[str] | None = None,
        conda_packages: list[str] | None = None,
        python_version: str | None = None,
        pin_sdk_version: bool = True,
    ) -> CondaDependencies:
        """Create dependencies from package lists (v1 signature)."""
        deps = CondaDependencies()
        deps.python_version = python_version
        deps.pip_packages = list(pip_packages or [])
        deps.conda_packages = list(conda_packages or [])
        if pip_indexurl:
            deps.pip_options.append(f"--index-url {pip_indexurl}")
        return deps

    def add_pip_package(self, pip_package: str) -> None:
        """Add a pip requirement."""
        if pip_package not in self.pip_packages:
            self.pip_packages.append(pip_package)

    def add_conda_package(self, conda_package: str) -> None:
        """Add a conda package."""
        if conda_package not in self.conda_packages:
            self.conda_packages.append(conda_package)

    def add_channel(self, channel: str) -> None:
        """Add a conda channel."""
        if channel not in self.channels:
            self.channels.append(channel)

    def set_python_version(self, version: str) -> None:
        """Pin the Python version."""
        self.python_version = version

    def serialize_to_string(self) -> str:
        """A conda-environment YAML text for these dependencies."""
        lines = ["name: project_environment", "dependencies:"]
        if self.python_version:
            lines.append(f"- python={self.python_version}")
        lines += [f"- {p}" for p in self.conda_packages]
        if self.pip_packages or self.pip_options:
            lines.append("- pip:")
            lines += [f"  - {o}" for o in self.pip_options]
            lines += [f"  - {p}" for p in self.pip_packages]
        lines.append("channels:")
        lines += [f"- {c}" for c in self.channels]
        return "\n".join(lines) + "\n"

    def save(self, path: str | None = None) -> str:
        """Write the YAML to ``path`` (default ``conda_dependencies.yml``)."""
        target = Path(path or "conda_dependencies.yml")
        target.write_text(self.serialize_to_string(), encoding="utf-8")
        return str(target)

    def _load(self, text: str) -> None:
        in_pip = False
        for raw in text.splitlines():
            line = raw.strip()
            if line.startswith("- pip:"):
                in_pip = True
                continue
            if not line.startswith("-"):
                in_pip = False if not raw.startswith(" ") else in_pip
                continue
            item = line[1:].strip()
            if in_pip and raw.startswith("  "):
                (self.pip_options if item.startswith("--") else self.pip_packages).append(item)
            elif item.startswith("python="):
                self.python_version = item.split("=", 1)[1]
            elif item and item != "pip":
                self.conda_packages.append(item)

    def _to_json(self) -> dict[str, Any]:
        return {
            "python_version": self.python_version,
            "conda_packages": self.conda_packages,
            "pip_packages": self.pip_packages,
            "pip_options": self.pip_options,
        }

    def __repr__(self) -> str:
        return json.dumps(self._to_json())
