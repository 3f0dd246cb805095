"""Name rules shared by the object model: identifiers, experiment names, safe paths."""

from __future__ import annotations

import re

from airflow_aml.exceptions import ValidationError

__all__ = [
    "EXPERIMENT_NAME_RE",
    "IDENTIFIER_RE",
    "AIRFLOW_ID_LEN",
    "NAME_MAX",
    "MAX_EXPERIMENT_NAME",
    "DATASTORE_NAME_RE",
    "check_experiment_name",
    "check_datastore_name",
    "check_identifier",
    "safe_relative_path",
    "task_id_for",
]

IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# SDK v1: 1-255 chars, starts with a letter or digit, then letters, digits, '_' or '-'.
# The length is bounded below by MAX_EXPERIMENT_NAME (check_experiment_name).
EXPERIMENT_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")

#: Airflow's limit on a dag_id (``airflow.models.base.ID_LEN``; the SDK's ``validate_key``
#: default). Copied, not imported: this module imports no Airflow (tests compare them).
AIRFLOW_ID_LEN = 250
#: The longest file name (one path component) on Linux filesystems (ext4, xfs, tmpfs...).
NAME_MAX = 255
# The longest decoration a file named after an experiment gets: the registry writes
# ``specs/<dag_id>.json`` through a temporary ``.<dag_id>.json.<8 random chars>``; task
# logs live under ``dag_id=<dag_id>/`` (7); the reuse index under ``latest/<dag_id>/``
# and run markers under ``experiments/<name>/`` (0).
_NAME_DECORATION = len(".") + len(".json") + len(".") + 8
#: An experiment name names the DAG of its runs (``dag_id``) and files in the registry:
#: it must fit Airflow's dag_id limit and the file-name limit with our decorations.
MAX_EXPERIMENT_NAME = min(AIRFLOW_ID_LEN, NAME_MAX - _NAME_DECORATION)
# A datastore name is one file name in places (staging folders, caches): letters, digits,
# '_' and '-' (SDK v1 allows letters, digits and '_'), 1-255 characters.
DATASTORE_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,254}$")
_TASK_ID_BAD = re.compile(r"[^A-Za-z0-9_.-]+")


def check_identifier(value: object, *, what: str, step: str | None = None) -> str:
    """Return ``value`` if it is a valid identifier, else raise naming ``what``."""
    if not isinstance(value, str) or not IDENTIFIER_RE.match(value):
        raise ValidationError(
            f"{value!r} is not a valid name: use letters, digits and '_', not starting "
            "with a digit (no path separators, no '..')",
            step=step,
            field=what,
        )
    return value


def check_experiment_name(name: object) -> str:
    """Validate an experiment name: SDK v1's rule, at most :data:`MAX_EXPERIMENT_NAME`
    characters (v1 allows 255; here the name is also a dag_id and names files)."""
    if not isinstance(name, str) or not EXPERIMENT_NAME_RE.match(name):
        shown = repr(name) if not isinstance(name, str) or len(name) <= 80 else repr(name[:80])
        raise ValidationError(
            f"experiment name {shown} is invalid: 1-{MAX_EXPERIMENT_NAME} characters, "
            "starting with a letter or digit, then letters, digits, '_' or '-'",
            field="experiment_name",
        )
    if len(name) > MAX_EXPERIMENT_NAME:
        raise ValidationError(
            f"experiment name {name[:40]!r}... is {len(name)} characters long: at most "
            f"{MAX_EXPERIMENT_NAME} (it is the Airflow dag_id of its runs, limited to "
            f"{AIRFLOW_ID_LEN} characters (ID_LEN), and names registry files, which must "
            f"fit the {NAME_MAX}-byte file-name limit (NAME_MAX) with "
            f"'.<name>.json.' and a random suffix around it)",
            field="experiment_name",
        )
    return name


def check_datastore_name(name: object, *, field: str = "datastore") -> str:
    """Return ``name`` if it can name a datastore, else raise naming ``field``."""
    if not isinstance(name, str) or not DATASTORE_NAME_RE.match(name):
        shown = repr(name) if not isinstance(name, str) or len(name) <= 80 else repr(name[:80])
        raise ValidationError(
            f"datastore name {shown} is invalid: 1-255 letters, digits, '_' or '-' "
            "(no path separators, no '..')",
            field=field,
        )
    return name


def safe_relative_path(path: str | None, *, field: str, step: str | None = None) -> str:
    """Normalise a datastore-relative path; refuse absolute paths and '..' traversal."""
    if path is None:
        return ""
    if not isinstance(path, str):
        raise ValidationError(
            f"expected a path string, got {type(path).__name__}", step=step, field=field
        )
    if "\x00" in path:
        raise ValidationError(
            f"path {path[:80]!r} contains a NUL byte (\\x00)", step=step, field=field
        )
    norm = path.replace("\\", "/").strip()
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    if norm.startswith("/") or any(p == ".." for p in parts) or ":" in (parts[0] if parts else ""):
        raise ValidationError(
            f"path {path!r} must be relative to the datastore and must not contain '..'",
            step=step,
            field=field,
        )
    return "/".join(parts)


def task_id_for(step_name: str, taken: set[str]) -> str:
    """Map a step name (which may hold spaces) to a unique Airflow task id."""
    base = _TASK_ID_BAD.sub("_", step_name).strip("_.-") or "step"
    base = base[:220]
    candidate = base
    n = 2
    while candidate in taken:
        candidate = f"{base}_{n}"
        n += 1
    taken.add(candidate)
    return candidate
