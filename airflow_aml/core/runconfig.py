"""RunConfiguration: how a step runs (SDK v1 ``azureml.core.runconfig``)."""

from __future__ import annotations

from typing import Any

from airflow_aml.core.conda_dependencies import CondaDependencies
from airflow_aml.core.environment import DEFAULT_CPU_IMAGE, DEFAULT_GPU_IMAGE, Environment
from airflow_aml.data.data_reference import DataReferenceConfiguration

__all__ = [
    "RunConfiguration",
    "DockerConfiguration",
    "DataReferenceConfiguration",
    "DEFAULT_CPU_IMAGE",
    "DEFAULT_GPU_IMAGE",
]


class DockerConfiguration:
    """Whether and how a step runs in a container."""

    def __init__(
        self,
        use_docker: bool = False,
        shared_volumes: bool = True,
        arguments: list[str] | None = None,
        shm_size: str | None = None,
    ):
        self.use_docker = use_docker
        self.shared_volumes = shared_volumes
        self.arguments = list(arguments or [])
        self.shm_size = shm_size


class RunConfiguration:
    """Settings of a step run: target, environment, environment variables."""

    def __init__(
        self,
        script: str | None = None,
        arguments: list[Any] | None = None,
        framework: str | None = None,
        communicator: str | None = None,
        conda_dependencies: CondaDependencies | None = None,
        _history_enabled: Any = None,
        _path: Any = None,
        _name: Any = None,
        command: Any = None,
    ):
        self.script = script
        self.arguments = list(arguments or [])
        self.framework = framework or "Python"
        self.communicator = communicator or "None"
        self.target: Any = "local"
        self.environment = Environment("default-environment")
        if conda_dependencies is not None:
            self.environment.python.conda_dependencies = conda_dependencies
        self.docker = DockerConfiguration()
        self.node_count = 1
        self.environment_variables: dict[str, str] = {}
        self.data_references: dict[str, DataReferenceConfiguration] = {}
        self.max_run_duration_seconds: int | None = None
        self.command = command

    @property
    def target_name(self) -> str | None:
        """The compute target name (``target`` may be a name or a ComputeTarget)."""
        t = self.target
        return getattr(t, "name", t)

    def _to_json(self) -> dict[str, Any]:
        return {
            "target": self.target_name,
            "environment": self.environment._to_json(),
            "use_docker": self.docker.use_docker,
            "node_count": self.node_count,
            "environment_variables": dict(self.environment_variables),
            "max_run_duration_seconds": self.max_run_duration_seconds,
        }
