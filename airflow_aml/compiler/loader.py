"""The loader used by the one-line DAG file: registry specs -> DAGs.

Parsing reads JSON only (no user code is imported), and one unreadable
spec does not stop the others from loading.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from airflow_aml.artifacts.registry import Registry
from airflow_aml.compiler.render import render_dag
from airflow_aml.compiler.step_kinds import import_string
from airflow_aml.exceptions import DatastoreException
from airflow_aml.provider import aml_flag, aml_setting
from airflow_aml.spec import PipelineSpec

__all__ = ["dags_from_registry", "registry_path", "registry_location", "REGISTRY_DAG_ID"]

log = logging.getLogger(__name__)


def registry_location() -> str:
    """The registry: the ``[aml] registry`` setting of this Airflow (``AIRFLOW__AML__REGISTRY``;
    a folder or a ``wasb://<conn_id>@<container>/<prefix>`` URL), else the folder
    ``$AIRFLOW_HOME/../registry``. The variable ``AIRFLOW_AML_REGISTRY`` of earlier releases
    is still read when the setting is unset (with a ``DeprecationWarning``)."""
    import airflow.configuration  # noqa: F401  # lazy: imports Airflow (its config holds [aml])

    location = aml_setting("registry")
    if location:
        return location
    home = os.environ.get("AIRFLOW_HOME", str(Path.home() / "airflow"))
    return str(Path(home).parent / "registry")


def registry_path() -> Path:
    """The registry folder (a local registry; see :func:`registry_location`)."""
    return Path(registry_location())


REGISTRY_DAG_ID = "airflow_aml_registry"


def _parsing_for() -> str | None:
    """The DAG id Airflow parses the file for, if it parses it for one DAG only."""
    from airflow.sdk import get_parsing_context  # lazy: imports Airflow (see above)

    return get_parsing_context().dag_id


def _registry_dag(folder: str) -> Any:
    """A task-less DAG that is always there, so clients can address the loader file
    (its file token) to ask Airflow to reparse the registry at once."""
    from airflow.sdk import DAG  # lazy: imports Airflow; the deployed client imports this module

    return DAG(
        REGISTRY_DAG_ID,
        schedule=None,
        catchup=False,
        tags=["airflow-aml"],
        description="airflow-aml registry: every pipeline in it is a DAG of this file",
        doc_md=f"Pipeline registry: `{folder}`",
        is_paused_upon_creation=True,
    )


def _broken_dag(dag_id: str, reason: str) -> Any:
    """Stand-in for a pipeline whose spec cannot be loaded: it shows the reason in the UI
    (description, docs, tag ``aml-broken-spec``) and fails with it if triggered, while the
    other pipelines of the registry load normally."""
    from airflow.sdk import DAG  # lazy: imports Airflow; the deployed client imports this module

    # By dotted path: the compiler imports no operator module.
    broken_spec_operator = import_string("airflow_aml.operators.broken_spec.BrokenSpecOperator")

    try:
        with DAG(
            dag_id,
            schedule=None,
            catchup=False,
            tags=["airflow-aml", "aml-broken-spec"],
            description=f"airflow-aml cannot load this pipeline: {reason}"[:500],
            doc_md=f"**The spec of this pipeline cannot be loaded.**\n\n```\n{reason}\n```",
            is_paused_upon_creation=True,
        ) as dag:
            broken_spec_operator(task_id="spec_error", reason=reason)
    except Exception:  # not even a valid DAG id: the log line above is all we can do
        return None
    return dag


def dags_from_registry(registry: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Render every spec in ``registry/specs`` as a DAG; returns ``{name: dag}``.

    ``registry`` is a folder or a ``wasb://`` location (default:
    :func:`registry_location`). If the registry cannot be read at all, the
    error is raised: Airflow then keeps the DAGs of the last good parse and
    shows the reason as the loader file's import error.

    When Airflow parses the file for one DAG (its parsing context names a DAG
    id: a task about to run, an embedded runner's ``dag.test()``), only that
    pipeline is rendered, Airflow's documented optimisation for files that
    generate many DAGs: a run's start-up then does not grow with the number
    of pipelines in the registry.
    """
    location = str(registry) if registry else registry_location()
    embedded = aml_flag("embedded")
    dags: dict[str, Any] = {"aml_registry_dag": _registry_dag(location)}
    only = _parsing_for()
    for name, text in Registry(location).spec_texts():
        if only is not None and name != only:
            continue  # Airflow parses this file for another DAG: skip rendering this one
        try:
            if text is None:
                raise DatastoreException(f"spec {name}.json cannot be read from {location}")
            spec = PipelineSpec.loads(text)
            dag = render_dag(spec, embedded=embedded)
        except Exception as exc:  # one bad spec must not hide the others
            log.error("airflow-aml: cannot load pipeline spec %s: %s", name, exc)
            broken = _broken_dag(name, f"{type(exc).__name__}: {exc}")
            if broken is not None:
                dags[f"aml_broken__{name}"] = broken
            continue
        dags[f"aml_dag__{spec.dag_id}"] = dag
    return dags
