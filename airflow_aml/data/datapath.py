"""DataPath: a datastore path usable as a pipeline parameter value (SDK v1)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_aml._names import check_datastore_name, safe_relative_path
from airflow_aml.data.data_reference import DataReference
from airflow_aml.exceptions import ValidationError

if TYPE_CHECKING:
    from airflow_aml.core.datastore import Datastore

__all__ = ["DataPath", "DataPathComputeBinding"]


def _check_datastore(datastore: object) -> None:
    """A DataPath is on a :class:`Datastore` object (or on none: the default datastore).

    The object model's ``data`` package cannot import ``core``, so a datastore is
    recognised by what the compiler uses: its ``name`` and ``_definition``.
    """
    if datastore is None:
        return
    if isinstance(datastore, str):
        raise ValidationError(
            f"DataPath datastore must be a Datastore, not the string {datastore!r}: use "
            f"Datastore.get(workspace, {datastore!r})",
            field="DataPath.datastore",
        )
    if not callable(getattr(datastore, "_definition", None)):
        raise ValidationError(
            f"DataPath datastore must be a Datastore, not {type(datastore).__name__}",
            field="DataPath.datastore",
        )
    check_datastore_name(getattr(datastore, "name", None), field="DataPath.datastore")


class DataPath:
    """A path on a datastore; as a ``PipelineParameter`` default it can be reassigned per run.

    :param datastore: a :class:`~airflow_aml.core.Datastore` (``None``: the default one).
    :param path_on_datastore: relative to the datastore (no ``..``, not absolute).
    :param name: the name of the data reference it makes.
    """

    def __init__(
        self,
        datastore: Datastore | None = None,
        path_on_datastore: str | None = None,
        name: str | None = None,
    ):
        _check_datastore(datastore)
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
