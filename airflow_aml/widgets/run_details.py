"""RunDetails: watch a pipeline run's steps (SDK v1 ``azureml.widgets.RunDetails``).

``RunDetails(run).show()``:

* in a terminal, prints a table of the steps (step, status, reused, started,
  duration) and keeps it current until the run ends, then returns. On a TTY
  the table is redrawn in place (with ``rich``); otherwise it is printed
  again whenever a status changes.
* in Jupyter (an IPython kernel), shows an HTML table and returns at once.
  With ``ipywidgets`` installed the table updates live from a background
  thread until the run ends; without it the view is static and says so.
* with ``render_lib`` (v1's Databricks idiom, ``render_lib=displayHTML``),
  passes the HTML table to that function once and returns.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import IO, Any

from airflow_aml.pipeline.core.status import TERMINAL_STATUSES
from airflow_aml.widgets._render import (
    COLUMNS,
    change_key,
    collect,
    render_html,
    render_text,
    table_rows,
    title,
)

__all__ = ["RunDetails"]

STATIC_NOTE = "A static view: install ipywidgets to have it update live while the run goes."


def _in_jupyter() -> bool:
    """Whether this process is an IPython kernel (a notebook), without importing IPython."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


def _jupyter_modules() -> tuple[Any, Any, Any]:
    """``(display, HTML, ipywidgets or None)``."""
    from IPython.display import HTML, display  # lazy: optional (Jupyter only)

    try:
        import ipywidgets  # lazy: optional (live updates in Jupyter)
    except ImportError:
        ipywidgets = None
    return display, HTML, ipywidgets


class RunDetails:
    """Shows the progress of a run's steps (SDK v1 widget).

    :param run_instance: a ``PipelineRun`` (or a single ``StepRun``).
    """

    refresh_seconds = 1.0
    """Seconds between reads of the run while it goes."""

    def __init__(self, run_instance: Any):
        self.run_instance = run_instance
        self._thread: threading.Thread | None = None

    def get_widget_data(self, widget_settings: dict[str, Any] | None = None) -> dict[str, Any]:
        """The data shown: run id and status, and per step its name, status,
        reuse flag and start/end times."""
        return collect(self.run_instance)

    def show(self, render_lib: Any = None, widget_settings: dict[str, Any] | None = None) -> None:
        """Show the run's steps (see the module doc for where and how)."""
        if render_lib is not None:
            render_lib(render_html(self.get_widget_data(widget_settings)))
        elif _in_jupyter():
            self._show_jupyter()
        else:
            self._show_terminal(sys.stdout)

    # --------------------------------------------------------------- terminal
    def _show_terminal(self, out: IO[str]) -> None:
        if getattr(out, "isatty", lambda: False)():
            try:
                self._show_live(out)
                return
            except ImportError:
                pass  # no rich: print on changes instead
        last: tuple[Any, ...] | None = None
        while True:
            data = self.get_widget_data()
            key = change_key(data)
            if key != last:
                out.write(render_text(data) + "\n")
                out.flush()
                last = key
            if data["status"] in TERMINAL_STATUSES:
                return
            time.sleep(self.refresh_seconds)

    def _show_live(self, out: IO[str]) -> None:
        from rich.console import Console  # lazy: optional (a live table on a TTY)
        from rich.live import Live  # lazy: optional (as above)

        console = Console(file=out)
        with Live(console=console, auto_refresh=False) as live:
            while True:
                data = self.get_widget_data()
                live.update(_rich_table(data), refresh=True)
                if data["status"] in TERMINAL_STATUSES:
                    return
                time.sleep(self.refresh_seconds)

    # ---------------------------------------------------------------- jupyter
    def _show_jupyter(self) -> None:
        display, html_cls, ipywidgets = _jupyter_modules()
        data = self.get_widget_data()
        if ipywidgets is None:
            display(html_cls(render_html(data, note=STATIC_NOTE)))
            return
        widget = ipywidgets.HTML(value=render_html(data))
        display(widget)
        if data["status"] not in TERMINAL_STATUSES:
            self._thread = threading.Thread(
                target=self._refresh, args=(widget,), name="aml-run-details", daemon=True
            )
            self._thread.start()

    def _refresh(self, widget: Any) -> None:
        """Update ``widget`` until the run ends (background thread)."""
        while True:
            time.sleep(self.refresh_seconds)
            try:
                data = self.get_widget_data()
            except Exception as exc:  # keep the last view; say why it stopped
                widget.value += render_html({"steps": []}, note=f"updates stopped: {exc}")
                return
            widget.value = render_html(data)
            if data["status"] in TERMINAL_STATUSES:
                return


def _rich_table(data: dict[str, Any]) -> Any:
    from rich.table import Table  # lazy: optional (as in _show_live)

    table = Table(title=title(data))
    for column in COLUMNS:
        table.add_column(column)
    for row in table_rows(data):
        table.add_row(*row)
    return table
