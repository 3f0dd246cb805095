"""The base of every step operator: reuse check, inputs in, outputs committed, record kept.

One Airflow task per step. ``execute`` does what every step kind shares
(DESIGN §3.4, §5):

1. with ``continue_on_step_failure`` off, do not start when another step of
   the run has failed (SDK v1 stops the pipeline at the first failure);
2. the reuse check (:mod:`airflow_aml.operators.reuse_check`), before any
   compute starts: on a hit the step ends at once with the earlier
   execution's outputs (task note "Reused: ..."); while another run computes
   the same fingerprint the task defers (no worker slot held) and looks again;
3. on a miss: materialise inputs, stage outputs under a temporary prefix, run
   the step (``run_step``, one implementation per step kind) while keeping
   the reuse claim alive;
4. on success commit outputs atomically, push their references to XCom and
   record them in the reuse index; always discard staging, release the claim
   and publish the run record (with the reason of any failure).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowSkipException, TaskDeferred

from airflow_aml._processes import this_process
from airflow_aml.artifacts.reuse_index import ReuseIndex
from airflow_aml.artifacts.store import ArtifactReference, ArtifactStore
from airflow_aml.compiler.assets import output_asset
from airflow_aml.exceptions import DatastoreException, StepFailed
from airflow_aml.operators.common import (
    REUSE_XCOM_KEY,
    ensure_run_not_failed,
    owner_finished,
    pull_output,
    reuse_index,
    run_options,
)
from airflow_aml.operators.context import StepContext, resolve_params
from airflow_aml.operators.inputs import resolve_inputs
from airflow_aml.operators.reuse_check import ClaimHeartbeat, ReuseCheck, ReuseDecision
from airflow_aml.runtime.contract import step_run_id
from airflow_aml.runtime.record import PROPERTIES, REUSE, STATUS, RecordWriter
from airflow_aml.runtime.workdirs import new_workdir, remove_workdir, sweep_now_and_then
from airflow_aml.spec import StepSpec

__all__ = ["AmlStepOperator", "StepContext", "StepFailed"]


class AmlStepOperator(BaseOperator):
    """Runs one AML step; subclasses implement :meth:`run_step`.

    :param step: the step spec (JSON form of :class:`StepSpec`).
    :param pipeline: pipeline-wide settings (datastores, workspace, experiment,
        parameter types, continue_on_step_failure default).
    """

    # Nothing is templated, on purpose. Step arguments are resolved by the runtime
    # contract, not by Jinja: a literal "{{" in a user argument must reach the script
    # unchanged. ``pool`` and ``queue`` are not templated either: Airflow copies both
    # onto the task instance when the scheduler creates it (``TaskInstance.pool =
    # task.pool``) and the executor routes by them before any rendering happens, so a
    # templated pool or queue would be the literal "{{ ... }}" where it matters.
    # The step's compute target sets the pool (an AmlCompute target is a pool).
    template_fields: Sequence[str] = ()
    ui_color = "#d6eaf8"

    def __init__(self, *, step: dict[str, Any], pipeline: dict[str, Any], **kwargs: Any):
        super().__init__(**kwargs)
        self.step = step
        self.pipeline = pipeline

    # ----------------------------------------------------------- hooks
    def run_step(self, ctx: StepContext) -> None:
        """Do the step's work; raise :class:`StepFailed` on failure."""
        raise NotImplementedError

    # ------------------------------------------------------------ execute
    def execute(self, context: Any) -> Any:
        with self._failures_recorded(context, "could not run"):
            return self._execute(context, None)

    def resume_execution(
        self, next_method: str, next_kwargs: dict[str, Any] | None, context: Any
    ) -> Any:
        """Back from a deferral; a failed wait (the trigger raised or timed out) is
        recorded like any failure outside the user's script."""
        failed_wait = next_method == "__fail__"  # Airflow's marker for a trigger that failed
        what = "failed while waiting for another run" if failed_wait else "could not run"
        with self._failures_recorded(context, what):
            return super().resume_execution(next_method, next_kwargs, context)

    def resume_after_wait(
        self,
        context: Any,
        components: dict[str, Any] | None = None,
        event: dict[str, Any] | None = None,
    ) -> Any:
        """Back from waiting on another run's claim (``event``: the trigger's): decide
        again, with the fingerprint components computed before waiting."""
        if event is not None and event.get("status") == "error":
            raise DatastoreException(
                f"the reuse claim {event.get('fingerprint')} could not be watched: "
                f"{event.get('error')}"
            )
        return self._execute(context, components)

    @contextlib.contextmanager
    def _failures_recorded(self, context: Any, what: str) -> Iterator[None]:
        """Any exception outside the user's script becomes the step's failure record.

        The user sees its type and message in ``get_details()["error"]`` and in
        ``wait_for_completion(raise_on_error=True)``, not only in the task log.
        A skip or a deferral is no failure; a failure :meth:`_run` already
        recorded (with the script's stderr) is not recorded again.
        """
        self._status_published = False
        try:
            yield
        except (AirflowSkipException, TaskDeferred):
            raise
        except Exception as exc:
            if not self._status_published:
                name = self.step.get("name", self.task_id)
                self._record_failure_safely(
                    context, f"step {name!r} {what}: {type(exc).__name__}: {exc}"
                )
            raise

    def _record_failure_safely(self, context: Any, error: str) -> None:
        """Publish a failure record; a store that fails too is logged, never raised."""
        try:
            spec = StepSpec.from_json(self.step)
            store = ArtifactStore(self.pipeline["datastores"])
            self._record_failure(store, spec, context["ti"], error)
        except Exception as exc:  # the original error is what the task must fail with
            self.log.warning("could not record the failure of this step (%s): %s", error, exc)

    def _execute(self, context: Any, known_components: dict[str, Any] | None) -> Any:
        spec = StepSpec.from_json(self.step)
        ti = context["ti"]
        run_id = context["dag_run"].run_id
        options = run_options(context)
        ensure_run_not_failed(ti, run_id, options, self.pipeline, spec.name)
        store = ArtifactStore(self.pipeline["datastores"])
        try:
            index = reuse_index(store, self.pipeline)
            owner = {
                "dag_id": ti.dag_id,
                "run_id": run_id,
                "task_id": spec.task_id,
                "step": spec.name,
                **this_process(),  # a claim of a process known dead is broken at once
            }
            upstream = self._upstream(spec, ti)
            params = resolve_params(context, store, self.pipeline)
            check = ReuseCheck(spec, index, store, owner)
            components = known_components or check.components(params, upstream)
            decision = check.decide(
                components, options=options, owner_finished=lambda claim: owner_finished(ti, claim)
            )
        except (AirflowSkipException, TaskDeferred):
            raise
        except Exception as exc:  # outside the user's script: the user sees the reason
            self._record_failure(
                store,
                spec,
                ti,
                f"the reuse check of step {spec.name!r} failed before the step could start: "
                f"{type(exc).__name__}: {exc}",
            )
            self._status_published = True
            raise
        if decision.waiting_for is not None:
            self._defer_for(spec, decision)
        if decision.hit is not None:
            return self._reuse(context, spec, store, decision)
        self.log.info("Step %r will run (reuse miss): %s", spec.name, "; ".join(decision.reasons))
        return self._run(context, spec, store, index, decision, upstream, owner)

    def _record_failure(self, store: ArtifactStore, spec: StepSpec, ti: Any, error: str) -> None:
        """Publish a run record saying why the step failed outside its own work."""
        self._publish_documents(
            store, spec, ti, {STATUS: {"status": "Failed", "error": error, "stderr_tail": ""}}
        )

    def _publish_documents(
        self, store: ArtifactStore, spec: StepSpec, ti: Any, documents: dict[str, Any]
    ) -> None:
        """Publish a run record of the step's properties plus ``documents`` (name -> JSON)."""
        workdir = new_workdir(str(ti.run_id), spec.task_id, ti.try_number)
        try:
            writer = RecordWriter(workdir / "record")
            writer.write_json(PROPERTIES, self._properties(spec, ti))
            for name, data in documents.items():
                writer.write_json(name, data)
            self._publish_record(store, writer.folder, str(ti.run_id), spec)
        finally:
            remove_workdir(workdir)

    def _defer_for(self, spec: StepSpec, decision: ReuseDecision) -> None:
        from airflow_aml.triggers.reuse_claim import ReuseClaimTrigger

        held = decision.waiting_for or {}
        self.log.info(
            "Step %r: run %s is computing the same fingerprint %s right now; "
            "waiting to reuse its outputs",
            spec.name,
            held.get("run_id"),
            decision.fingerprint,
        )
        artifacts = self.pipeline["artifact_datastore"]
        self.defer(
            trigger=ReuseClaimTrigger(
                decision.fingerprint, artifacts, self.pipeline["datastores"][artifacts]
            ),
            method_name="resume_after_wait",
            kwargs={"components": decision.components},
        )

    # ------------------------------------------------------------- reuse
    def _reuse(
        self, context: Any, spec: StepSpec, store: ArtifactStore, decision: ReuseDecision
    ) -> None:
        ti = context["ti"]
        source = decision.reused_from or {}
        outputs = dict((decision.hit or {}).get("outputs", {}))
        for name, data in outputs.items():
            ti.xcom_push(key=name, value=data)
        self._annotate_asset_events(
            context, spec, {k: {**v, "reused_from": source} for k, v in outputs.items()}
        )
        note = (
            f"Reused: outputs come from step {source.get('step')!r} of run "
            f"{source.get('run_id')} (experiment {source.get('dag_id')}); "
            f"fingerprint {decision.fingerprint}"
        )
        self.log.info("Step %r: %s", spec.name, note)
        published = {**decision.to_json(), "note": note}
        ti.xcom_push(key=REUSE_XCOM_KEY, value=published)
        status = {"status": "Finished", "reused_from": source, "outputs": outputs}
        self._publish_documents(store, spec, ti, {REUSE: published, STATUS: status})

    # --------------------------------------------------------------- run
    def _run(
        self,
        context: Any,
        spec: StepSpec,
        store: ArtifactStore,
        index: ReuseIndex,
        decision: ReuseDecision,
        upstream: dict[str, ArtifactReference],
        owner: dict[str, Any],
    ) -> None:
        ti = context["ti"]
        run_id = context["dag_run"].run_id
        fp = decision.fingerprint
        sweep_now_and_then()  # work folders of steps whose process died
        workdir = new_workdir(run_id, spec.task_id, ti.try_number)
        writer = RecordWriter(workdir / "record")
        heartbeat = ClaimHeartbeat(index, fp, self.log) if decision.claimed else None
        self._claim = (index, fp, owner) if decision.claimed else None
        staging: dict[str, Path] = {}
        try:
            why = "; ".join(decision.reasons)
            published = {**decision.to_json(), "note": f"Ran: {why}"[:1000]}
            # For the task note (Airflow UI) and StepRun.get_reuse_reasons().
            ti.xcom_push(key=REUSE_XCOM_KEY, value=published)
            writer.write_json(PROPERTIES, self._properties(spec, ti))
            writer.write_json(REUSE, published)
            params = resolve_params(context, store, self.pipeline, fetch_into=workdir)
            paths = resolve_inputs(spec, upstream, store, workdir, params)
            for ds in {o.datastore for o in spec.outputs}:
                # An earlier try of this step that was killed left its staging behind
                # (one try runs at a time: it is dead); this try's commit replaces its
                # outputs.
                store.discard_unfinished(ds, run_id, spec.task_id, [])
                staging[ds] = store.staging(
                    ds, run_id, spec.task_id, ti.try_number, local_root=workdir
                )
            for o in spec.outputs:
                out_dir = staging[o.datastore] / o.name
                out_dir.mkdir()
                paths[o.name] = str(out_dir)
            ctx = StepContext(
                spec=spec,
                run_id=step_run_id(run_id, spec.task_id),
                pipeline_run_id=run_id,
                params=params,
                paths=paths,
                record=writer.folder,
                workdir=workdir,
                pipeline=self.pipeline,
                experiment_name=str(
                    run_options(context).get("experiment_name")
                    or self.pipeline.get("experiment_name", "")
                ),
            )
            self.run_step(ctx)
            refs = {
                o.name: store.commit_output(
                    Path(paths[o.name]),
                    datastore=o.datastore,
                    run_id=run_id,
                    task_id=spec.task_id,
                    step=spec.name,
                    output=o.name,
                )
                for o in spec.outputs
            }
            outputs = {k: r.to_json() for k, r in refs.items()}
            writer.write_json(STATUS, {"status": "Finished", "outputs": outputs})
            for name, ref in refs.items():
                ti.xcom_push(key=name, value=ref.to_json())
            self._annotate_asset_events(context, spec, outputs)
            index.record(
                {
                    "fingerprint": fp,
                    "components": decision.components,
                    "outputs": outputs,
                    "created": time.time(),
                    "step": spec.name,
                    "dag_id": owner["dag_id"],
                    "run_id": run_id,
                    "task_id": spec.task_id,
                }
            )
            return None
        except StepFailed as exc:
            writer.write_json(
                STATUS, {"status": "Failed", "error": str(exc), "stderr_tail": exc.stderr_tail}
            )
            raise
        except AirflowSkipException:
            raise
        except Exception as exc:  # outside the user's script: the user sees the reason
            writer.write_json(
                STATUS,
                {
                    "status": "Failed",
                    "error": f"step {spec.name!r} could not run: {type(exc).__name__}: {exc}",
                    "stderr_tail": "",
                },
            )
            raise
        finally:
            if heartbeat is not None:
                heartbeat.stop()
            self._release_claim()
            for path in staging.values():
                store.discard(path)
            self._publish_record(store, writer.folder, run_id, spec)
            self._status_published = True
            remove_workdir(workdir)

    def _release_claim(self) -> None:
        claim, self._claim = getattr(self, "_claim", None), None
        if claim is None:
            return
        index, fp, owner = claim
        try:
            index.release(fp, owner)
        except Exception as exc:  # never hide the step's own outcome
            # The claim ends anyway: others see this task finished (or it goes stale).
            self.log.warning("could not release the reuse claim %s: %s", fp, exc)

    def on_kill(self) -> None:
        """Airflow is killing the task: release the reuse claim (subclasses stop their work)."""
        self._release_claim()

    # ----------------------------------------------------------- helpers
    def _upstream(self, spec: StepSpec, ti: Any) -> dict[str, ArtifactReference]:
        """References of the upstream outputs this step consumes, by input name."""
        refs: dict[str, ArtifactReference] = {}
        for inp in spec.inputs:
            if inp.kind != "pipeline_data":
                continue
            assert inp.producer is not None and inp.output is not None
            ref = pull_output(ti, self.pipeline, inp.producer, inp.output)
            if ref is None:
                raise AirflowSkipException(
                    f"not started: step {inp.producer!r} produced no output {inp.output!r}"
                )
            refs[inp.name] = ref
        return refs

    def _annotate_asset_events(
        self, context: Any, spec: StepSpec, outputs: dict[str, dict[str, Any]]
    ) -> None:
        """Put each output's reference in the ``extra`` of its asset event."""
        events = context.get("outlet_events")
        if events is None:
            return
        dag_id = str(context["ti"].dag_id)
        for name, extra in outputs.items():
            events[output_asset(dag_id, spec.task_id, name)].extra = extra

    def _properties(self, spec: StepSpec, ti: Any) -> dict[str, Any]:
        return {
            "StepType": spec.kind,
            "azureml.runsource": "azureml.StepRun",
            "azureml.nodeid": spec.task_id,
            "azureml.pipeline_step_name": spec.name,
            "azureml.pipelinerunid": str(ti.run_id),
            "airflow.try_number": ti.try_number,
            "airflow.map_index": ti.map_index,
            "compute": spec.compute,
            **self.step.get("properties", {}),
        }

    def _publish_record(
        self, store: ArtifactStore, record: Path, run_id: str, spec: StepSpec
    ) -> None:
        if not record.exists():
            return
        try:
            store.commit_record(
                record,
                datastore=self.pipeline["artifact_datastore"],
                run_id=run_id,
                task_id=spec.task_id,
            )
        except Exception as exc:  # OSError, DatastoreException: never hide the step's outcome
            self.log.warning("could not publish the run record of step %s: %s", spec.name, exc)
