"""Placeholders for SDK v1 names airflow-aml does not support (yet).

A placeholder imports like the v1 class, but every use raises
:class:`~airflow_aml.exceptions.NotSupportedError` naming what to use
instead, or that support is planned: constructing it, calling its static
methods, reading its class attributes (``Dataset.File.from_files(...)``,
``Dataset.get_by_name(...)``, ``Schedule.create(...)``). Private and dunder
lookups still raise ``AttributeError`` as usual, so ``inspect``, ``pickle``,
pytest and IPython can probe these classes.

A placeholder is one short class::

    class Schedule(Unsupported):
        \"\"\"A pipeline schedule (SDK v1).\"\"\"

        _alternative = "planned; meanwhile trigger the published pipeline ..."
        _planned = True

A later change replaces it with the real class in the same module.
"""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

from airflow_aml.exceptions import NotSupportedError

__all__ = ["Unsupported", "UnsupportedMeta", "not_supported_message"]


def not_supported_message(what: str, alternative: str, planned: bool = False) -> str:
    """The error text for an unsupported v1 call ``what``."""
    state = "not supported by airflow-aml yet" if planned else "not supported by airflow-aml"
    return f"{what} is {state}: {alternative}"


class UnsupportedMeta(type):
    """Metaclass of placeholders: public class attributes that do not exist raise
    :class:`NotSupportedError` instead of ``AttributeError``."""

    _alternative: str
    _planned: bool

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(f"type object {cls.__name__!r} has no attribute {name!r}")
        raise NotSupportedError(cls._message(f"{cls.__name__}.{name}"))

    def _message(cls, what: str) -> str:
        return not_supported_message(what, cls._alternative, cls._planned)


class Unsupported(metaclass=UnsupportedMeta):
    """Base of placeholders; subclasses set ``_alternative`` (and ``_planned``)."""

    _alternative: ClassVar[str] = "see the airflow-aml README for what is supported"
    _planned: ClassVar[bool] = False

    def __new__(cls, *args: Any, **kwargs: Any) -> NoReturn:
        raise NotSupportedError(cls._message(cls.__name__))
