"""PortDataReference: where a committed step output is on its datastore (SDK v1)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_aml.artifacts.store import ArtifactReference
from airflow_aml.core.datastore import Datastore

if TYPE_CHECKING:
    from airflow_aml.core.workspace import Workspace

__all__ = ["PortDataReference"]


class PortDataReference:
    """A committed output of a step run: datastore + path; can be downloaded."""

    def __init__(self, workspace: Workspace, reference: ArtifactReference):
        self._workspace = workspace
        self._ref = reference

    @property
    def datastore_name(self) -> str:
        """Name of the datastore holding the data."""
        return self._ref.datastore

    @property
    def path_on_datastore(self) -> str:
        """Path of the data on its datastore."""
        return self._ref.path

    @property
    def datastore(self) -> Any:
        """The datastore holding the data."""
        return Datastore.get(self._workspace, self._ref.datastore)

    @property
    def reference(self) -> ArtifactReference:
        """The artifact reference carried by XCom."""
        return self._ref

    def download(
        self, local_path: str, overwrite: bool | None = None, show_progress: bool | None = None
    ) -> str:
        """Download the data under ``local_path``; returns the downloaded path.

        As in SDK v1 the datastore path is kept: the data lands in
        ``local_path/<path_on_datastore>``.
        """
        self.datastore.download(
            local_path,
            prefix=self._ref.path,
            overwrite=bool(overwrite),
            show_progress=bool(show_progress),
        )
        return str(Path(local_path) / self._ref.path)

    def __repr__(self) -> str:
        return f"PortDataReference({self.datastore_name}:{self.path_on_datastore})"
