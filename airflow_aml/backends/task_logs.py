"""Per-task log files for the embedded runner, where Airflow's log reader finds them.

``dag.test()`` runs each task in the runner's own process and logs it to the
console only: Airflow writes task log files from a worker's task supervisor,
which ``dag.test()`` does not use. So while a try runs in the embedded runner
every log event is also appended, as the JSON lines Airflow's task log files
hold, to ``<[logging] base_log_folder>/<log file name of the try>``. The file
name is rendered from the DagRun's log template (``[logging]
log_filename_template`` when the run was created, kept in the metadata DB),
as Airflow's ``FileTaskHandler`` renders it to read the log: the Airflow UI,
its REST API and ``StepRun.get_job_log()`` read the same file.

The Airflow hooks this needs are in :mod:`airflow_aml.backends.airflow_compat`
(``wrap_in_process_task_runs``, ``add_log_processor``). The path functions
import no Airflow: the embedded client uses them.
"""

from __future__ import annotations

import configparser
import contextlib
import datetime
import functools
import json
import os
import sys
import traceback
import types
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from airflow_aml.backends import airflow_compat

__all__ = [
    "install",
    "render_log_filename",
    "task_log_path",
    "base_log_folder",
    "run_task_log_path",
    "try_install",
]

_current: dict[str, IO[str] | None] = {"fh": None}


# ------------------------------------------------------------------- paths
@functools.lru_cache(maxsize=16)
def _jinja_template(template: str) -> Any:
    import jinja2  # lazy: ~30 ms, for Jinja log templates only; the embedded client imports this

    return jinja2.Template(template)


def _iso(value: Any) -> str:
    """A DB or datetime date as Airflow renders it (``isoformat()``, UTC); '' for none."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return str(value.isoformat())


def render_log_filename(
    template: str,
    *,
    dag_id: str,
    run_id: str,
    task_id: str,
    try_number: int,
    map_index: int = -1,
    logical_date: Any = None,
    run_after: Any = None,
    data_interval_start: Any = None,
    data_interval_end: Any = None,
) -> str:
    """A try's log file name (relative to ``base_log_folder``) from a log file name template.

    Rendered as Airflow's ``FileTaskHandler`` does: a template with ``{{`` is
    Jinja with ``ti``, ``ts`` and ``try_number``; any other is ``str.format``
    with ``dag_id``, ``task_id``, ``run_id``, ``logical_date``,
    ``data_interval_start``, ``data_interval_end`` and ``try_number``.
    """
    ts = _iso(logical_date or run_after)
    if "{{" in template:
        ti = types.SimpleNamespace(
            dag_id=dag_id,
            run_id=run_id,
            task_id=task_id,
            try_number=try_number,
            map_index=map_index,
        )
        return str(_jinja_template(template).render(ti=ti, ts=ts, try_number=try_number))
    return template.format(
        dag_id=dag_id,
        task_id=task_id,
        run_id=run_id,
        logical_date=ts,
        data_interval_start=_iso(data_interval_start),
        data_interval_end=_iso(data_interval_end),
        try_number=try_number,
    )


def task_log_path(
    base: str | Path,
    template: str,
    dag_id: str,
    run_id: str,
    task_id: str,
    try_number: int,
    map_index: int = -1,
    **dates: Any,
) -> str:
    """Where a try's log file is: ``base`` / the rendered ``template``."""
    name = render_log_filename(
        template,
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        try_number=try_number,
        map_index=map_index,
        **dates,
    )
    return os.path.join(base, name)


def base_log_folder(airflow_home: Path) -> Path:
    """``[logging] base_log_folder`` of the home's ``airflow.cfg`` (Airflow's default:
    ``<home>/logs``), read without Airflow: embedded processes take it from that file
    (``airflow_env`` drops ``AIRFLOW__LOGGING__*`` overrides)."""
    parser = configparser.ConfigParser(strict=False)
    with contextlib.suppress(OSError, configparser.Error):
        parser.read(Path(airflow_home) / "airflow.cfg", encoding="utf-8")
    try:
        value = parser.get("logging", "base_log_folder")
    except (configparser.Error, ValueError):
        return Path(airflow_home) / "logs"
    return Path(os.path.expanduser(os.path.expandvars(value.strip())))


def run_task_log_path(
    airflow_home: Path,
    base: str | Path,
    dag_id: str,
    run_id: str,
    task_id: str,
    try_number: int,
    map_index: int = -1,
    fallback_template: str | None = None,
) -> str | None:
    """A try's log file path under ``base``, from the run's log template in the home's
    metadata DB (``fallback_template`` if the run has none); None if neither exists."""
    row = airflow_compat.read_log_template(airflow_home, dag_id, run_id)
    template = row.pop("filename") if row else fallback_template
    if not template:
        return None
    return task_log_path(
        base, template, dag_id, run_id, task_id, try_number, map_index, **(row or {})
    )


# ------------------------------------------------------------------ writing
def _tee(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    fh = _current["fh"]
    if fh is not None and isinstance(event_dict, dict):
        rec: dict[str, Any] = {}
        for key, value in event_dict.items():
            if key == "exc_info" and value:
                exc = value if isinstance(value, BaseException) else None
                rec["error_detail"] = (
                    "".join(traceback.format_exception(exc)) if exc else traceback.format_exc()
                )
            elif not key.startswith("_"):
                rec[key] = value
        rec.setdefault("level", method_name)
        rec.setdefault("timestamp", datetime.datetime.now(datetime.UTC).isoformat())
        fh.write(json.dumps(rec, default=str) + "\n")
        fh.flush()
    return event_dict


def install(
    airflow_home: Path | None = None,
    base: str | None = None,
    filename_template: str | None = None,
) -> None:
    """Tee every task try's log events into its Airflow task log file (call once per process).

    ``airflow_home`` (default ``$AIRFLOW_HOME``) holds the metadata DB with
    the runs' log templates; ``base`` and ``filename_template`` default to
    ``[logging] base_log_folder`` / ``log_filename_template`` of Airflow's config.
    """
    from airflow.sdk import conf  # lazy: imports Airflow; the embedded client imports this module

    home = Path(airflow_home or os.environ["AIRFLOW_HOME"])
    folder = base or conf.get("logging", "base_log_folder")
    template = filename_template or conf.get("logging", "log_filename_template")

    @contextlib.contextmanager
    def log_to_file(ti: Any) -> Iterator[None]:
        fh: IO[str] | None = None
        try:
            map_index = ti.map_index if ti.map_index is not None else -1
            path = run_task_log_path(
                home, folder, ti.dag_id, ti.run_id, ti.task_id, ti.try_number, map_index, template
            )
            if path is not None:  # always: the fallback template is Airflow's config
                os.makedirs(os.path.dirname(path), exist_ok=True)
                fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 (closed below)
        except Exception as exc:  # never fail a task for its log file
            print(f"airflow-aml: no task log file for {ti.task_id}: {exc!r}", file=sys.stderr)
        if fh is None:
            yield
            return
        with fh:
            previous, _current["fh"] = _current["fh"], fh
            try:
                yield
            finally:
                _current["fh"] = previous

    airflow_compat.add_log_processor(_tee)
    airflow_compat.wrap_in_process_task_runs(log_to_file)


def try_install(airflow_home: Path | None = None) -> bool:
    """:func:`install`, or (if Airflow changed what it needs) a warning on stderr: the
    runs still work, their task logs stay in the runner's console log."""
    try:
        install(airflow_home)
    except Exception as exc:
        print(f"airflow-aml: per-task log files are off: {exc!r}", file=sys.stderr)
        return False
    return True
