"""Cancellation inside one worker process (used by the embedded runner).

The runner's SIGTERM handler calls :func:`request_cancel`: scripts started by
step operators in this process are stopped, and steps not yet started skip.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading

__all__ = ["request_cancel", "cancel_requested", "track", "untrack", "reset"]

_lock = threading.Lock()
_procs: set[subprocess.Popen[bytes]] = set()
_requested = threading.Event()


def track(proc: subprocess.Popen[bytes]) -> None:
    """Remember a running script so a cancel can stop it."""
    with _lock:
        _procs.add(proc)
    if _requested.is_set():
        request_cancel()


def untrack(proc: subprocess.Popen[bytes]) -> None:
    """Forget a finished script."""
    with _lock:
        _procs.discard(proc)


def cancel_requested() -> bool:
    """Whether this process was asked to cancel its run."""
    return _requested.is_set()


def request_cancel() -> None:
    """Mark the run canceled and terminate every tracked script's process group."""
    _requested.set()
    with _lock:
        procs = list(_procs)
    for p in procs:
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)


def reset() -> None:
    """Forget a cancel request (a warm runner process moves on to its next run)."""
    _requested.clear()
