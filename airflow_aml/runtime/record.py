"""Run records: metrics, tags, properties and files a step run leaves behind.

A script logs through ``Run.get_context()``, which appends JSON lines to the
record folder named by ``$AIRFLOW_AML_RUN_RECORD``; the operator publishes
the folder to the artifact store when the step ends (success or failure).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import IO, Any

from airflow_aml._files import atomic_write_text
from airflow_aml._names import safe_relative_path
from airflow_aml.exceptions import ValidationError

__all__ = [
    "RecordWriter",
    "read_metrics",
    "read_tags",
    "read_json",
    "METRICS",
    "PARENT_METRICS",
    "TAGS",
    "PARENT_TAGS",
    "PROPERTIES",
    "FILES",
    "STDOUT",
    "STDERR",
    "STATUS",
    "REUSE",
]

METRICS = "metrics.jsonl"
PARENT_METRICS = "parent_metrics.jsonl"
TAGS = "tags.jsonl"
PARENT_TAGS = "parent_tags.jsonl"
PROPERTIES = "properties.json"
STATUS = "status.json"
REUSE = "reuse.json"
STDOUT = "stdout.txt"
STDERR = "stderr.txt"
FILES = "files"


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        if hasattr(value, "tolist"):
            return value.tolist()
        if hasattr(value, "item"):
            return value.item()
        return str(value)


class RecordWriter:
    """Appends to one record folder (used by scripts and operators)."""

    def __init__(self, folder: str | os.PathLike[str], *, parent: bool = False):
        self.folder = Path(folder)
        self.parent = parent

    def _append(self, name: str, entry: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry, default=str) + "\n"
        with open(self.folder / name, "a", encoding="utf-8") as fh:
            fh.write(line)

    def metric(
        self, name: str, value: Any, kind: str, description: str = "", step: int | None = None
    ) -> None:
        """Record one metric value of ``kind`` scalar/list/row/table/image."""
        if not isinstance(name, str) or not name:
            raise ValidationError(
                f"a metric name must be a non-empty string, got {name!r}", field="name"
            )
        self._append(
            PARENT_METRICS if self.parent else METRICS,
            {
                "name": name,
                "value": _jsonable(value),
                "kind": kind,
                "description": description,
                "step": step,
                "time": time.time(),
            },
        )

    def tag(self, key: str, value: Any) -> None:
        """Record a tag."""
        self._append(
            PARENT_TAGS if self.parent else TAGS,
            {"key": str(key), "value": None if value is None else str(value)},
        )

    def upload(self, name: str, source: str | os.PathLike[str] | IO[bytes]) -> str:
        """Store a file under ``name`` in the record."""
        rel = safe_relative_path(name, field="name")
        if not rel:
            raise ValidationError(f"upload_file needs a file name, got {name!r}", field="name")
        if not hasattr(source, "read") and not os.path.isfile(source):
            raise ValidationError(
                f"{os.fspath(source)!r} is not a file (stored as {name!r})",
                field="path_or_stream",
            )
        dest = self.folder / FILES / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if hasattr(source, "read"):
            with open(dest, "wb") as fh:
                shutil.copyfileobj(source, fh)  # type: ignore[arg-type]
        else:
            shutil.copyfile(os.fspath(source), dest)
        return rel

    def write_json(self, name: str, data: dict[str, Any]) -> None:
        """Write one JSON document into the record (atomically: never half a document)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.folder / name, json.dumps(data, indent=2, default=str))


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a torn last line of a killed script
    return out


def read_metrics(path: Path) -> dict[str, Any]:
    """Fold a metrics file into SDK v1's ``get_metrics()`` shape.

    A scalar logged once is its value, logged repeatedly a list; ``log_list``
    gives a list; ``log_row`` rows fold into a dict of column lists;
    ``log_table`` gives its dict.
    """
    out: dict[str, Any] = {}
    scalars: dict[str, list[Any]] = {}
    for e in _lines(path):
        name, kind, value = e["name"], e.get("kind"), e.get("value")
        if kind == "scalar":
            scalars.setdefault(name, []).append(value)
        elif kind == "row":
            cols = out.setdefault(name, {})
            for k, v in (value or {}).items():
                cols.setdefault(k, []).append(v)
        else:
            out[name] = value
    for name, values in scalars.items():
        out[name] = values[0] if len(values) == 1 else values
    return out


def read_tags(path: Path) -> dict[str, str | None]:
    """Fold a tags file into a dict (last value wins)."""
    return {e["key"]: e.get("value") for e in _lines(path)}


def read_json(path: Path) -> dict[str, Any]:
    """Read one JSON document of a record ({} when missing)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
