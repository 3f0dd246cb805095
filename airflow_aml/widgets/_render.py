"""Pure rendering of run details: widget data -> table rows -> text or HTML.

Nothing here reads a run; :func:`collect` does that, the rest are pure
functions of its result, so they are testable with plain dicts.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "COLUMNS",
    "title",
    "collect",
    "parse_time",
    "format_duration",
    "table_rows",
    "change_key",
    "render_text",
    "render_html",
]

COLUMNS = ("Step", "Status", "Reused", "Started (UTC)", "Duration")


def parse_time(value: Any) -> datetime | None:
    """A timestamp from Airflow (datetime, or ISO text from SQLite or the REST API), in UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _steps_of(run: Any) -> list[Any]:
    get_steps = getattr(run, "get_steps", None)
    return list(get_steps()) if callable(get_steps) else [run]


def collect(run: Any) -> dict[str, Any]:
    """Read a run (a PipelineRun, or a single StepRun) into widget data.

    The run's status is read before its steps: when it is terminal, the step
    statuses read after it are final too.
    """
    status = run.get_status()
    details = run.get_details() if hasattr(run, "get_details") else {}
    steps = []
    for step in _steps_of(run):
        info = step.get_details()
        steps.append(
            {
                "name": step.name,
                "status": info.get("status") or step.get_status(),
                "is_reused": bool(getattr(step, "is_reused", False)),
                "start_time": info.get("startTimeUtc"),
                "end_time": info.get("endTimeUtc"),
            }
        )
    return {
        "kind": "PipelineRun" if callable(getattr(run, "get_steps", None)) else "StepRun",
        "run_id": getattr(run, "id", ""),
        "status": status,
        "start_time": details.get("startTimeUtc"),
        "end_time": details.get("endTimeUtc"),
        "steps": steps,
    }


def format_duration(seconds: float | None) -> str:
    """``"42s"``, ``"3m 05s"``, ``"1h 02m 03s"``; empty for None."""
    if seconds is None:
        return ""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def table_rows(data: dict[str, Any], now: datetime | None = None) -> list[tuple[str, ...]]:
    """One row per step: step, status, reused, started (UTC), duration.

    A step still running counts its duration up to ``now``.
    """
    now = now or datetime.now(UTC)
    rows: list[tuple[str, ...]] = []
    for step in data.get("steps", []):
        start, end = parse_time(step.get("start_time")), parse_time(step.get("end_time"))
        duration = None if start is None else ((end or now) - start).total_seconds()
        rows.append(
            (
                str(step.get("name", "")),
                str(step.get("status", "")),
                "yes" if step.get("is_reused") else "",
                start.strftime("%Y-%m-%d %H:%M:%S") if start else "",
                format_duration(duration),
            )
        )
    return rows


def change_key(data: dict[str, Any]) -> tuple[Any, ...]:
    """What must change for a non-redrawing display to print the table again
    (statuses, reuse and start times; not the durations that grow every second)."""
    steps = tuple(
        (s.get("name"), s.get("status"), bool(s.get("is_reused")), str(s.get("start_time")))
        for s in data.get("steps", [])
    )
    return (data.get("status"), steps)


def title(data: dict[str, Any]) -> str:
    """The heading: run kind, id and status."""
    return f"{data.get('kind', 'PipelineRun')} {data.get('run_id', '')}: {data.get('status', '')}"


def render_text(data: dict[str, Any], now: datetime | None = None) -> str:
    """The run as a plain-text table with a title line."""
    rows = table_rows(data, now)
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(COLUMNS)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [title(data), line(COLUMNS), line(tuple("-" * w for w in widths))]
    out += [line(r) for r in rows]
    return "\n".join(out) + "\n"


_CSS = "border-collapse:collapse;font-family:monospace;font-size:13px;margin:4px 0;text-align:left"
_COLOURS = {
    "Finished": "#2e7d32",
    "Failed": "#c62828",
    "Canceled": "#6d6d6d",
    "Running": "#1565c0",
    "Queued": "#8d6e00",
}


def render_html(data: dict[str, Any], now: datetime | None = None, note: str = "") -> str:
    """The run as an HTML table (every value escaped); ``note`` is shown under it."""
    esc = html.escape
    head = "".join(f'<th style="padding:2px 10px">{esc(c)}</th>' for c in COLUMNS)
    body = []
    for row in table_rows(data, now):
        cells = []
        for i, cell in enumerate(row):
            style = "padding:2px 10px"
            if i == 1 and cell in _COLOURS:
                style += f";color:{_COLOURS[cell]};font-weight:bold"
            cells.append(f'<td style="{style}">{esc(cell)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    parts = [
        '<div class="airflow-aml-run-details">',
        f"<div><b>{esc(title(data))}</b></div>",
        f'<table style="{_CSS}"><thead><tr>{head}</tr></thead>',
        f"<tbody>{''.join(body)}</tbody></table>",
    ]
    if note:
        parts.append(f'<div style="font-size:12px;color:#666">{esc(note)}</div>')
    parts.append("</div>")
    return "".join(parts)
