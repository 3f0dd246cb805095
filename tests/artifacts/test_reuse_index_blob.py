"""The reuse index on an Azure Blob container (a real Azurite): entries and claims
(exclusive creates under blob leases) behave as on a local folder."""

from __future__ import annotations

import threading
import time

import pytest

# The same entries and owners as the folder tests (tests/artifacts is on sys.path).
from test_reuse_index import FP, FP2, OWNER_A, OWNER_B, _entry

from airflow_aml.artifacts.reuse_index import STALE_CLAIM_SECONDS, ReuseIndex
from airflow_aml.storage import open_location


@pytest.fixture
def index(blob_container: str) -> ReuseIndex:
    return ReuseIndex(open_location(f"wasb://aml_blob@{blob_container}/azureml/.reuse"))


def test_record_lookup_latest_forget(index: ReuseIndex):
    assert index.lookup(FP) is None
    assert index.latest("exp", "train") is None
    first = _entry(FP)
    index.record(first)
    assert index.lookup(FP) == first
    assert index.latest("exp", "train") == first
    assert index.store.exists(f"index/ab/{FP}.json")

    second = _entry(FP2, run_id="run-b")
    index.record(second)
    assert index.lookup(FP) == first
    assert index.lookup(FP2) == second
    assert index.latest("exp", "train") == second  # the step's last entry

    index.forget(FP)
    assert index.lookup(FP) is None
    assert index.lookup(FP2) == second
    assert index.latest("exp", "train") == second


def test_snapshot_manifests_are_kept_once(index: ReuseIndex):
    index.save_manifest("d1", {"a.py": "h1", "b.py": "h2"})
    index.save_manifest("d1", {"other": "x"})  # first write wins
    index.save_manifest("d2", {"a.py": "h1", "b.py": "h3", "c.py": "h4"})
    assert index.manifest("d1") == {"a.py": "h1", "b.py": "h2"}
    assert index.source_diff("d1", "d2") == ["b.py", "c.py (added)"]
    assert index.manifest("missing") is None


def test_exactly_one_of_eight_threads_wins_the_claim(index: ReuseIndex):
    barrier = threading.Barrier(8)
    results: dict[int, bool] = {}
    errors: list[BaseException] = []

    def attempt(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = index.claim(FP, {**OWNER_A, "run_id": f"run-{i}"})
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert len(results) == 8
    winners = [i for i, won in results.items() if won]
    assert len(winners) == 1
    current = index.claim_owner(FP)
    assert current is not None
    owner, age = current
    assert owner["run_id"] == f"run-{winners[0]}"
    assert 0 <= age < 10
    # the claim is an object of the index; its lock blob is not
    assert [o.key for o in index.store.list("inflight/")] == [f"inflight/{FP}.json"]


def test_release_only_by_the_owner(index: ReuseIndex):
    assert index.claim(FP, OWNER_A)
    assert not index.claim(FP, OWNER_B)
    index.release(FP, OWNER_B)  # not B's claim: stays
    current = index.claim_owner(FP)
    assert current is not None and current[0]["run_id"] == "run-a"
    # the same step of the same run (another try) is the same owner
    index.release(FP, {**OWNER_A, "step": "renamed", "try": 2})
    assert index.claim_owner(FP) is None
    assert index.claim(FP, OWNER_B)
    assert index.claim_owner(FP)[0]["run_id"] == "run-b"  # type: ignore[index]
    index.release(FP2, OWNER_B)  # nothing claimed there: no error
    assert index.claim_owner(FP2) is None


def test_break_claim_removes_only_the_claim_it_judged(index: ReuseIndex):
    assert index.claim(FP, OWNER_A)
    judged = index.claim_owner(FP)
    assert judged is not None
    # the owner released and someone else claimed meanwhile
    index.release(FP, OWNER_A)
    assert index.claim(FP, OWNER_B)
    index.break_claim(FP, judged[0])
    current = index.claim_owner(FP)
    assert current is not None and current[0]["run_id"] == "run-b"
    # told about the current claim, it breaks it
    index.break_claim(FP, current[0])
    assert index.claim_owner(FP) is None
    index.break_claim(FP, current[0])  # nothing left: no error
    assert index.claim(FP, OWNER_A)


def test_heartbeat_lowers_the_age_of_the_claim(index: ReuseIndex):
    assert index.claim(FP, OWNER_A)
    time.sleep(2.2)  # blob mtimes have one-second resolution
    stale = index.claim_owner(FP)
    assert stale is not None
    assert stale[1] >= 1.0
    index.heartbeat(FP)
    fresh = index.claim_owner(FP)
    assert fresh is not None
    assert fresh[1] < stale[1] - 0.5
    assert fresh[0] == stale[0]  # the owner is unchanged
    index.heartbeat(FP2)  # no claim: nothing happens
    assert index.claim_owner(FP2) is None


def test_corrupt_entries_and_claims_are_misses_and_abandoned(index: ReuseIndex):
    index.record(_entry(FP))
    index.record(_entry(FP2))
    index.store.write_bytes(f"index/ab/{FP}.json", b"\xff\xfe")
    assert index.lookup(FP) is None
    assert index.lookup(FP2) == _entry(FP2)
    assert any(f"index/ab/{FP}.json is corrupt" in p for p in index.problems)
    assert index.claim(FP, OWNER_A)
    index.store.write_bytes(f"inflight/{FP}.json", b"\xff\xfe")
    owner, age = index.claim_owner(FP)
    assert owner == {} and age > STALE_CLAIM_SECONDS
    index.break_claim(FP, owner)
    assert index.claim(FP, OWNER_B)
