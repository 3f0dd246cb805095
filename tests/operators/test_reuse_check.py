"""The reuse check a step operator makes before any compute starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_aml.artifacts.reuse_index import ReuseIndex
from airflow_aml.artifacts.store import ArtifactStore
from airflow_aml.operators.reuse_check import ReuseCheck, forced_miss
from airflow_aml.spec import StepSpec
from airflow_aml.storage.folder import FolderStore

SPEC = StepSpec(
    name="train",
    task_id="train",
    kind="PythonScriptStep",
    script_name="train.py",
    source_directory="/nowhere",
    source_digest="d1",
)


def _check(tmp_path: Path, run_id: str, spec: StepSpec = SPEC) -> ReuseCheck:
    root = tmp_path / "store"
    store = ArtifactStore({"ds": {"type": "local", "root": str(root)}})
    index = ReuseIndex(FolderStore(root / "azureml" / ".reuse"))
    owner = {"dag_id": "exp", "run_id": run_id, "task_id": spec.task_id, "step": spec.name}
    return ReuseCheck(spec, index, store, owner)


def test_first_run_claims_and_explains(tmp_path):
    check = _check(tmp_path, "run-a")
    decision = check.decide(check.components({}, {}), options={}, owner_finished=lambda c: False)
    assert decision.claimed and decision.hit is None and decision.waiting_for is None
    assert decision.reasons == ["no earlier execution of this step"]


def test_a_live_claim_makes_the_step_wait_and_a_finished_owner_is_taken_over(tmp_path):
    first = _check(tmp_path, "run-a")
    components = first.components({}, {})
    assert first.decide(components, options={}, owner_finished=lambda c: False).claimed
    second = _check(tmp_path, "run-b")
    waiting = second.decide(components, options={}, owner_finished=lambda c: False)
    assert waiting.waiting_for is not None and waiting.waiting_for["run_id"] == "run-a"
    assert not waiting.claimed
    # run-a's task ended without releasing (killed): its claim is abandoned.
    taken = second.decide(components, options={}, owner_finished=lambda c: True)
    assert taken.claimed and taken.waiting_for is None
    assert second.index.claim_owner(taken.fingerprint)[0]["run_id"] == "run-b"


@pytest.mark.parametrize(
    ("spec_changes", "options", "reason"),
    [
        ({"allow_reuse": False}, {}, "allow_reuse=False"),
        ({}, {"allow_reuse": False}, "allow_reuse=False (set for this run)"),
        ({}, {"allow_reuse": {"train": False}}, "allow_reuse=False (set for this run)"),
        ({}, {"allow_reuse": {"other": False}}, None),
        ({}, {"regenerate_outputs": True}, "regenerate_outputs"),
    ],
)
def test_forced_misses(spec_changes, options, reason):
    from dataclasses import replace

    assert forced_miss(replace(SPEC, **spec_changes), options) == reason


def test_a_claim_of_a_dead_process_is_taken_over_at_once(tmp_path, dead_owner):
    """Issue #10 item 5: a killed run's claim (its task still 'running' in the DB) blocks
    nobody: its owner process is known to be dead, so the claim is broken at once."""
    from airflow_aml._processes import this_process

    first = _check(tmp_path, "run-a")
    first.owner.update(dead_owner)
    components = first.components({}, {})
    assert first.decide(components, options={}, owner_finished=lambda c: False).claimed
    second = _check(tmp_path, "run-b")
    second.owner.update(this_process())
    taken = second.decide(components, options={}, owner_finished=lambda c: False)
    assert taken.claimed and taken.waiting_for is None
    # ...while a live owner's claim (this process) is waited for.
    third = _check(tmp_path, "run-c")
    waiting = third.decide(components, options={}, owner_finished=lambda c: False)
    assert waiting.waiting_for is not None and waiting.waiting_for["run_id"] == "run-b"


def test_a_check_that_fails_after_claiming_releases_its_claim(tmp_path):
    """Issue #10 item 5: nobody must wait for a claim whose check died."""

    class FailingIndex(ReuseIndex):
        def latest(self, dag_id, task_id):  # the store fails after the claim was taken
            raise OSError("the datastore went away")

    check = _check(tmp_path, "run-a")
    check.index = FailingIndex(check.index.store)
    components = check.components({}, {})
    with pytest.raises(OSError, match="went away"):
        check.decide(components, options={}, owner_finished=lambda c: False)
    from airflow_aml.artifacts.fingerprint import fingerprint

    assert check.index.claim_owner(fingerprint(components)) is None
