"""The trigger a step defers to while another run holds its fingerprint's claim."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

from airflow_aml.artifacts.reuse_index import STALE_CLAIM_SECONDS, ReuseIndex
from airflow_aml.storage.folder import FolderStore
from airflow_aml.triggers.reuse_claim import ReuseClaimTrigger

FP = "ef" + "2" * 30
OWNER = {"dag_id": "exp", "run_id": "run-a", "task_id": "train", "step": "train"}


def _setup(tmp_path: Path) -> tuple[ReuseIndex, dict]:
    root = tmp_path / "store"
    index = ReuseIndex(FolderStore(root / "azureml" / ".reuse"))
    assert index.claim(FP, OWNER)
    return index, {"type": "local", "root": str(root)}


def _first_event(trigger: ReuseClaimTrigger) -> dict:
    async def first() -> dict:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("the trigger ended without an event")

    return asyncio.run(asyncio.wait_for(first(), timeout=30))


def test_fires_when_the_claim_is_released(tmp_path):
    index, definition = _setup(tmp_path)
    trigger = ReuseClaimTrigger(FP, "ds", definition, poll_interval=0.05, recheck_after=30)
    threading.Timer(0.3, index.release, args=(FP, OWNER)).start()
    start = time.monotonic()
    assert _first_event(trigger) == {"status": "released", "fingerprint": FP}
    assert 0.2 < time.monotonic() - start < 5


def test_fires_for_a_stale_claim_and_for_a_recheck(tmp_path):
    index, definition = _setup(tmp_path)
    trigger = ReuseClaimTrigger(FP, "ds", definition, poll_interval=0.05, recheck_after=0.3)
    assert _first_event(trigger)["status"] == "recheck"  # held and alive: ask again later
    claim = index.store.local_path(f"inflight/{FP}.json")
    old = time.time() - STALE_CLAIM_SECONDS - 5
    os.utime(claim, (old, old))  # its owner stopped heartbeating
    assert _first_event(trigger)["status"] == "stale"


def test_serialises_to_json_safe_kwargs(tmp_path):
    _, definition = _setup(tmp_path)
    path, kwargs = ReuseClaimTrigger(FP, "ds", definition).serialize()
    assert path == "airflow_aml.triggers.reuse_claim.ReuseClaimTrigger"
    assert ReuseClaimTrigger(**kwargs).serialize() == (path, kwargs)


def test_fires_when_the_claims_owner_process_is_dead(tmp_path, dead_owner):
    """Issue #10 item 5: a waiting step learns within a poll that the owner died."""
    root = tmp_path / "store"
    index = ReuseIndex(FolderStore(root / "azureml" / ".reuse"))
    assert index.claim(FP, {**OWNER, **dead_owner})
    definition = {"type": "local", "root": str(root)}
    trigger = ReuseClaimTrigger(FP, "ds", definition, poll_interval=0.05, recheck_after=30)
    start = time.monotonic()
    assert _first_event(trigger)["status"] == "owner died"
    assert time.monotonic() - start < 2


def test_an_unreadable_datastore_is_an_error_event_not_a_raise(tmp_path):
    """Issue #10 item 14: the step gets the reason (an inline trigger that raised would
    fail the task with no record)."""
    trigger = ReuseClaimTrigger(FP, "ds", {"type": "no-such-kind"}, poll_interval=0.05)
    event = _first_event(trigger)
    assert event["status"] == "error" and event["fingerprint"] == FP
    assert "no-such-kind" in event["error"]
