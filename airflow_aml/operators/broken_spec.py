"""The task of a stand-in DAG whose pipeline spec could not be loaded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

__all__ = ["BrokenSpecOperator"]


class BrokenSpecOperator(BaseOperator):
    """Fails at once with the reason the pipeline spec could not be loaded."""

    template_fields: Sequence[str] = ()
    ui_color = "#f5b7b1"

    def __init__(self, *, reason: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.reason = reason

    def execute(self, context: Any) -> Any:
        raise AirflowFailException(f"this pipeline's spec cannot be loaded: {self.reason}")
