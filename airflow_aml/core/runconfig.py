"""RunConfiguration: how a step runs (SDK v1 ``azureml.core.runconfig``)."""

from __future__ import annotations

from typing import Any

from airflow_aml.core.conda_dependencies import CondaDependencies
from airflow_aml.core.environment import DEFAULT_CPU_IMAGE, DEFAULT_GPU_IMAGE, Environment
from airflow_aml.data.data_reference import DataReferenceConfiguration
from airflow_aml.exceptions import RunConfigurationException

__all__ = [
    "RunConfiguration",
    "DockerConfiguration",
    "DataReferenceConfiguration",
    "MpiConfiguration",
    "PyTorchConfiguration",
    "TensorflowConfiguration",
    "DEFAULT_CPU_IMAGE",
    "DEFAULT_GPU_IMAGE",
]

_PYTORCH_BACKENDS = ("nccl", "gloo")


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


class MpiConfiguration:
    """Distributed-job settings for MPI (SDK v1); a value holder.

    Multi-node MPI jobs are not supported: steps that would need it
    (``MpiStep``, ``ScriptRunConfig(distributed_job_config=...)``) raise
    ``NotSupportedError``.
    """

    def __init__(self, process_count_per_node: int = 1, node_count: int = 1):
        self.process_count_per_node = process_count_per_node
        self.node_count = node_count

    def __repr__(self) -> str:
        return (
            f"MpiConfiguration(process_count_per_node={self.process_count_per_node}, "
            f"node_count={self.node_count})"
        )


class PyTorchConfiguration:
    """Distributed-job settings for PyTorch (SDK v1); a value holder (see MpiConfiguration)."""

    def __init__(
        self,
        communication_backend: str = "Nccl",
        process_count: int | None = None,
        node_count: int = 1,
    ):
        if communication_backend.lower() not in _PYTORCH_BACKENDS:
            raise RunConfigurationException(
                f"{communication_backend} is not a supported backend; "
                "communication_backend must be 'Nccl' or 'Gloo'"
            )
        self.communication_backend = communication_backend.lower()
        self.process_count = process_count
        self.node_count = node_count

    def __repr__(self) -> str:
        return (
            f"PyTorchConfiguration(communication_backend={self.communication_backend!r}, "
            f"process_count={self.process_count}, node_count={self.node_count})"
        )


class TensorflowConfiguration:
    """Distributed-job settings for TensorFlow (SDK v1); a value holder (see MpiConfiguration)."""

    def __init__(self, worker_count: int = 1, parameter_server_count: int = 1):
        self.worker_count = worker_count
        self.parameter_server_count = parameter_server_count

    def __repr__(self) -> str:
        return (
            f"TensorflowConfiguration(worker_count={self.worker_count}, "
            f"parameter_server_count={self.parameter_server_count})"
        )


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
