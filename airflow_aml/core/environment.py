"""Environment: how a step's Python is set up (SDK v1 ``azureml.core.Environment``)."""

from __future__ import annotations

import copy
from typing import Any

from airflow_aml.core.conda_dependencies import CondaDependencies

__all__ = [
    "CondaDependencies",
    "Environment",
    "PythonSection",
    "DockerSection",
    "DEFAULT_CPU_IMAGE",
    "DEFAULT_GPU_IMAGE",
]

DEFAULT_CPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04"
DEFAULT_GPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04"


class PythonSection:
    """Python settings of an environment."""

    def __init__(self) -> None:
        self.user_managed_dependencies = False
        self.interpreter_path = "python"
        self.conda_dependencies_file: str | None = None
        self.base_conda_environment: str | None = None
        self.conda_dependencies = CondaDependencies()


class DockerSection:
    """Container settings of an environment."""

    def __init__(self) -> None:
        self.enabled = False
        self.base_image: str | None = DEFAULT_CPU_IMAGE
        self.base_dockerfile: str | None = None
        self.build_context: Any = None
        self.base_image_registry: Any = None
        self.platform: Any = None
        self.arguments: list[str] = []
        self.shm_size: str | None = None


class Environment:
    """A named environment: Python packages, container image, environment variables."""

    def __init__(self, name: str):
        self.name = name
        self.version: str | None = None
        self.environment_variables: dict[str, str] = {}
        self.python = PythonSection()
        self.docker = DockerSection()
        self.inferencing_stack_version: str | None = None

    @staticmethod
    def from_pip_requirements(
        name: str, file_path: str, pip_version: str | None = None
    ) -> Environment:
        """An environment whose pip packages come from a requirements file."""
        env = Environment(name)
        with open(file_path, encoding="utf-8") as fh:
            for line in fh:
                line = line.split("#", 1)[0].strip()
                if line:
                    env.python.conda_dependencies.add_pip_package(line)
        return env

    @staticmethod
    def from_conda_specification(name: str, file_path: str) -> Environment:
        """An environment from a conda YAML file."""
        env = Environment(name)
        env.python.conda_dependencies = CondaDependencies(file_path)
        return env

    @staticmethod
    def from_docker_image(
        name: str,
        image: str,
        container_registry: Any = None,
        conda_specification: str | None = None,
        pip_requirements: str | None = None,
    ) -> Environment:
        """An environment running in ``image``."""
        env = Environment(name)
        env.docker.base_image = image
        env.docker.enabled = True
        return env

    def clone(self, new_name: str) -> Environment:
        """A copy of this environment under ``new_name``."""
        other = copy.deepcopy(self)
        other.name = new_name
        return other

    def register(self, workspace: Any) -> Environment:
        """Kept for compatibility: environments are defined by value, nothing to register."""
        return self

    def _to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "environment_variables": dict(self.environment_variables),
            "user_managed_dependencies": self.python.user_managed_dependencies,
            "interpreter_path": self.python.interpreter_path,
            "conda_dependencies": self.python.conda_dependencies._to_json(),
            "docker_enabled": bool(self.docker.enabled),
            "base_image": self.docker.base_image,
        }
