"""Compute targets: where a step runs (SDK v1 ``azureml.core.compute``).

The default target is the Airflow worker itself. ``AmlCompute`` clusters map
to an Airflow pool with ``max_nodes`` slots (see
:mod:`airflow_aml.core.compute.amlcompute`); steps on them run on the workers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow_aml._unsupported import not_supported_message
from airflow_aml.exceptions import ComputeTargetException, NotSupportedError

if TYPE_CHECKING:
    from airflow_aml.core.workspace import Workspace

__all__ = ["ComputeTarget", "ComputeTargetStatus", "LocalCompute"]

_TYPES: dict[str, type[ComputeTarget]] = {}
"""Compute classes by v1 type name; each subclass registers itself."""


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


class ComputeTargetStatus:
    """The status of a compute target: its provisioning state.

    ``str(status)`` is the provisioning state and the status compares equal to
    that string, so ``target.get_status() == "Succeeded"`` keeps working.
    """

    def __init__(
        self,
        provisioning_state: str,
        creation_time: datetime | None = None,
        compute_type: str | None = None,
        errors: list[Any] | None = None,
    ):
        self.provisioning_state = provisioning_state
        self.creation_time = creation_time
        self.compute_type = compute_type
        self.errors = errors

    def serialize(self) -> dict[str, Any]:
        """The status as a JSON-ready dict."""
        return {
            "provisioningState": self.provisioning_state,
            "provisioningErrors": self.errors,
            "creationTime": self.creation_time.isoformat() if self.creation_time else None,
            "computeType": self.compute_type,
        }

    def __str__(self) -> str:
        return self.provisioning_state

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return other == self.provisioning_state
        if isinstance(other, ComputeTargetStatus):
            return type(other) is type(self) and other.serialize() == self.serialize()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.provisioning_state)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.serialize()!r})"


class ComputeTarget:
    """A named compute target of a workspace; ``ComputeTarget(ws, name)`` looks it up."""

    _compute_type = "Abstract"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _TYPES.setdefault(cls._compute_type, cls)

    def __new__(
        cls, workspace: Workspace | None = None, name: str | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        if workspace is not None and name is not None:
            defs = workspace._compute_doc.section("compute_targets")
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
        self._created: datetime | None = None
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
        cls = _TYPES.get(kind) if isinstance(kind, str) else None
        if cls is None:
            raise ComputeTargetException(f"compute target {name!r} has unknown type {kind!r}")
        config = definition.get("config", {})
        if not isinstance(config, dict):
            raise ComputeTargetException(
                f"compute target {name!r} in {workspace._compute_doc.path}: 'config' must be an "
                "object; repair the file, or delete the target and create it again"
            )
        obj = object.__new__(cls)
        ComputeTarget.__init__(obj, workspace, name)
        obj._config = dict(config)
        obj._created = _parse_time(definition.get("created"))  # absent in older entries
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
            doc.setdefault("compute_targets", {})[name] = {
                "type": kind,
                "config": cfg._to_json(),
                "created": datetime.now(UTC).isoformat(),
            }
        return ComputeTarget(workspace, name)

    @staticmethod
    def attach(workspace: Workspace, name: str, attach_configuration: Any) -> ComputeTarget:
        """Attaching existing compute (Databricks, Kubernetes, ...) is not supported yet."""
        raise NotSupportedError(
            not_supported_message(
                "ComputeTarget.attach",
                "attached Databricks and Kubernetes targets are planned; meanwhile create an "
                "AmlCompute cluster (an Airflow pool) or run on the local Airflow worker",
                planned=True,
            )
        )

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
        """Provisioning is immediate here; prints the outcome as v1 does when asked."""
        if show_output:
            print(f'Provisioning operation finished, operation "{self.provisioning_state}"')

    def refresh_state(self) -> None:
        """Kept for compatibility: the state is read fresh by :meth:`get_status`."""

    def get_status(self) -> ComputeTargetStatus:
        """The current status (its ``str()`` is the provisioning state)."""
        return ComputeTargetStatus(self.provisioning_state, self._created, self.type)

    @property
    def status(self) -> ComputeTargetStatus:
        """Same as :meth:`get_status`."""
        return self.get_status()

    @property
    def created_on(self) -> str | None:
        """When the target was created (ISO 8601), if known."""
        return self._created.isoformat() if self._created else None

    def delete(self) -> None:
        """Remove this compute target from the workspace."""
        if self.workspace is None:
            raise ComputeTargetException(
                f"compute target {self.name!r} belongs to no workspace; "
                "get it with ComputeTarget(ws, name) to delete it"
            )
        with self.workspace._compute_doc.update() as doc:
            doc.get("compute_targets", {}).pop(self.name, None)

    detach = delete

    def _to_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self._compute_type, "config": dict(self._config)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class LocalCompute(ComputeTarget):
    """The Airflow worker itself (the default target)."""

    _compute_type = "Local"
