"""Databricks library specs (SDK v1 ``azureml.core.databricks``).

Plain value holders of their v1 constructor arguments, for
``DatabricksStep(pypi_libraries=[...], ...)``. DatabricksStep itself is
planned, so a pipeline using them fails when that step is constructed.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MavenLibrary", "PyPiLibrary", "RCranLibrary", "JarLibrary", "EggLibrary"]


class _Library:
    _fields: tuple[str, ...] = ()

    def _to_json(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self._fields}

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _Library)
            and type(other) is type(self)
            and other._to_json() == self._to_json()
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(sorted(self._to_json().items()))))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._to_json().items())
        return f"{type(self).__name__}({args})"


class MavenLibrary(_Library):
    """A Maven library for a Databricks cluster (SDK v1)."""

    _fields = ("coordinates", "repo", "exclusions")

    def __init__(
        self,
        coordinates: str | None = None,
        repo: str | None = None,
        exclusions: list[str] | None = None,
    ):
        self.coordinates = coordinates
        self.repo = repo
        self.exclusions = list(exclusions or [])


class PyPiLibrary(_Library):
    """A PyPI package for a Databricks cluster (SDK v1)."""

    _fields = ("package", "repo")

    def __init__(self, package: str | None = None, repo: str | None = None):
        self.package = package
        self.repo = repo


class RCranLibrary(_Library):
    """A CRAN package for a Databricks cluster (SDK v1)."""

    _fields = ("package", "repo")

    def __init__(self, package: str | None = None, repo: str | None = None):
        self.package = package
        self.repo = repo


class JarLibrary(_Library):
    """A JAR library (DBFS or storage URI) for a Databricks cluster (SDK v1)."""

    _fields = ("library",)

    def __init__(self, library: str | None = None):
        self.library = library


class EggLibrary(_Library):
    """An egg library (DBFS or storage URI) for a Databricks cluster (SDK v1)."""

    _fields = ("library",)

    def __init__(self, library: str | None = None):
        self.library = library
