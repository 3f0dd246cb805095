"""The trigger a step defers to while another run computes the same fingerprint.

A step whose fingerprint is claimed by a live run waits for that run's
result instead of computing it twice. It waits deferred, so it holds no
worker slot: this trigger watches the claim in the reuse index and fires
when the claim is released, when its owner's process is known to be dead,
when its heartbeat goes stale (its owner died elsewhere), or after
``recheck_after`` seconds so that the step can ask Airflow whether the
owner's task has ended meanwhile. The step then decides again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_aml._processes import owner_alive
from airflow_aml.artifacts.reuse_index import STALE_CLAIM_SECONDS, ReuseIndex
from airflow_aml.artifacts.store import ARTIFACT_ROOT
from airflow_aml.storage.location import store_for_datastore

__all__ = ["ReuseClaimTrigger"]


class ReuseClaimTrigger(BaseTrigger):
    """Fires once the claim on ``fingerprint`` is gone, stale, or due for a re-check.

    :param fingerprint: the claimed fingerprint.
    :param datastore: name of the pipeline's artifact datastore.
    :param definition: that datastore's definition (names and connection ids only).
    :param poll_interval: seconds between looks at the claim.
    :param recheck_after: seconds after which to fire anyway (the step re-checks the owner).
    """

    def __init__(
        self,
        fingerprint: str,
        datastore: str,
        definition: dict[str, Any],
        poll_interval: float = 1.0,
        recheck_after: float = 30.0,
    ):
        super().__init__()
        self.fingerprint = fingerprint
        self.datastore = datastore
        self.definition = definition
        self.poll_interval = poll_interval
        self.recheck_after = recheck_after

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and keyword arguments (JSON-safe; no secrets)."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "fingerprint": self.fingerprint,
                "datastore": self.datastore,
                "definition": self.definition,
                "poll_interval": self.poll_interval,
                "recheck_after": self.recheck_after,
            },
        )

    def _state(self, index: ReuseIndex) -> str | None:
        held = index.claim_owner(self.fingerprint)
        if held is None:
            return "released"
        if held[1] > STALE_CLAIM_SECONDS:
            return "stale"
        if owner_alive(held[0]) is False:
            return "owner died"
        return None

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll the claim until it is gone, stale, its owner died, or ``recheck_after``
        has passed. An error (the datastore cannot be read) is an event too, never a
        raise: the step then fails with that reason in its record."""
        try:
            store = store_for_datastore(self.datastore, self.definition)
            index = ReuseIndex(store.child(f"{ARTIFACT_ROOT}/.reuse"))
            deadline = time.monotonic() + self.recheck_after
            while True:
                state = await asyncio.to_thread(self._state, index)
                if state is None and time.monotonic() >= deadline:
                    state = "recheck"
                if state is not None:
                    break
                await asyncio.sleep(self.poll_interval)
        except Exception as exc:
            yield TriggerEvent(
                {
                    "status": "error",
                    "fingerprint": self.fingerprint,
                    "error": f"{type(exc).__name__}: {exc}",
                }
            )
            return
        yield TriggerEvent({"status": state, "fingerprint": self.fingerprint})
