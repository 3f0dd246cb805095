"""What step operators share: run options, parameters, upstream output references,
the run-failed check, the reuse index and its claim owners' state."""

from __future__ import annotations

from typing import Any

from airflow.sdk.exceptions import AirflowSkipException

from airflow_aml.artifacts.reuse_index import ReuseIndex
from airflow_aml.artifacts.store import ARTIFACT_ROOT, ArtifactReference, ArtifactStore
from airflow_aml.artifacts.xcom import as_reference
from airflow_aml.exceptions import ValidationError
from airflow_aml.runtime import cancel
from airflow_aml.runtime.contract import REUSE_XCOM_KEY
from airflow_aml.spec import RESERVED_CONF_KEY

__all__ = [
    "REUSE_XCOM_KEY",
    "run_options",
    "ensure_run_not_failed",
    "pull_output",
    "reuse_index",
    "owner_finished",
]

_FINISHED = {"success", "failed", "skipped", "upstream_failed", "removed"}


_FLAGS = ("regenerate_outputs", "continue_on_step_failure")


def run_options(context: Any) -> dict[str, Any]:
    """Per-run AML options from the DAG-run conf (``conf["azureml"]``).

    A value of the wrong type fails the step, naming it (``"no"`` is not False): a
    DAG rendered by airflow-aml refuses such a conf at trigger time already.
    """
    conf = context["dag_run"].conf or {}
    options = conf.get(RESERVED_CONF_KEY) or {}
    where = f"conf[{RESERVED_CONF_KEY!r}]"
    if not isinstance(options, dict):
        raise ValidationError(
            f"the DAG-run {where} must be an object of run options, not "
            f"{type(options).__name__} {options!r:.60}",
            field=where,
        )
    for flag in _FLAGS:
        if flag in options and not isinstance(options[flag], bool):
            raise ValidationError(
                f"the DAG-run {where}[{flag!r}] must be true or false, not "
                f"{type(options[flag]).__name__} {options[flag]!r:.60}",
                field=f"{where}.{flag}",
            )
    return options


def ensure_run_not_failed(
    ti: Any, run_id: str, options: dict[str, Any], pipeline: dict[str, Any], step: str
) -> None:
    """Skip (do not start) when the run was canceled, or when another step failed and
    ``continue_on_step_failure`` is off (SDK v1 stops a pipeline at its first failure)."""
    if cancel.cancel_requested():
        raise AirflowSkipException("not started: the pipeline run was canceled")
    keep_going = options.get(
        "continue_on_step_failure", pipeline.get("continue_on_step_failure", False)
    )
    concurrent = pipeline.get("concurrent_steps")
    if keep_going or (concurrent is not None and step not in concurrent):
        return  # nothing else can fail while this step waits: its ancestors all succeeded
    failed = ti.get_ti_count(
        dag_id=ti.dag_id, run_ids=[run_id], states=["failed", "upstream_failed"]
    )
    if failed:
        raise AirflowSkipException(
            "not started: another step of this pipeline run failed and "
            "continue_on_step_failure is off"
        )


def pull_output(
    ti: Any, pipeline: dict[str, Any], producer: str, output: str
) -> ArtifactReference | None:
    """The reference of ``producer``'s ``output`` in this run (computed or reused)."""
    task_id = pipeline["task_ids"][producer]
    return as_reference(ti.xcom_pull(task_ids=task_id, key=output))


def reuse_index(store: ArtifactStore, pipeline: dict[str, Any]) -> ReuseIndex:
    """The reuse index on the pipeline's artifact datastore."""
    artifacts = store.objects(pipeline["artifact_datastore"])
    return ReuseIndex(artifacts.child(f"{ARTIFACT_ROOT}/.reuse"))


def owner_finished(ti: Any, claim: dict[str, Any]) -> bool:
    """Whether the task holding a reuse claim has ended (then its claim is abandoned)."""
    try:
        states = ti.get_task_states(
            dag_id=claim["dag_id"], task_ids=[claim["task_id"]], run_ids=[claim["run_id"]]
        )
    except Exception:  # the owner's DAG/run may be gone entirely, or the claim is torn
        return False
    state = (states.get(claim["run_id"]) or {}).get(claim["task_id"])
    return state in _FINISHED
