"""Compute targets: where a step runs (SDK v1 ``azureml.core.compute``).

The default target is the Airflow worker itself. ``AmlCompute`` clusters map
to an Airflow pool with ``max_nodes`` slots; steps on them run on the worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_aml.exceptions import ComputeTargetException

if TYPE_CHECKING:
    from airflow_aml.core.workspace import Workspace

__all__ = ["ComputeTarget", "AmlCompute", "LocalCompute", "AmlComputeProvisioningConfiguration"]


class ComputeTarget:
    """A named compute target of a workspace; ``ComputeTarget(ws, name)`` looks it up."""

    _compute_type = "Abstract"

    def __new__(
        cls, workspace: Workspace | None = None, name: str | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        if workspace is not None and name is not None:
            defs = workspace._compute_doc.read().get("compute_targets", {})
            if name not in defs:
                raise ComputeTargetException(
                    f"ComputeTargetNotFound: compute target {name!r} not found in workspace "
                    f"{workspace.name!r}; create it with ComputeTarget.create(ws, {name!r}, "
                    "AmlCompute.provisioning_configuration(max_nodes=N))"
                )
            target = ComputeTarget._from_definition(workspace, name, defs[name])
            if not isinstance(target, cls):
                raise ComputeTargetException(
                    f"compute target {name!r} is a {target.type}, not a {cls.__name__}"
                )
            return target
        return super().__new__(cls)

    def __init__(
        self, workspace: Workspace | None = None, name: str | None = None, *args: Any, **kwargs: Any
    ):
        if getattr(self, "_initialised", False):
            return
        self.workspace = workspace
        self.name = name or ""
        self.provisioning_state = "Succeeded"
        self._config: dict[str, Any] = {}
        self._initialised = True

    @property
    def type(self) -> str:
        """The v1 compute type name."""
        return self._compute_type

    @staticmethod
    def _from_definition(
        workspace: Workspace, name: str, definition: dict[str, Any]
    ) -> ComputeTarget:
        kind = definition.get("type")
        cls = _TYPES.get(kind or "")
        if cls is None:
            raise ComputeTargetException(f"compute target {name!r} has unknown type {kind!r}")
        obj = object.__new__(cls)
        ComputeTarget.__init__(obj, workspace, name)
        obj._config = dict(definition.get("config", {}))
        return obj

    @staticmethod
    def create(workspace: Workspace, name: str, provisioning_configuration: Any) -> ComputeTarget:
        """Register compute target ``name`` from a provisioning configuration."""
        cfg = provisioning_configuration
        kind = getattr(cfg, "_compute_type", None)
        if kind not in _TYPES:
            raise ComputeTargetException(
                f"cannot create compute {name!r} from {type(cfg).__name__}: supported kinds are "
                f"{sorted(_TYPES)}"
            )
        with workspace._compute_doc.update() as doc:
            doc.setdefault("compute_targets", {})[name] = {"type": kind, "config": cfg._to_json()}
        return ComputeTarget(workspace, name)

    @staticmethod
    def list(workspace: Workspace) -> list[ComputeTarget]:
        """All compute targets of ``workspace``."""
        return list(workspace.compute_targets.values())

    def wait_for_completion(
        self,
        show_output: bool = False,
        min_node_count: int | None = None,
        timeout_in_minutes: int = 25,
        is_delete_operation: bool = False,
    ) -> None:
        """Provisioning is immediate here; prints the state when asked."""
        if show_output:
            print(f"Provisioning state of {self.name}: {self.provisioning_state}")

    def get_status(self) -> str:
        """The provisioning state."""
        return self.provisioning_state

    def delete(self) -> None:
        """Remove this compute target from the workspace."""
        assert self.workspace is not None
        with self.workspace._compute_doc.update() as doc:
            doc.get("compute_targets", {}).pop(self.name, None)

    detach = delete

    def _to_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self._compute_type, "config": dict(self._config)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class AmlComputeProvisioningConfiguration:
    """Provisioning settings of an ``AmlCompute`` cluster."""

    _compute_type = "AmlCompute"

    def __init__(
        self,
        vm_size: str = "",
        vm_priority: str = "dedicated",
        min_nodes: int = 0,
        max_nodes: int | None = None,
        idle_seconds_before_scaledown: int = 1800,
        **kwargs: Any,
    ):
        if max_nodes is not None and (not isinstance(max_nodes, int) or max_nodes < 1):
            raise ComputeTargetException(f"max_nodes must be a positive integer, got {max_nodes!r}")
        self.vm_size = vm_size
        self.vm_priority = vm_priority
        self.min_nodes = min_nodes
        self.max_nodes = max_nodes or 4
        self.idle_seconds_before_scaledown = idle_seconds_before_scaledown

    def _to_json(self) -> dict[str, Any]:
        return {
            "vm_size": self.vm_size,
            "max_nodes": self.max_nodes,
            "min_nodes": self.min_nodes,
            "vm_priority": self.vm_priority,
        }


class AmlCompute(ComputeTarget):
    """A cluster: an Airflow pool of ``max_nodes`` slots on the workers."""

    _compute_type = "AmlCompute"

    @staticmethod
    def provisioning_configuration(
        vm_size: str = "",
        vm_priority: str = "dedicated",
        min_nodes: int = 0,
        max_nodes: int | None = None,
        idle_seconds_before_scaledown: int = 1800,
        **kwargs: Any,
    ) -> AmlComputeProvisioningConfiguration:
        """Settings for :meth:`ComputeTarget.create`."""
        return AmlComputeProvisioningConfiguration(
            vm_size, vm_priority, min_nodes, max_nodes, idle_seconds_before_scaledown, **kwargs
        )

    @property
    def max_nodes(self) -> int:
        """Number of steps that may run on this cluster at once (pool slots)."""
        return int(self._config.get("max_nodes", 4))

    @property
    def pool(self) -> str:
        """The Airflow pool backing this cluster."""
        return f"aml_{self.name}"


class LocalCompute(ComputeTarget):
    """The Airflow worker itself (the default target)."""

    _compute_type = "Local"


_TYPES: dict[str, type[ComputeTarget]] = {"AmlCompute": AmlCompute, "Local": LocalCompute}
