"""The reuse index: entries, snapshot manifests and claims, under real concurrency."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_aml.artifacts.reuse_index import STALE_CLAIM_SECONDS, ReuseIndex
from airflow_aml.storage.folder import FolderStore

FP = "ab" + "0" * 30
FP2 = "cd" + "1" * 30
OWNER_A = {"dag_id": "exp", "run_id": "run-a", "task_id": "train", "step": "train"}
OWNER_B = {"dag_id": "exp", "run_id": "run-b", "task_id": "train", "step": "train"}


@pytest.fixture
def index(tmp_path: Path) -> ReuseIndex:
    return ReuseIndex(FolderStore(tmp_path / "azureml" / ".reuse"))


def _root(index: ReuseIndex) -> Path:
    return index.store.local_path("")


def _entry(fp: str, **extra: Any) -> dict[str, Any]:
    return {
        "fingerprint": fp,
        "dag_id": "exp",
        "task_id": "train",
        "run_id": "run-a",
        "step": "train",
        "components": {"source": "s1", "parameters": {"n": 1}},
        "outputs": {"model": {"datastore": "store", "path": f"azureml/run-a/train/{fp}"}},
        "created": 1700000000.0,
        **extra,
    }


def _all_files(root: Path) -> list[Path]:
    """Every file but the lock files (``.aml-locks/``), which stay by design."""
    return sorted(p for p in root.rglob("*") if p.is_file() and ".aml-locks" not in p.parts)


# ----------------------------------------------------------------------- entries
def test_record_lookup_latest_forget_round_trip(index: ReuseIndex):
    assert index.lookup(FP) is None
    assert index.latest("exp", "train") is None

    first = _entry(FP)
    index.record(first)
    assert index.lookup(FP) == first
    assert index.latest("exp", "train") == first
    assert (_root(index) / "index" / "ab" / f"{FP}.json").is_file()
    assert (_root(index) / "latest" / "exp" / "train.json").is_file()

    second = _entry(FP2, run_id="run-b")
    index.record(second)
    assert index.lookup(FP) == first
    assert index.lookup(FP2) == second
    assert index.latest("exp", "train") == second
    assert index.latest("exp", "other") is None
    assert index.latest("other", "train") is None

    index.forget(FP)
    assert index.lookup(FP) is None
    assert index.lookup(FP2) == second
    assert index.latest("exp", "train") == second  # latest explains misses; kept
    index.forget(FP)  # forgetting twice is fine
    index.forget("ee" + "9" * 30)  # as is forgetting what was never recorded
    assert index.lookup(FP2) == second


def test_recording_a_fingerprint_again_replaces_its_entry(index: ReuseIndex):
    index.record(_entry(FP, run_id="run-a"))
    index.record(_entry(FP, run_id="run-b"))
    assert index.lookup(FP) == _entry(FP, run_id="run-b")
    assert [p.name for p in _all_files(_root(index) / "index")] == [f"{FP}.json"]


def test_a_corrupt_entry_reads_as_missing(index: ReuseIndex):
    index.record(_entry(FP))
    (_root(index) / "index" / "ab" / f"{FP}.json").write_text("{not json", encoding="utf-8")
    assert index.lookup(FP) is None


@pytest.mark.parametrize("data", [b"\xff\xfe", b'{"fingerprint": "ab', b"[1, 2]"], ids=str)
def test_a_corrupt_entry_is_a_miss_that_names_it(index: ReuseIndex, data: bytes):
    # Non-UTF-8 bytes used to raise UnicodeDecodeError: the step failed on every run.
    index.record(_entry(FP))
    index.record(_entry(FP2))
    (_root(index) / "index" / "ab" / f"{FP}.json").write_bytes(data)
    (_root(index) / "latest" / "exp" / "train.json").write_bytes(data)
    assert index.lookup(FP) is None
    assert index.latest("exp", "train") is None
    assert index.lookup(FP2) == _entry(FP2)  # the others are unaffected
    assert len(index.problems) == 2
    assert index.problems[0].startswith(f"index entry index/ab/{FP}.json is corrupt (")
    assert index.problems[0].endswith("): read as a miss")
    assert "latest/exp/train.json is corrupt" in index.problems[1]
    index.record(_entry(FP))  # the next success replaces it
    assert index.lookup(FP) == _entry(FP)


def test_a_corrupt_claim_is_abandoned_not_waited_for(index: ReuseIndex):
    assert index.claim(FP, OWNER_A)
    (_root(index) / "inflight" / f"{FP}.json").write_bytes(b"\xff\xfe")
    owner, age = index.claim_owner(FP)
    assert owner == {} and age > STALE_CLAIM_SECONDS
    index.break_claim(FP, owner)
    assert index.claim(FP, OWNER_B)
    assert index.claim_owner(FP)[0]["run_id"] == "run-b"


def test_a_corrupt_snapshot_manifest_reads_as_missing(index: ReuseIndex):
    index.save_manifest("d1", {"a.py": "h1"})
    (_root(index) / "snapshots" / "d1.json").write_bytes(b"\xff\xfe")
    assert index.manifest("d1") is None
    assert index.source_diff("d1", "d2") == []


# --------------------------------------------------------------------- manifests
def test_save_manifest_and_manifest(index: ReuseIndex):
    assert index.manifest("d1") is None
    files = {"train.py": "h1", "lib/util.py": "h2"}
    index.save_manifest("d1", files)
    assert index.manifest("d1") == files
    # Kept once per digest: a digest names one content, so a second save changes nothing.
    index.save_manifest("d1", {"other.py": "h9"})
    assert index.manifest("d1") == files


def test_source_diff_names_added_removed_and_changed_files(index: ReuseIndex):
    index.save_manifest("old", {"a.py": "1", "b.py": "2", "c.py": "3", "same.py": "4"})
    index.save_manifest("new", {"a.py": "1x", "b.py": "2", "d.py": "5", "same.py": "4"})
    assert index.source_diff("old", "new") == ["a.py", "c.py (removed)", "d.py (added)"]
    assert index.source_diff("new", "old") == ["a.py", "c.py (added)", "d.py (removed)"]
    assert index.source_diff("old", "old") == []
    # An unknown snapshot gives no file names (the caller says "files changed").
    assert index.source_diff("old", "unknown") == []
    assert index.source_diff("unknown", "new") == []


# ------------------------------------------------------------------------ claims
def test_claim_is_exclusive_and_records_its_owner(index: ReuseIndex):
    assert index.claim_owner(FP) is None
    before = time.time()
    assert index.claim(FP, OWNER_A) is True
    assert index.claim(FP, OWNER_B) is False
    assert index.claim(FP, OWNER_A) is False  # not re-entrant either
    held = index.claim_owner(FP)
    assert held is not None
    owner, age = held
    assert {k: v for k, v in owner.items() if k != "claimed_at"} == OWNER_A
    assert before <= owner["claimed_at"] <= time.time()
    assert 0 <= age < 5
    # Claims are per fingerprint.
    assert index.claim(FP2, OWNER_B) is True


def test_claim_race_between_threads_has_one_winner(index: ReuseIndex):
    n = 24
    barrier = threading.Barrier(n)
    results: dict[int, bool] = {}

    def contender(i: int) -> None:
        barrier.wait()
        results[i] = index.claim(FP, {**OWNER_A, "run_id": f"run-{i}"})

    threads = [threading.Thread(target=contender, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [i for i, won in results.items() if won]
    assert len(results) == n
    assert len(winners) == 1
    held = index.claim_owner(FP)
    assert held is not None
    assert held[0]["run_id"] == f"run-{winners[0]}"


_CLAIM_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from airflow_aml.artifacts.reuse_index import ReuseIndex
    from airflow_aml.storage.folder import FolderStore

    root, fp, i, go = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])
    index = ReuseIndex(FolderStore(Path(root)))
    Path(str(go) + "." + i).touch()  # ready
    while not go.exists():
        time.sleep(0.0005)
    won = index.claim(fp, {"dag_id": "exp", "run_id": "run-" + i, "task_id": "train"})
    print("won" if won else "lost")
    """
)


def test_claim_race_between_processes_has_one_winner(index: ReuseIndex, tmp_path: Path):
    n = 8
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CLAIM_SCRIPT, str(_root(index)), FP, str(i), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(n)
    ]
    deadline = time.time() + 120
    while not all(Path(f"{go}.{i}").exists() for i in range(n)):
        assert time.time() < deadline, "contenders did not start"
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        time.sleep(0.01)
    go.touch()
    outcomes = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outcomes.append(out.strip())
    winners = [i for i, o in enumerate(outcomes) if o == "won"]
    assert sorted(set(outcomes)) == ["lost", "won"]
    assert len(winners) == 1
    held = index.claim_owner(FP)
    assert held is not None
    assert held[0]["run_id"] == f"run-{winners[0]}"
    assert _all_files(_root(index)) == [_root(index) / "inflight" / f"{FP}.json"]


def test_release_only_by_the_owner(index: ReuseIndex):
    index.release(FP, OWNER_A)  # nothing claimed: nothing to do
    assert index.claim(FP, OWNER_A)
    index.release(FP, OWNER_B)
    held = index.claim_owner(FP)
    assert held is not None and held[0]["run_id"] == "run-a"
    index.release(FP, {**OWNER_A, "task_id": "other"})
    assert index.claim_owner(FP) is not None
    index.release(FP, OWNER_A)
    assert index.claim_owner(FP) is None
    assert index.claim(FP, OWNER_B)  # free again


def test_release_by_a_step_of_another_dag_with_the_same_run_id_keeps_the_claim(
    index: ReuseIndex,
):
    run_id = "scheduled__2025-01-01T00:00:00+00:00"
    mine = {"dag_id": "exp_one", "run_id": run_id, "task_id": "train", "step": "train"}
    other = {"dag_id": "exp_two", "run_id": run_id, "task_id": "train", "step": "train"}
    assert index.claim(FP, mine)
    index.release(FP, other)
    held = index.claim_owner(FP)
    assert held is not None
    assert held[0]["dag_id"] == "exp_one"


def test_heartbeat_updates_the_age_of_the_claim(index: ReuseIndex):
    assert index.claim(FP, OWNER_A)
    path = _root(index) / "inflight" / f"{FP}.json"
    old = time.time() - 1000
    os.utime(path, (old, old))
    held = index.claim_owner(FP)
    assert held is not None
    assert 1000 <= held[1] < 1010
    assert held[1] > STALE_CLAIM_SECONDS
    index.heartbeat(FP)
    held = index.claim_owner(FP)
    assert held is not None
    assert 0 <= held[1] < 5
    assert held[0]["run_id"] == "run-a"  # content untouched


def test_heartbeat_without_a_claim_creates_nothing(index: ReuseIndex):
    index.heartbeat(FP)
    assert index.claim_owner(FP) is None
    assert not (_root(index) / "inflight" / f"{FP}.json").exists()


def test_break_claim_removes_only_the_claim_it_was_told_about(index: ReuseIndex):
    assert index.claim(FP, OWNER_A)
    held = index.claim_owner(FP)
    assert held is not None
    judged = held[0]
    # Something else than the judged claim: left alone.
    index.break_claim(FP, OWNER_A)  # without claimed_at: not the same claim
    index.break_claim(FP, {**judged, "run_id": "run-b"})
    index.break_claim(FP, {})
    held = index.claim_owner(FP)
    assert held is not None and held[0] == judged
    # The judged claim: removed.
    index.break_claim(FP, judged)
    assert index.claim_owner(FP) is None
    # A claim taken after the judgement survives a late break of the old one.
    assert index.claim(FP, OWNER_B)
    index.break_claim(FP, judged)
    held = index.claim_owner(FP)
    assert held is not None and held[0]["run_id"] == "run-b"
    index.break_claim(FP2, judged)  # no claim at all: nothing happens
    assert index.claim_owner(FP2) is None


def _takeover_round(index: ReuseIndex, fp: str, n: int) -> list[int]:
    """n contenders judge the same claim abandoned, break it and claim anew; who holds it."""
    assert index.claim(fp, {"dag_id": "exp", "run_id": "dead", "task_id": "train"})
    held = index.claim_owner(fp)
    assert held is not None
    abandoned = held[0]
    barrier = threading.Barrier(n)
    won: list[int] = []

    def contender(i: int) -> None:
        barrier.wait()
        index.break_claim(fp, abandoned)
        if index.claim(fp, {"dag_id": "exp", "run_id": f"run-{i}", "task_id": "train"}):
            won.append(i)

    threads = [threading.Thread(target=contender, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return won


def test_racing_takeovers_of_an_abandoned_claim_leave_one_owner(index: ReuseIndex):
    # What the reuse-check sensor does when a claim is abandoned: break it, claim anew.
    for rnd in range(300):
        won = _takeover_round(index, f"{rnd:04d}" + "f" * 28, 8)
        assert len(won) == 1, f"round {rnd}: {len(won)} runs hold the claim"


# ------------------------------------------------------------ concurrent records
_RECORD_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from airflow_aml.artifacts.reuse_index import ReuseIndex
    from airflow_aml.storage.folder import FolderStore

    root, worker, count, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    index = ReuseIndex(FolderStore(Path(root)))
    Path(str(go) + "." + str(worker)).touch()
    while not go.exists():
        time.sleep(0.0005)
    for i in range(count):
        fp = "%02x%030x" % (i % 7, worker * 100000 + i)
        index.record({
            "fingerprint": fp,
            "dag_id": "exp",
            "task_id": "shared",
            "run_id": "run-%d" % worker,
            "step": "s",
            "i": i,
            "pad": "x" * 2000,
        })
    """
)


def test_concurrent_records_from_several_processes_lose_nothing(index: ReuseIndex, tmp_path):
    workers, count = 4, 60
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RECORD_SCRIPT, str(_root(index)), str(w), str(count), str(go)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    deadline = time.time() + 120
    while not all(Path(f"{go}.{w}").exists() for w in range(workers)):
        assert time.time() < deadline, "writers did not start"
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        time.sleep(0.01)
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err

    expected = {}
    for w in range(workers):
        for i in range(count):
            fp = f"{i % 7:02x}{w * 100000 + i:030x}"
            expected[fp] = {
                "fingerprint": fp,
                "dag_id": "exp",
                "task_id": "shared",
                "run_id": f"run-{w}",
                "step": "s",
                "i": i,
                "pad": "x" * 2000,
            }
    assert len(expected) == workers * count
    for fp, entry in expected.items():
        assert index.lookup(fp) == entry

    # Only whole entries are left: no temp files, every file valid JSON.
    files = _all_files(_root(index))
    index_files = [p for p in files if p.parent.parent == _root(index) / "index"]
    assert sorted(p.stem for p in index_files) == sorted(expected)
    assert all(p.parent.name == p.stem[:2] for p in index_files)
    assert files == sorted([*index_files, _root(index) / "latest" / "exp" / "shared.json"])
    for p in files:
        assert not p.name.startswith(".")
        json.loads(p.read_text(encoding="utf-8"))
    # The step's latest entry is one of the last entries written by some writer.
    latest = index.latest("exp", "shared")
    assert latest is not None
    assert latest["i"] == count - 1
    assert latest == expected[latest["fingerprint"]]
