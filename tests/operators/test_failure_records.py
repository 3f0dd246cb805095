"""Issue #10 item 14: a step that fails outside its script says why, in its record.

Real ``dag.test()`` runs of a compiled pipeline. A fault is injected at a seam of
the step operator by a subclass (the step's task runs as that subclass); the step's
published status record must then carry the exception's type and message, which is
what ``StepRun.get_details()["error"]`` and ``wait_for_completion`` show.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_aml.artifacts.reuse_index import ReuseIndex
from airflow_aml.artifacts.store import ARTIFACT_ROOT, ArtifactStore
from airflow_aml.compiler.render import render_dag
from airflow_aml.core.experiment import RunOptions
from airflow_aml.operators.python_script import PythonScriptStepOperator
from airflow_aml.pipeline.core import Pipeline
from airflow_aml.pipeline.steps import PythonScriptStep
from airflow_aml.spec import PipelineSpec

pytestmark = pytest.mark.e2e


class AssetEventsBreak(PythonScriptStepOperator):
    """Fails where a reused step publishes its outputs' asset events."""

    def _annotate_asset_events(self, context: Any, spec: Any, outputs: Any) -> None:
        raise RuntimeError("asset events broke")


class WatchingFails(PythonScriptStepOperator):
    """Waits for another run's claim through a trigger that cannot read the datastore."""

    def _defer_for(self, spec: Any, decision: Any) -> None:
        from airflow_aml.triggers.reuse_claim import ReuseClaimTrigger

        self.defer(
            trigger=ReuseClaimTrigger(decision.fingerprint, "gone", {"type": "no-such-kind"}),
            method_name="resume_after_wait",
            kwargs={"components": decision.components},
        )


def _spec(ws, make_source, experiment_name) -> PipelineSpec:
    from airflow_aml.backends.airflow_home import ensure_database

    ensure_database(ws.airflow_home)
    # Unique code: no earlier test's result is reused.
    src = make_source({"ok.py": f"print('ok {experiment_name}')\n"}, name="ok")
    step = PythonScriptStep("ok.py", name="guarded", source_directory=str(src))
    result = Pipeline(ws, [step])._compile(experiment_name)
    assert result.spec is not None, result.errors
    return ws._backend.publish(result.spec, result.snapshots)  # as submit registers it


def _run(spec: PipelineSpec, operator: type | None = None) -> tuple[str, str]:
    """One ``dag.test()`` of ``spec`` (its step run by ``operator``): (state, run id)."""
    from airflow.sdk import timezone

    dag = render_dag(spec)
    if operator is not None:
        dag.task_dict["guarded"].__class__ = operator
    conf = RunOptions(spec.experiment_name).conf(spec)
    dr = dag.test(run_conf=conf, logical_date=timezone.utcnow())
    return str(dr.state), str(dr.run_id)


def _status(spec: PipelineSpec, run_id: str) -> dict[str, Any]:
    folder = ArtifactStore(spec.datastores).record_folder(spec.default_datastore, run_id, "guarded")
    path = folder / "status.json"
    assert path.exists(), "the failed step published no status record"
    return json.loads(path.read_text())


def test_a_failure_on_the_reuse_path_is_recorded(ws, make_source, experiment_name):
    spec = _spec(ws, make_source, experiment_name)
    assert _run(spec)[0] == "success"
    state, run_id = _run(spec, AssetEventsBreak)  # a reuse hit, then the fault
    assert state == "failed"
    status = _status(spec, run_id)
    assert status["status"] == "Failed"
    assert "step 'guarded' could not run: RuntimeError: asset events broke" in status["error"]


def test_a_failed_wait_for_another_run_is_recorded(ws, make_source, experiment_name):
    spec = _spec(ws, make_source, experiment_name)
    assert _run(spec)[0] == "success"
    store = ArtifactStore(spec.datastores)
    index = ReuseIndex(store.objects(spec.default_datastore).child(f"{ARTIFACT_ROOT}/.reuse"))
    entry = index.latest(spec.dag_id, "guarded")
    assert entry is not None
    fp = entry["fingerprint"]
    index.forget(fp)  # no result to reuse, and another (live) run computes it right now
    from airflow_aml._processes import this_process

    owner = {"dag_id": spec.dag_id, "run_id": "other", "task_id": "guarded", "step": "guarded"}
    assert index.claim(fp, {**owner, **this_process()})
    try:
        state, run_id = _run(spec, WatchingFails)
    finally:
        index.release(fp, owner)
    assert state == "failed"
    error = _status(spec, run_id)["error"]
    assert "step 'guarded' could not run: DatastoreException: the reuse claim" in error
    assert "could not be watched" in error and "no-such-kind" in error
