"""Schedules (SDK v1 ``azureml.pipeline.core.schedule``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["Schedule", "ScheduleRecurrence", "TimeZone"]


class Schedule(Unsupported):
    """A schedule submitting a published pipeline (SDK v1)."""

    _planned = True
    _alternative = (
        "schedules are planned (DAG timetables); meanwhile trigger the published pipeline"
        " from Airflow (a DAG on a schedule, or POST /api/v2/dags/{dag_id}/dagRuns)"
    )


class ScheduleRecurrence(Unsupported):
    """How often a Schedule fires (SDK v1)."""

    _planned = True
    _alternative = (
        "schedules are planned (DAG timetables); meanwhile trigger the published pipeline"
        " from Airflow on a schedule"
    )


class TimeZone(Unsupported):
    """Time zones of a ScheduleRecurrence (SDK v1)."""

    _planned = True
    _alternative = (
        "schedules are planned (DAG timetables); meanwhile trigger the published pipeline"
        " from Airflow on a schedule"
    )
