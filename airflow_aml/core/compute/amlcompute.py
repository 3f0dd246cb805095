"""AmlCompute clusters (SDK v1 ``azureml.core.compute.amlcompute``).

A cluster is an Airflow pool ``aml_<name>`` with ``max_nodes`` slots: at most
``max_nodes`` steps on it run at once, on the Airflow workers. Its status is
read from that pool: running slots are running nodes, queued and scheduled
task instances are preparing nodes, open slots are idle nodes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow_aml.core.compute.compute import ComputeTarget, ComputeTargetStatus
from airflow_aml.exceptions import ComputeTargetException

__all__ = [
    "AmlCompute",
    "AmlComputeProvisioningConfiguration",
    "AmlComputeStatus",
    "AmlComputeNodeStateCounts",
    "ScaleSettings",
]

_PRIORITIES = {"dedicated": "Dedicated", "lowpriority": "LowPriority"}


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
            "idle_seconds_before_scaledown": self.idle_seconds_before_scaledown,
        }


class ScaleSettings:
    """Scale settings of a cluster (SDK v1)."""

    def __init__(
        self,
        minimum_node_count: int,
        maximum_node_count: int,
        idle_seconds_before_scaledown: int | None = None,
    ):
        self.minimum_node_count = minimum_node_count
        self.maximum_node_count = maximum_node_count
        self.idle_seconds_before_scaledown = idle_seconds_before_scaledown

    def serialize(self) -> dict[str, Any]:
        """v1 keys; the idle time as an ISO 8601 duration."""
        idle = self.idle_seconds_before_scaledown
        return {
            "minNodeCount": self.minimum_node_count,
            "maxNodeCount": self.maximum_node_count,
            "nodeIdleTimeBeforeScaleDown": f"PT{int(idle)}S" if idle is not None else None,
        }


class AmlComputeNodeStateCounts:
    """Node counts of a cluster by state (SDK v1)."""

    def __init__(
        self,
        idle_node_count: int,
        leaving_node_count: int,
        preempted_node_count: int,
        preparing_node_count: int,
        running_node_count: int,
        unusable_node_count: int,
    ):
        self.idle_node_count = idle_node_count
        self.leaving_node_count = leaving_node_count
        self.preempted_node_count = preempted_node_count
        self.preparing_node_count = preparing_node_count
        self.running_node_count = running_node_count
        self.unusable_node_count = unusable_node_count

    def serialize(self) -> dict[str, int]:
        """v1 keys."""
        return {
            "preparingNodeCount": self.preparing_node_count,
            "runningNodeCount": self.running_node_count,
            "idleNodeCount": self.idle_node_count,
            "unusableNodeCount": self.unusable_node_count,
            "leavingNodeCount": self.leaving_node_count,
            "preemptedNodeCount": self.preempted_node_count,
        }


class AmlComputeStatus(ComputeTargetStatus):
    """Detailed status of an AmlCompute cluster (SDK v1), read from its Airflow pool.

    Compares equal to its provisioning state string, like
    :class:`~airflow_aml.core.compute.compute.ComputeTargetStatus`.
    """

    def __init__(
        self,
        allocation_state: str,
        allocation_state_transition_time: datetime | None,
        creation_time: datetime | None,
        current_node_count: int,
        errors: list[Any] | None,
        modified_time: datetime | None,
        node_state_counts: AmlComputeNodeStateCounts,
        provisioning_state: str,
        provisioning_state_transition_time: datetime | None,
        scale_settings: ScaleSettings,
        target_node_count: int,
        vm_priority: str,
        vm_size: str,
    ):
        super().__init__(provisioning_state, creation_time, "AmlCompute", errors)
        self.allocation_state = allocation_state
        self.allocation_state_transition_time = allocation_state_transition_time
        self.current_node_count = current_node_count
        self.modified_time = modified_time
        self.node_state_counts = node_state_counts
        self.provisioning_state_transition_time = provisioning_state_transition_time
        self.scale_settings = scale_settings
        self.target_node_count = target_node_count
        self.vm_priority = vm_priority
        self.vm_size = vm_size

    def serialize(self) -> dict[str, Any]:
        """The status with v1's keys."""

        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "currentNodeCount": self.current_node_count,
            "targetNodeCount": self.target_node_count,
            "nodeStateCounts": self.node_state_counts.serialize(),
            "allocationState": self.allocation_state,
            "allocationStateTransitionTime": iso(self.allocation_state_transition_time),
            "errors": self.errors,
            "creationTime": iso(self.creation_time),
            "modifiedTime": iso(self.modified_time),
            "provisioningState": self.provisioning_state,
            "provisioningStateTransitionTime": iso(self.provisioning_state_transition_time),
            "scaleSettings": self.scale_settings.serialize(),
            "vmPriority": self.vm_priority,
            "vmSize": self.vm_size,
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

    @property
    def vm_size(self) -> str:
        """The VM size given at creation (recorded; steps run on the Airflow workers)."""
        return str(self._config.get("vm_size", ""))

    @property
    def vm_priority(self) -> str:
        """``Dedicated`` or ``LowPriority`` (recorded)."""
        raw = str(self._config.get("vm_priority", "dedicated"))
        return _PRIORITIES.get(raw.lower(), raw)

    @property
    def scale_settings(self) -> ScaleSettings:
        """Minimum/maximum node counts and idle time before scale-down."""
        return ScaleSettings(
            int(self._config.get("min_nodes", 0)),
            self.max_nodes,
            self._config.get("idle_seconds_before_scaledown", 1800),
        )

    def update(
        self,
        min_nodes: int | None = None,
        max_nodes: int | None = None,
        idle_seconds_before_scaledown: int | None = None,
    ) -> None:
        """Change the scale settings; the pool gets the new size with the next run on the
        cluster (until then the status says ``Resizing``)."""
        if min_nodes is None and max_nodes is None and idle_seconds_before_scaledown is None:
            raise ComputeTargetException(
                "update needs min_nodes, max_nodes or idle_seconds_before_scaledown"
            )
        if max_nodes is not None and (not isinstance(max_nodes, int) or max_nodes < 1):
            raise ComputeTargetException(f"max_nodes must be a positive integer, got {max_nodes!r}")
        if self.workspace is None:
            raise ComputeTargetException(f"compute target {self.name!r} has no workspace")
        changes = {
            "min_nodes": min_nodes,
            "max_nodes": max_nodes,
            "idle_seconds_before_scaledown": idle_seconds_before_scaledown,
        }
        with self.workspace._compute_doc.update() as doc:
            entry = doc.get("compute_targets", {}).get(self.name)
            if entry is None:
                raise ComputeTargetException(
                    f"ComputeTargetNotFound: compute target {self.name!r} was deleted"
                )
            entry.setdefault("config", {}).update(
                {k: v for k, v in changes.items() if v is not None}
            )
            self._config = dict(entry["config"])

    def _pool_status(self) -> dict[str, Any] | None:
        if self.workspace is None:
            return None
        backend = self.workspace._backend
        reader = getattr(backend, "pool_status", None)
        return reader(self.pool) if reader is not None else None

    def get_status(self) -> AmlComputeStatus:
        """The cluster's status, from its Airflow pool.

        Before any run used the cluster its pool does not exist yet: then every
        node is idle and the allocation is ``Steady``.
        """
        pool = self._pool_status()
        target = self.max_nodes
        if pool is None:
            current, running, preparing, idle = target, 0, 0, target
        else:
            current = int(pool.get("slots") or 0)
            running = int(pool.get("running_slots") or 0)
            preparing = int(pool.get("queued_slots") or 0) + int(pool.get("scheduled_slots") or 0)
            idle = max(0, int(pool.get("open_slots") or 0))
        counts = AmlComputeNodeStateCounts(
            idle_node_count=idle,
            leaving_node_count=0,
            preempted_node_count=0,
            preparing_node_count=preparing,
            running_node_count=running,
            unusable_node_count=0,
        )
        return AmlComputeStatus(
            allocation_state="Steady" if current == target else "Resizing",
            allocation_state_transition_time=None,
            creation_time=self._created,
            current_node_count=current,
            errors=None,
            modified_time=self._created,
            node_state_counts=counts,
            provisioning_state=self.provisioning_state,
            provisioning_state_transition_time=self._created,
            scale_settings=self.scale_settings,
            target_node_count=target,
            vm_priority=self.vm_priority,
            vm_size=self.vm_size,
        )

    def wait_for_completion(
        self,
        show_output: bool = False,
        min_node_count: int | None = None,
        timeout_in_minutes: int = 25,
        is_delete_operation: bool = False,
    ) -> None:
        """Provisioning is immediate (the pool is created with the first run on the
        cluster); prints v1's lines when asked."""
        if min_node_count is not None and min_node_count > self.max_nodes:
            raise ComputeTargetException(
                f"min_node_count={min_node_count} can never be reached: cluster {self.name!r} "
                f"has max_nodes={self.max_nodes}"
            )
        if not show_output:
            return
        print(
            f"AmlCompute {self.name}: Airflow pool {self.pool} with {self.max_nodes} slot(s)\n"
            f'Provisioning operation finished, operation "{self.provisioning_state}"'
        )
        if is_delete_operation:
            return
        print(self.provisioning_state)
        print("AmlCompute wait for completion finished\n")
        print("Minimum number of nodes requested have been provisioned")
