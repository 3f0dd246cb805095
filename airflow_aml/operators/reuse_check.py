"""The reuse check a step operator makes before any compute starts.

It computes the step's fingerprint once (:mod:`airflow_aml.artifacts.fingerprint`)
and looks it up in the reuse index:

* **hit** (an intact, fresh enough result exists): the step reuses those outputs;
* **in flight** (another run holds the claim on this fingerprint and is alive):
  the step waits for it (the operator defers), then looks again;
* **miss**: the fingerprint is claimed, the miss is explained component by
  component, and the step runs.

Nothing here talks to Airflow: the operator passes in what it read from the
task context (parameter values, upstream output references) and a function
that tells whether a claim's owner task has finished.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from airflow_aml.artifacts.fingerprint import explain_miss, fingerprint, step_components
from airflow_aml.artifacts.reuse_index import (
    HEARTBEAT_SECONDS,
    ReuseIndex,
    claim_abandoned,
    same_owner,
)
from airflow_aml.artifacts.snapshot import frozen_manifest, take_snapshot
from airflow_aml.artifacts.store import ArtifactReference, ArtifactStore
from airflow_aml.exceptions import ValidationError
from airflow_aml.spec import InputSpec, StepSpec

__all__ = ["ReuseCheck", "ReuseDecision", "ClaimHeartbeat", "forced_miss"]


@dataclass
class ReuseDecision:
    """What the reuse check decided for one try of a step."""

    fingerprint: str
    components: dict[str, Any]
    hit: dict[str, Any] | None = None
    reasons: list[str] = field(default_factory=list)
    claimed: bool = False
    #: The claim of another run computing this fingerprint now (the step waits for it).
    waiting_for: dict[str, Any] | None = None

    @property
    def reused_from(self) -> dict[str, Any] | None:
        """Run, DAG, task and step whose outputs are reused (None on a miss)."""
        if self.hit is None:
            return None
        return {k: self.hit.get(k) for k in ("run_id", "dag_id", "task_id", "step")}

    def to_json(self) -> dict[str, Any]:
        """The decision as published for ``StepRun.reuse_details`` (and task notes)."""
        data = asdict(self)
        data.pop("waiting_for")
        data["hit"] = self.hit is not None
        data["reused_from"] = self.reused_from
        if self.hit is not None:
            data["outputs"] = dict(self.hit.get("outputs", {}))
        return data


def forced_miss(spec: StepSpec, options: dict[str, Any]) -> str | None:
    """Why this step must run whatever the index holds (None when reuse is allowed)."""
    if not spec.allow_reuse:
        return "allow_reuse=False"
    per_run = options.get("allow_reuse", True)
    where = "conf['azureml']['allow_reuse']"
    if isinstance(per_run, dict):
        per_run = per_run.get(spec.name, True)
        where += f"[{spec.name!r}]"
    regenerate = options.get("regenerate_outputs", False)
    for label, value in ((where, per_run), ("conf['azureml']['regenerate_outputs']", regenerate)):
        if not isinstance(value, bool):  # "false" is not False
            raise ValidationError(
                f"the DAG-run {label} must be true or false, not {type(value).__name__} "
                f"{value!r:.60}",
                field=label,
            )
    if per_run is False:
        return "allow_reuse=False (set for this run)"
    if regenerate:
        return "regenerate_outputs"
    return None


class ReuseCheck:
    """The reuse check of one step in one run.

    :param spec: the step.
    :param index: the reuse index on the pipeline's artifact datastore.
    :param store: the pipeline's artifact store (to check outputs are intact).
    :param owner: who claims: ``dag_id``, ``run_id``, ``task_id``, ``step``.
    """

    def __init__(
        self, spec: StepSpec, index: ReuseIndex, store: ArtifactStore, owner: dict[str, Any]
    ):
        self.spec = spec
        self.index = index
        self.store = store
        self.owner = owner

    # ------------------------------------------------------------ components
    def components(
        self, params: dict[str, Any], upstream: dict[str, ArtifactReference]
    ) -> dict[str, Any]:
        """The fingerprint components for this run (``upstream``: input name -> reference)."""
        identities = {i.name: self._identity(i, params, upstream) for i in self.spec.inputs}
        components = step_components(self.spec, parameters=params, input_identities=identities)
        components["source"] = self._source_digest()
        return components

    def _identity(
        self, inp: InputSpec, params: dict[str, Any], upstream: dict[str, ArtifactReference]
    ) -> dict[str, Any]:
        if inp.kind == "pipeline_data":
            ref = upstream[inp.name]
            return {"from": f"{inp.producer}/{inp.output}", "digest": ref.digest, "mode": inp.mode}
        if inp.kind == "datapath_param":
            value = params.get(inp.param or "") or {}
            datastore, path = value.get("datastore"), value.get("path", "")
        else:
            datastore, path = inp.datastore, inp.path or ""
        identity: dict[str, Any] = {"datastore": datastore, "path": path, "mode": inp.mode}
        if self.spec.data_aware and datastore:
            identity["content"] = self.store.content_identity(datastore, path, self.spec.data_aware)
        return identity

    def _source_digest(self) -> str:
        """The digest of the code the step will run (its file list is kept for diffs)."""
        spec = self.spec
        if spec.source_frozen:  # content-addressed at submit: nothing to re-hash
            if self.index.manifest(spec.source_digest) is None:
                files = frozen_manifest(spec.source_directory)
                if files is not None:
                    self.index.save_manifest(spec.source_digest, files)
            return spec.source_digest
        folder = Path(spec.source_directory)
        if not folder.is_dir():
            return spec.source_digest
        snap = take_snapshot(folder)
        self.index.save_manifest(snap.digest, dict(zip(snap.files, snap.file_digests, strict=True)))
        return snap.digest

    # -------------------------------------------------------------- deciding
    def decide(
        self,
        components: dict[str, Any],
        *,
        options: dict[str, Any],
        owner_finished: Callable[[dict[str, Any]], bool],
    ) -> ReuseDecision:
        """Hit, miss (claimed) or wait; ``owner_finished(claim)`` tells whether the task
        holding a claim has ended (its claim is then abandoned)."""
        fp = fingerprint(components)
        forced = forced_miss(self.spec, options)
        if forced:
            return ReuseDecision(fp, components, reasons=[forced])
        reasons: list[str] = []
        entry = self.index.lookup(fp)
        if entry is not None:
            problem = self.unusable(entry)
            if problem is None:
                return ReuseDecision(fp, components, hit=entry)
            reasons.append(problem)
            if "deleted" in problem or "altered" in problem:
                self.index.forget(fp)
        held = self._claim(fp, owner_finished)
        if held is not None:
            return ReuseDecision(fp, components, waiting_for=held)
        try:
            # Claimed: someone may have finished between our lookup and our claim.
            entry = self.index.lookup(fp)
            if entry is not None and self.unusable(entry) is None:
                self.index.release(fp, self.owner)
                return ReuseDecision(fp, components, hit=entry)
            reasons += self._explain(fp, components, reasons)
        except BaseException:
            self._release_after_failure(fp)  # nobody else must wait for a check that died
            raise
        return ReuseDecision(fp, components, reasons=reasons, claimed=True)

    def _explain(self, fp: str, components: dict[str, Any], reasons: list[str]) -> list[str]:
        """Why the step runs: what changed since its last execution (unless known)."""
        latest = self.index.latest(self.owner["dag_id"], self.spec.task_id)
        if reasons and latest is not None and latest.get("fingerprint") == fp:
            return []
        previous = latest.get("components") if latest else None
        diff = (
            self.index.source_diff(previous["source"], components["source"])
            if previous and previous.get("source") != components["source"]
            else None
        )
        return explain_miss(previous, components, source_diff=diff)

    def _release_after_failure(self, fp: str) -> None:
        # The check's own error is the one to raise; a claim left behind names this
        # process and is broken once this task has ended.
        with contextlib.suppress(Exception):
            self.index.release(fp, self.owner)

    def _claim(
        self, fp: str, owner_finished: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any] | None:
        """Claim ``fp``; returns None when claimed, else the live claim to wait for."""
        for _ in range(3):
            if self.index.claim(fp, self.owner):
                return None
            held = self.index.claim_owner(fp)
            if held is None:
                continue  # released meanwhile: claim again
            claim, age = held
            if same_owner(claim, self.owner):
                return None  # our own claim, from an earlier try of this step
            if not claim_abandoned(claim, age, owner_finished):
                return claim
            self.index.break_claim(fp, claim)  # abandoned: take it over
        held = self.index.claim_owner(fp)
        return held[0] if held is not None else {}

    def unusable(self, entry: dict[str, Any]) -> str | None:
        """Why an index entry cannot be reused (None when it can)."""
        if self.spec.reuse_max_age is not None:
            age = time.time() - float(entry.get("created", 0))
            if age > self.spec.reuse_max_age:
                return (
                    f"reusable result of run {entry.get('run_id')} is {age:.0f}s old, "
                    f"older than reuse_max_age={self.spec.reuse_max_age:g}s"
                )
        for data in entry.get("outputs", {}).values():
            problem = self.store.check_intact(ArtifactReference.from_json(data))
            if problem:
                return problem
        return None


class ClaimHeartbeat:
    """Keeps a reuse claim fresh while the step runs (others wait instead of recomputing).

    A beat that fails (the datastore is briefly unreachable) is logged and the
    next one tried: the thread lives as long as the step runs.
    """

    def __init__(
        self, index: ReuseIndex, fingerprint: str, log: Any, every: float = HEARTBEAT_SECONDS
    ):
        self._stop = threading.Event()
        self._log = log
        self._thread = threading.Thread(
            target=self._beat, args=(index, fingerprint, every), daemon=True
        )
        self._thread.start()

    def _beat(self, index: ReuseIndex, fingerprint: str, every: float) -> None:
        while not self._stop.wait(every):
            try:
                index.heartbeat(fingerprint)
            except Exception as exc:
                self._log.warning("reuse claim %s: heartbeat failed: %s", fingerprint, exc)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
