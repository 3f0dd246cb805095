"""DataReference: a path on a datastore used as a step input (SDK v1)."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from airflow_aml._names import safe_relative_path
from airflow_aml.exceptions import ValidationError

if TYPE_CHECKING:
    from airflow_aml.core.datastore import Datastore

__all__ = ["DataReference", "DataReferenceConfiguration"]

_MODES = ("mount", "download", "upload", "direct")


class DataReference:
    """A reference to ``path_on_datastore`` on ``datastore``.

    :param datastore: the datastore holding the data.
    :param data_reference_name: the name scripts see
        (``$AZUREML_DATAREFERENCE_<name>``); defaults to the datastore name.
    :param path_on_datastore: path relative to the datastore root.
    :param mode: ``mount`` (default), ``download`` or ``upload``.
    :param path_on_compute: where the data appears on the compute (optional).
    :param overwrite: for ``download``/``upload``, replace existing files.
    """

    def __init__(
        self,
        datastore: Datastore,
        data_reference_name: str | None = None,
        path_on_datastore: str | None = None,
        mode: str = "mount",
        path_on_compute: str | None = None,
        overwrite: bool = False,
    ):
        if not isinstance(getattr(datastore, "name", None), str):
            raise ValidationError(
                f"a DataReference needs a datastore, got {datastore!r}",
                field="DataReference.datastore",
            )
        if mode not in _MODES:
            raise ValidationError(
                f"mode must be one of {_MODES}, got {mode!r}", field="DataReference.mode"
            )
        self.datastore = datastore
        self.data_reference_name = data_reference_name or datastore.name
        self.path_on_datastore = (
            safe_relative_path(path_on_datastore, field="DataReference.path_on_datastore") or None
        )
        self.mode = mode
        self.path_on_compute = path_on_compute
        self.overwrite = overwrite

    def _with(self, **changes: Any) -> DataReference:
        clone = copy.copy(self)
        for k, v in changes.items():
            setattr(clone, k, v)
        return clone

    def path(
        self, path: str | None = None, data_reference_name: str | None = None
    ) -> DataReference:
        """A reference to ``path`` below this reference's path."""
        base = self.path_on_datastore or ""
        joined = "/".join(p for p in (base, path or "") if p)
        return DataReference(
            self.datastore,
            data_reference_name or self.data_reference_name,
            joined or None,
            self.mode,
            self.path_on_compute,
            self.overwrite,
        )

    def as_mount(self) -> DataReference:
        """This reference in ``mount`` mode (the step reads it in place)."""
        return self._with(mode="mount")

    def as_download(
        self, path_on_compute: str | None = None, overwrite: bool = False
    ) -> DataReference:
        """This reference in ``download`` mode (copied to the compute first)."""
        return self._with(mode="download", path_on_compute=path_on_compute, overwrite=overwrite)

    def as_upload(
        self, path_on_compute: str | None = None, overwrite: bool = False
    ) -> DataReference:
        """This reference in ``upload`` mode (written back after the step)."""
        return self._with(mode="upload", path_on_compute=path_on_compute, overwrite=overwrite)

    def to_config(self) -> DataReferenceConfiguration:
        """The run-configuration form of this reference."""
        return DataReferenceConfiguration(
            self.datastore.name,
            self.mode,
            self.path_on_datastore,
            self.path_on_compute,
            self.overwrite,
        )

    def __str__(self) -> str:
        return f"$AZUREML_DATAREFERENCE_{self.data_reference_name}"

    def __repr__(self) -> str:
        return (
            f"$AZUREML_DATAREFERENCE_{self.data_reference_name} -> "
            f"{self.datastore.name}:{self.path_on_datastore or '/'} ({self.mode})"
        )


class DataReferenceConfiguration:
    """Serialisable form of a data reference (``azureml.core.runconfig``)."""

    def __init__(
        self,
        datastore_name: str | None = None,
        mode: str = "mount",
        path_on_datastore: str | None = None,
        path_on_compute: str | None = None,
        overwrite: bool = False,
    ):
        self.data_store_name = datastore_name
        self.mode = mode
        self.path_on_datastore = path_on_datastore
        self.path_on_compute = path_on_compute
        self.overwrite = overwrite
