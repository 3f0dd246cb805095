"""Name rules shared by the object model: identifiers, experiment names, safe paths."""

from __future__ import annotations

import re

from airflow_aml.exceptions import ValidationError

__all__ = [
    "EXPERIMENT_NAME_RE",
    "IDENTIFIER_RE",
    "check_experiment_name",
    "check_identifier",
    "safe_relative_path",
    "task_id_for",
]

IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# SDK v1: 1-255 chars, starts with a letter or digit, then letters, digits, '_' or '-'.
EXPERIMENT_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$")
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
    """Validate an experiment name with the SDK v1 rule."""
    if not isinstance(name, str) or not EXPERIMENT_NAME_RE.match(name):
        raise ValidationError(
            f"experiment name {name!r} is invalid: 1-255 characters, starting with a letter "
            "or digit, then letters, digits, '_' or '-'",
            field="experiment_name",
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
