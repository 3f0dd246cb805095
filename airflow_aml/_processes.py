"""Who owns a claim, a work folder or a run: processes named so that a dead owner is known.

A process is named by the machine it runs on and its pid *and* its start time:
pids are reused, start times (clock ticks since boot) are not, for one boot.
"The machine" is this kernel's boot plus this pid namespace (two containers on
one host share the boot id, not the pid namespace), plus the host name for
people reading it. Whether such an owner is alive is known for certain only on
the same machine; elsewhere :func:`owner_alive` answers None (unknown) and the
caller falls back to heartbeats and Airflow's task states.

Also the Linux parent-death signal, so that a step process dies with the
process that started it.
"""

from __future__ import annotations

import functools
import os
import signal
import sys

TYPE_CHECKING = False  # not typing's: importing typing costs a step process ~4 ms
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "pid_alive",
    "process_start",
    "machine_key",
    "this_process",
    "owner_alive",
    "set_parent_death_signal",
]

_PR_SET_PDEATHSIG = 1


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting to be reaped does not)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def process_start(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot), or None (gone, or no ``/proc``)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    try:
        return int(fields[19])  # field 22 of proc(5); fields[0] is field 3
    except (IndexError, ValueError):
        return None


@functools.cache
def machine_key() -> str:
    """This kernel boot and pid namespace (pids are comparable only within one)."""
    import socket  # lazy: step processes import this module and rarely need it

    parts = [socket.gethostname()]
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            parts.append(fh.read().strip())
        parts.append(os.readlink("/proc/self/ns/pid"))
    except OSError:
        parts.append(f"no-proc-{os.getpid()}")  # never equal to another process's key
    return "/".join(parts)


def this_process() -> dict[str, Any]:
    """This process as an owner: ``{"machine", "pid", "pid_start"}`` (JSON-safe)."""
    pid = os.getpid()
    return {"machine": machine_key(), "pid": pid, "pid_start": process_start(pid)}


def owner_alive(owner: dict[str, Any]) -> bool | None:
    """Whether the process that ``owner`` (a :func:`this_process` dict) names still runs.

    True or False only when it ran on this machine (same boot, same pid
    namespace); None when that cannot be known from here.
    """
    if owner.get("machine") != machine_key():
        return None
    try:
        pid = int(owner["pid"])
    except (KeyError, TypeError, ValueError):
        return None
    if not pid_alive(pid):
        return False
    started = owner.get("pid_start")
    return started is None or process_start(pid) == started


def set_parent_death_signal(sig: int) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent dies; True if set.

    The signal is tied to the parent *thread* that started this process. Not
    available outside Linux (False).
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes  # lazy: only step processes need it

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # libc's, already loaded
    except (OSError, AttributeError):
        return False
    return int(prctl(_PR_SET_PDEATHSIG, int(signal.Signals(sig)), 0, 0, 0)) == 0
