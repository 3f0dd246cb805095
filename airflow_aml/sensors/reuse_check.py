"""The reuse-check sensor: decides, before any compute starts, whether a step can
reuse an earlier execution's outputs.

It computes the step's fingerprint (:mod:`airflow_aml.artifacts.fingerprint`)
and looks it up in the reuse index:

* **hit** (an intact, fresh enough result exists): the step task is skipped,
  the reused output references are pushed here for downstream steps, and the
  step's task note says where the outputs come from;
* **in flight** (another run holds the claim on this fingerprint and is alive):
  wait (reschedule mode), then reuse its result;
* **miss**: claim the fingerprint, explain the miss component by component
  (logged, and published for ``StepRun``), and let the step run.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.bases.skipmixin import SkipMixin
from airflow.sdk.exceptions import AirflowSkipException

from airflow_aml.artifacts.fingerprint import explain_miss, fingerprint, step_components
from airflow_aml.artifacts.reuse_index import STALE_CLAIM_SECONDS, ReuseIndex, same_owner
from airflow_aml.artifacts.snapshot import frozen_manifest, take_snapshot
from airflow_aml.artifacts.store import ArtifactReference, ArtifactStore
from airflow_aml.compiler.spec import InputSpec, StepSpec
from airflow_aml.operators.common import (
    REUSE_XCOM_KEY,
    ensure_run_not_failed,
    pull_output,
    resolve_params,
    reuse_index,
    run_options,
)
from airflow_aml.sensors.notes import set_task_note

__all__ = ["ReuseCheckSensor"]

_FINISHED = {"success", "failed", "skipped", "upstream_failed", "removed"}


class ReuseCheckSensor(BaseSensorOperator, SkipMixin):
    """Reuse check for one step (runs before the step task).

    :param step: the step spec (JSON form).
    :param pipeline: pipeline-wide settings (as for step operators).
    :param step_task_id: the task id of the step this sensor guards.
    """

    template_fields: Sequence[str] = ()
    ui_color = "#e8f8f5"

    def __init__(
        self, *, step: dict[str, Any], pipeline: dict[str, Any], step_task_id: str, **kwargs: Any
    ):
        kwargs.setdefault("mode", "reschedule")
        kwargs.setdefault("poke_interval", 2)
        kwargs.setdefault("timeout", 24 * 3600)
        super().__init__(**kwargs)
        self.step = step
        self.pipeline = pipeline
        self.step_task_id = step_task_id

    # ----------------------------------------------------------------- execute
    def execute(self, context: Any) -> Any:
        self._hit = False
        super().execute(context)
        if self._hit:
            # Success for this sensor, skipped for the step: downstream steps still
            # run (trigger rule none_failed) with the references pushed here.
            dag = self.get_dag()
            assert dag is not None
            self.skip(context["ti"], [dag.get_task(self.step_task_id)])
        return None

    def poke(self, context: Any) -> bool:
        spec = StepSpec.from_json(self.step)
        ti = context["ti"]
        run_id = context["dag_run"].run_id
        options = run_options(context)
        ensure_run_not_failed(ti, run_id, options, self.pipeline)
        store = ArtifactStore(self.pipeline["datastores"])
        index = reuse_index(store, self.pipeline)

        params = resolve_params(context, store, self.pipeline)
        components = step_components(
            spec,
            parameters=params,
            input_identities=self._input_identities(spec, ti, store, params),
        )
        components["source"] = self._source_digest(spec, index)
        fp = fingerprint(components)
        owner = {"dag_id": ti.dag_id, "run_id": run_id, "task_id": spec.task_id, "step": spec.name}

        forced = self._forced_miss(spec, options)
        if forced:
            return self._decide(context, fp, components, hit=None, reasons=[forced], claimed=False)

        reasons: list[str] = []
        entry = index.lookup(fp)
        if entry is not None:
            problem = self._unusable(entry, spec, store)
            if problem is None:
                return self._decide(context, fp, components, hit=entry, reasons=[], claimed=False)
            reasons.append(problem)
            if "deleted" in problem or "altered" in problem:
                index.forget(fp)

        if not index.claim(fp, owner):
            held = index.claim_owner(fp)
            if held is None and not index.claim(fp, owner):
                return False  # released and taken again meanwhile: look again next poke
            if held is not None and not self._abandoned(ti, held, owner):
                self.log.info(
                    "Step %r: run %s is computing the same fingerprint %s right now; "
                    "waiting to reuse its outputs",
                    spec.name,
                    held[0].get("run_id"),
                    fp,
                )
                return False
            if held is not None and not same_owner(held[0], owner):
                self.log.info(
                    "Step %r: claim of run %s on %s is abandoned; taking it over",
                    spec.name,
                    held[0].get("run_id"),
                    fp,
                )
                index.break_claim(fp, held[0])
                if not index.claim(fp, owner):
                    return False
        # Claimed: someone may have finished between our lookup and our claim.
        entry = index.lookup(fp)
        if entry is not None and self._unusable(entry, spec, store) is None:
            index.release(fp, owner)
            return self._decide(context, fp, components, hit=entry, reasons=[], claimed=False)
        latest = index.latest(ti.dag_id, spec.task_id)
        if not reasons or latest is None or latest.get("fingerprint") != fp:
            previous = latest.get("components") if latest else None
            diff = (
                index.source_diff(previous["source"], components["source"])
                if previous and previous.get("source") != components["source"]
                else None
            )
            reasons += explain_miss(previous, components, source_diff=diff)
        return self._decide(context, fp, components, hit=None, reasons=reasons, claimed=True)

    # ---------------------------------------------------------------- pieces
    def _forced_miss(self, spec: StepSpec, options: dict[str, Any]) -> str | None:
        if not spec.allow_reuse:
            return "allow_reuse=False"
        per_run = options.get("allow_reuse", True)
        if isinstance(per_run, dict):
            per_run = per_run.get(spec.name, True)
        if per_run is False:
            return "allow_reuse=False (set for this run)"
        if options.get("regenerate_outputs"):
            return "regenerate_outputs"
        return None

    def _unusable(self, entry: dict[str, Any], spec: StepSpec, store: ArtifactStore) -> str | None:
        if spec.reuse_max_age is not None:
            age = time.time() - float(entry.get("created", 0))
            if age > spec.reuse_max_age:
                return (
                    f"reusable result of run {entry.get('run_id')} is {age:.0f}s old, "
                    f"older than reuse_max_age={spec.reuse_max_age:g}s"
                )
        for data in entry.get("outputs", {}).values():
            problem = store.check_intact(ArtifactReference.from_json(data))
            if problem:
                return problem
        return None

    def _abandoned(
        self, ti: Any, held: tuple[dict[str, Any], float], owner: dict[str, Any]
    ) -> bool:
        claim, age = held
        if same_owner(claim, owner):
            return True  # our own claim, from an earlier try of this step
        if age > STALE_CLAIM_SECONDS:
            return True
        try:
            states = ti.get_task_states(
                dag_id=claim["dag_id"], task_ids=[claim["task_id"]], run_ids=[claim["run_id"]]
            )
        except Exception:  # the owner's DAG/run may be gone entirely
            return False
        state = (states.get(claim["run_id"]) or {}).get(claim["task_id"])
        return state in _FINISHED

    def _source_digest(self, spec: StepSpec, index: ReuseIndex) -> str:
        """The digest of the code the step will run (and keep its file list for diffs)."""
        folder = Path(spec.source_directory)
        if spec.source_frozen:  # content-addressed at submit: nothing to re-hash
            if index.manifest(spec.source_digest) is None:
                files = frozen_manifest(spec.source_directory)
                if files is not None:
                    index.save_manifest(spec.source_digest, files)
            return spec.source_digest
        if not folder.is_dir():
            return spec.source_digest
        snap = take_snapshot(folder)
        index.save_manifest(snap.digest, dict(zip(snap.files, snap.file_digests, strict=True)))
        return snap.digest

    def _input_identities(
        self, spec: StepSpec, ti: Any, store: ArtifactStore, params: dict[str, Any]
    ) -> dict[str, Any]:
        identities: dict[str, Any] = {}
        for inp in spec.inputs:
            identities[inp.name] = self._identity(inp, spec, ti, store, params)
        return identities

    def _identity(
        self, inp: InputSpec, spec: StepSpec, ti: Any, store: ArtifactStore, params: dict[str, Any]
    ) -> dict[str, Any]:
        if inp.kind == "pipeline_data":
            assert inp.producer is not None and inp.output is not None
            ref = pull_output(ti, self.pipeline, inp.producer, inp.output)
            if ref is None:
                raise AirflowSkipException(
                    f"not started: step {inp.producer!r} produced no output {inp.output!r}"
                )
            return {"from": f"{inp.producer}/{inp.output}", "digest": ref.digest, "mode": inp.mode}
        if inp.kind == "datapath_param":
            value = params.get(inp.param or "") or {}
            datastore, path = value.get("datastore"), value.get("path", "")
        else:
            datastore, path = inp.datastore, inp.path or ""
        identity: dict[str, Any] = {"datastore": datastore, "path": path, "mode": inp.mode}
        if spec.data_aware and datastore:
            identity["content"] = store.content_identity(datastore, path, spec.data_aware)
        return identity

    def _emit_reused_asset_events(
        self, context: Any, hit: dict[str, Any], source: dict[str, Any]
    ) -> None:
        """Reused outputs are new versions for this run: emit their asset events here."""
        from airflow_aml.compiler.render import output_asset, reuse_alias

        events = context.get("outlet_events")
        if events is None:
            return
        spec = StepSpec.from_json(self.step)
        dag_id = str(context["ti"].dag_id)
        alias_events = events[reuse_alias(dag_id, spec)]
        for name, data in hit.get("outputs", {}).items():
            alias_events.add(
                output_asset(dag_id, spec, name), extra={**data, "reused_from": source}
            )

    def _decide(
        self,
        context: Any,
        fp: str,
        components: dict[str, Any],
        *,
        hit: dict[str, Any] | None,
        reasons: list[str],
        claimed: bool,
    ) -> bool:
        ti = context["ti"]
        decision: dict[str, Any] = {
            "fingerprint": fp,
            "components": components,
            "hit": hit is not None,
            "reasons": reasons,
            "claimed": claimed,
            "reused_from": None,
        }
        step_name = self.step["name"]
        if hit is not None:
            source = {k: hit.get(k) for k in ("run_id", "dag_id", "task_id", "step")}
            decision["reused_from"] = source
            for name, data in hit.get("outputs", {}).items():
                ti.xcom_push(key=name, value=data)
            self._emit_reused_asset_events(context, hit, source)
            note = (
                f"Reused: outputs come from step {source['step']!r} of run "
                f"{source['run_id']} (experiment {source['dag_id']}); fingerprint {fp}"
            )
            self.log.info("Step %r: %s", step_name, note)
            decision["note"] = note
            set_task_note(ti.dag_id, ti.run_id, self.step_task_id, note, log=self.log)
            self._hit = True
        else:
            self.log.info("Step %r will run (reuse miss): %s", step_name, "; ".join(reasons))
        ti.xcom_push(key=REUSE_XCOM_KEY, value=decision)
        return True
