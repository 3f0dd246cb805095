"""DataPath: a datastore path usable as a pipeline parameter value (SDK v1)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_aml._names import safe_relative_path
from airflow_aml.exceptions import ValidationError

if TYPE_CHECKING:
    from airflow_aml.core.datastore import Datastore

__all__ = ["DataPath", "DataPathComputeBinding"]


class DataPath:
    """A path on a datastore; as a ``PipelineParameter`` default it can be reassigned per run."""

    def __init__(
        self,
        datastore: Datastore | None = None,
        path_on_datastore: str | None = None,
        name: str | None = None,
    ):
        self.datastore = datastore
        self.path_on_datastore = safe_relative_path(
            path_on_datastore, field="DataPath.path_on_datastore"
        )
        self._name = name

    @property
    def datastore_name(self) -> str | None:
        """Name of the datastore this path is on."""
        return self.datastore.name if self.datastore is not None else None

    def create_data_reference(
        self,
        data_reference_name: str | None = None,
        datapath_compute_binding: DataPathComputeBinding | None = None,
    ):
        """A :class:`DataReference` to this path."""
        from airflow_aml.data.data_reference import DataReference

        if self.datastore is None:
            raise ValidationError("DataPath has no datastore", field="DataPath.datastore")
        binding = datapath_compute_binding or DataPathComputeBinding()
        return DataReference(
            self.datastore,
            data_reference_name or self._name,
            self.path_on_datastore or None,
            binding.mode,
            binding.path_on_compute,
            binding.overwrite,
        )

    def _to_json(self) -> dict[str, str | None]:
        return {"datastore": self.datastore_name, "path": self.path_on_datastore}

    def __repr__(self) -> str:
        return f"DataPath({self.datastore_name}:{self.path_on_datastore})"


class DataPathComputeBinding:
    """How a :class:`DataPath` is made available on the compute."""

    def __init__(
        self, mode: str = "mount", path_on_compute: str | None = None, overwrite: bool = False
    ):
        self.mode = mode
        self.path_on_compute = path_on_compute
        self.overwrite = overwrite
