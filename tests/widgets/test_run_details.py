"""azureml.widgets.RunDetails: pure rendering with stand-in runs, and one real run."""

from __future__ import annotations

import io
import types
from datetime import UTC, datetime, timedelta

import pytest

from airflow_aml.pipeline.core.status import TERMINAL_STATUSES
from airflow_aml.widgets import RunDetails, run_details
from airflow_aml.widgets._render import (
    change_key,
    collect,
    format_duration,
    parse_time,
    render_html,
    render_text,
    table_rows,
)

T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


class FakeStep:
    def __init__(self, run: FakeRun, index: int):
        self._run, self._index = run, index

    def _row(self) -> tuple:
        return self._run.frame[1][self._index]

    @property
    def name(self) -> str:
        return self._row()[0]

    @property
    def is_reused(self) -> bool:
        return self._row()[2]

    def get_status(self) -> str:
        return self._row()[1]

    def get_details(self) -> dict:
        _, status, _, start, end = self._row()
        return {"status": status, "startTimeUtc": start, "endTimeUtc": end}


class FakeRun:
    """A run that moves to its next frame each time its status is read."""

    id = "run-1"

    def __init__(self, frames: list[tuple[str, list[tuple]]]):
        self.frames = frames
        self.reads = 0

    @property
    def frame(self):
        return self.frames[min(self.reads, len(self.frames)) - 1]

    def get_status(self) -> str:
        self.reads += 1
        return self.frame[0]

    def get_details(self) -> dict:
        return {"startTimeUtc": "2025-03-01 12:00:00", "endTimeUtc": None}

    def get_steps(self) -> list[FakeStep]:
        return [FakeStep(self, i) for i in range(len(self.frame[1]))]


def _frames() -> list[tuple[str, list[tuple]]]:
    start = "2025-03-01 12:00:00.250000+00:00"
    prep_running = ("prep", "Running", False, start, None)
    prep_done = ("prep", "Finished", True, start, "2025-03-01T12:00:05Z")
    train_waiting = ("train", "NotStarted", False, None, None)
    train_running = ("train", "Running", False, "2025-03-01T12:00:06Z", None)
    train_done = ("train", "Finished", False, "2025-03-01T12:00:06Z", "2025-03-01T12:01:16Z")
    return [
        ("Running", [prep_running, train_waiting]),
        ("Running", [prep_running, train_waiting]),
        ("Running", [prep_done, train_running]),
        ("Finished", [prep_done, train_done]),
    ]


# ------------------------------------------------------------------ pure parts
def test_parse_time_and_durations():
    assert parse_time("2025-03-01 12:00:00") == T0
    assert parse_time("2025-03-01T12:00:00Z") == T0
    assert parse_time("2025-03-01T13:00:00+01:00") == T0
    assert parse_time(T0.replace(tzinfo=None)) == T0
    assert parse_time(None) is None and parse_time("garbage") is None
    assert format_duration(None) == ""
    assert format_duration(5.9) == "5s"
    assert format_duration(185) == "3m 05s"
    assert format_duration(3723) == "1h 02m 03s"


def test_table_rows_count_running_steps_up_to_now():
    data = {
        "steps": [
            {"name": "a", "status": "Finished", "is_reused": True, "start_time": T0,
             "end_time": T0 + timedelta(seconds=70)},
            {"name": "b", "status": "Running", "start_time": "2025-03-01T12:01:10Z"},
            {"name": "c", "status": "NotStarted"},
        ]
    }  # fmt: skip
    rows = table_rows(data, now=T0 + timedelta(seconds=100))
    assert rows == [
        ("a", "Finished", "yes", "2025-03-01 12:00:00", "1m 10s"),
        ("b", "Running", "", "2025-03-01 12:01:10", "30s"),
        ("c", "NotStarted", "", "", ""),
    ]


def test_render_text_is_an_aligned_table():
    data = {"run_id": "r1", "status": "Running", "steps": [{"name": "longer step name",
            "status": "Queued"}]}  # fmt: skip
    text = render_text(data, now=T0)
    lines = text.splitlines()
    assert lines[0] == "PipelineRun r1: Running"
    assert lines[1].split() == ["Step", "Status", "Reused", "Started", "(UTC)", "Duration"]
    assert lines[2].startswith("-" * len("longer step name"))
    assert lines[3].startswith("longer step name  Queued")
    assert render_text({"run_id": "r", "status": "NotStarted", "steps": []}).count("\n") == 3


def test_render_html_escapes_and_marks_statuses():
    data = {"run_id": "r<1>", "status": "Failed",
            "steps": [{"name": "<script>x</script>", "status": "Failed"}]}  # fmt: skip
    page = render_html(data, now=T0, note="a & b")
    assert "<script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "r&lt;1&gt;" in page
    assert "color:#c62828" in page  # Failed in red
    assert "a &amp; b" in page
    assert page.count("<tr>") == 2  # header + one step


def test_change_key_ignores_growing_durations():
    a = {"status": "Running", "steps": [{"name": "s", "status": "Running", "start_time": T0}]}
    b = {"status": "Running", "steps": [{"name": "s", "status": "Running", "start_time": T0}]}
    assert change_key(a) == change_key(b)
    b["steps"][0]["status"] = "Finished"
    assert change_key(a) != change_key(b)


def test_collect_reads_run_status_before_steps():
    run = FakeRun(_frames()[2:])
    data = collect(run)
    assert data["run_id"] == "run-1" and data["status"] == "Running"
    assert [s["status"] for s in data["steps"]] == ["Finished", "Running"]
    assert data["steps"][0]["is_reused"] is True


# ------------------------------------------------------------------ terminal
def test_terminal_prints_again_only_on_changes():
    run = FakeRun(_frames())
    details = RunDetails(run)
    details.refresh_seconds = 0
    out = io.StringIO()
    details._show_terminal(out)
    text = out.getvalue()
    assert run.reads == 4  # returned at the first terminal status
    assert text.count("PipelineRun run-1:") == 3  # frames 1 and 2 look the same
    final = text.split("PipelineRun run-1: Finished")[1]
    assert "prep   Finished  yes" in final
    assert "train  Finished" in final and "1m 10s" in final


def test_terminal_redraws_in_place_on_a_tty():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    run = FakeRun(_frames())
    details = RunDetails(run)
    details.refresh_seconds = 0
    out = Tty()
    details._show_terminal(out)
    assert run.reads == 4
    text = out.getvalue()
    assert "\x1b[" in text  # cursor movement / styling: redrawn, not appended
    assert "Finished" in text and "train" in text


def test_show_with_render_lib_passes_html_once():
    pages = []
    RunDetails(FakeRun(_frames()[3:])).show(render_lib=pages.append)
    assert len(pages) == 1 and pages[0].startswith('<div class="airflow-aml-run-details">')


# ------------------------------------------------------------------- jupyter
class _Widget:
    def __init__(self, value: str = ""):
        self.value = value


@pytest.fixture
def notebook(monkeypatch):
    shown: list = []
    widgets = types.SimpleNamespace(HTML=_Widget)
    state = {"widgets": widgets}

    def modules():
        return shown.append, (lambda html: ("HTML", html)), state["widgets"]

    monkeypatch.setattr(run_details, "_in_jupyter", lambda: True)
    monkeypatch.setattr(run_details, "_jupyter_modules", modules)
    return shown, state


def test_jupyter_live_widget_updates_in_the_background(notebook):
    shown, _ = notebook
    run = FakeRun(_frames())
    details = RunDetails(run)
    details.refresh_seconds = 0.01
    details.show()  # returns at once: the run is still going
    assert len(shown) == 1 and isinstance(shown[0], _Widget)
    assert details._thread is not None
    details._thread.join(timeout=10)
    assert not details._thread.is_alive()
    assert "PipelineRun run-1: Finished" in shown[0].value


def test_jupyter_without_ipywidgets_is_one_static_view(notebook):
    shown, state = notebook
    state["widgets"] = None
    details = RunDetails(FakeRun(_frames()))
    details.show()
    assert len(shown) == 1
    kind, page = shown[0]
    assert kind == "HTML" and "install ipywidgets" in page
    assert details._thread is None


def test_not_in_jupyter_without_ipython(monkeypatch):
    monkeypatch.delitem(__import__("sys").modules, "IPython", raising=False)
    assert run_details._in_jupyter() is False


# ------------------------------------------------------------------ real run
@pytest.mark.e2e
def test_show_follows_a_real_run_to_its_end(ws, make_source, experiment_name, capsys):
    from airflow_aml.core import Experiment
    from airflow_aml.pipeline.core import Pipeline, PipelineData
    from airflow_aml.pipeline.steps import PythonScriptStep

    src = make_source(
        {
            "first.py": "import sys, os, time\n"
            "time.sleep(1)\n"
            "os.makedirs(sys.argv[1], exist_ok=True)\n"
            "open(os.path.join(sys.argv[1], 'x.txt'), 'w').write('x')\n",
            "second.py": "import sys; print(open(sys.argv[1] + '/x.txt').read())\n",
        }
    )
    data = PipelineData("handoff", datastore=ws.get_default_datastore())
    _first = PythonScriptStep(
        "first.py", name="first", arguments=[data], outputs=[data], source_directory=str(src)
    )
    second = PythonScriptStep(
        "second.py", name="second", arguments=[data], inputs=[data], source_directory=str(src)
    )
    run = Experiment(ws, experiment_name).submit(Pipeline(ws, [second]))
    capsys.readouterr()

    RunDetails(run).show()

    assert run.get_status() in TERMINAL_STATUSES
    out = capsys.readouterr().out
    final = out.rsplit("PipelineRun ", 1)[1]
    assert final.startswith(f"{run.id}: Finished")
    lines = {line.split()[0]: line.split() for line in final.splitlines()[3:] if line.strip()}
    assert lines["first"][1] == "Finished" and lines["second"][1] == "Finished"
    assert out.count("PipelineRun ") >= 2  # it was shown while the run went, too
