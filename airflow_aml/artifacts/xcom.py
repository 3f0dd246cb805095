"""XCom backend for artifact references.

Step operators push each output's :class:`ArtifactReference` as a plain JSON
object (``{"kind": "airflow_aml.artifact", "datastore": ..., "path": ...}``),
so the Airflow REST API and UI show it as is, with any XCom backend. With
this backend configured (``[core] xcom_backend =
airflow_aml.artifacts.xcom.ArtifactXComBackend``; the embedded home does it)
tasks that pull such a value get an :class:`ArtifactReference` object, and
tasks may push :class:`ArtifactReference` objects directly. Everything else
behaves exactly like Airflow's default backend.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk.bases.xcom import BaseXCom

from airflow_aml.artifacts.store import ArtifactReference

__all__ = ["ArtifactXComBackend", "as_reference"]

_KIND = "airflow_aml.artifact"


def as_reference(value: Any) -> ArtifactReference | None:
    """An :class:`ArtifactReference` from a pulled XCom value (object or JSON form)."""
    if isinstance(value, ArtifactReference):
        return value
    if isinstance(value, dict) and value.get("kind") == _KIND:
        return ArtifactReference.from_json(value)
    return None


class ArtifactXComBackend(BaseXCom):
    """Airflow's default XCom backend, plus typed artifact references."""

    @staticmethod
    def serialize_value(
        value: Any,
        *,
        key: str | None = None,
        task_id: str | None = None,
        dag_id: str | None = None,
        run_id: str | None = None,
        map_index: int | None = None,
    ) -> Any:
        """Store references as plain JSON; anything else as the default backend does."""
        if isinstance(value, ArtifactReference):
            value = value.to_json()
        return BaseXCom.serialize_value(
            value, key=key, task_id=task_id, dag_id=dag_id, run_id=run_id, map_index=map_index
        )

    @staticmethod
    def deserialize_value(result: Any) -> Any:
        """Turn stored references back into :class:`ArtifactReference` objects."""
        value = BaseXCom.deserialize_value(result)
        ref = as_reference(value)
        return ref if ref is not None else value
