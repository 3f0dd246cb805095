"""Column types for tabular data (SDK v1 ``azureml.data.dataset_factory.DataType``).

``DataType`` is a value holder: ``DataType.to_float(decimal_mark=",")`` records
the conversion; it is used with ``TabularDataset``, which is planned.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DataType"]


class DataType:
    """A column type conversion for ``set_column_types`` (SDK v1); a value holder.

    Build one with the static methods: ``to_string()``, ``to_long()``,
    ``to_float(decimal_mark='.')``, ``to_bool()``, ``to_datetime(formats=None)``,
    ``to_stream(workspace, escaped=False)``.
    """

    def __init__(self, type_name: str = "string", **options: Any):
        self.type_name = type_name
        self.options = dict(options)

    @staticmethod
    def to_string() -> DataType:
        """Values as strings."""
        return DataType("string")

    @staticmethod
    def to_long() -> DataType:
        """Values as 64-bit integers."""
        return DataType("long")

    @staticmethod
    def to_float(decimal_mark: str = ".") -> DataType:
        """Values as floats; ``decimal_mark`` is ``'.'`` or ``','``."""
        return DataType("float", decimal_mark=decimal_mark)

    @staticmethod
    def to_bool() -> DataType:
        """Values as booleans."""
        return DataType("bool")

    @staticmethod
    def to_stream(workspace: Any, escaped: bool = False) -> DataType:
        """Values as streams (file paths)."""
        return DataType("stream", escaped=escaped)

    @staticmethod
    def to_datetime(formats: str | list[str] | None = None) -> DataType:
        """Values as datetimes, parsed with the given ``strftime`` formats."""
        fmts = [formats] if isinstance(formats, str) else list(formats or [])
        return DataType("datetime", formats=fmts)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, DataType)
            and other.type_name == self.type_name
            and other.options == self.options
        )

    def __hash__(self) -> int:
        return hash(self.type_name)

    def __repr__(self) -> str:
        opts = "".join(f", {k}={v!r}" for k, v in self.options.items())
        return f"DataType({self.type_name!r}{opts})"
