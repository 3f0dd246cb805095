"""Experiment: a named series of runs, and the options of one run (SDK v1).

``Experiment.submit(config, ...)`` dispatches on what ``config`` is, as v1
does with its ``experiment_method`` decorator: a submittable class (a
``Pipeline``, ``PublishedPipeline`` or ``PipelineEndpoint``) carries an
``_experiment_submit`` method, so this module needs to import none of them.
Every submit ends in one typed :class:`RunOptions` handed to the
workspace's backend (``backend.start(spec, options)``), which is also the
call the AML-compatible REST routes make.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from airflow_aml._limits import command_problem, value_problem
from airflow_aml._names import check_experiment_name, safe_relative_path
from airflow_aml.exceptions import NotSupportedError, ValidationError
from airflow_aml.runtime.contract import parameter_env
from airflow_aml.spec import RESERVED_CONF_KEY

if TYPE_CHECKING:
    from airflow_aml.core.workspace import Workspace
    from airflow_aml.pipeline.core.run import PipelineRun
    from airflow_aml.spec import ParameterSpec, PipelineSpec

__all__ = ["Experiment", "RunOptions"]

# v1 submit arguments accepted and ignored (no e-mail notifications, no credential passthrough)
_IGNORED_SUBMIT_KWARGS = {"pipeline_params", "enable_email_notification", "credential_passthrough"}
# submit arguments that are RunOptions fields (the others go to the config's submit)
_OPTION_FIELDS = {"continue_on_step_failure", "regenerate_outputs", "parent_run_id"}


class Experiment:
    """An experiment of a workspace: its runs, whatever DAG ran them.

    :param workspace: the workspace.
    :param name: 1-240 characters (v1: 255; the name is also the dag_id of its runs and
        names files): letters, digits, ``_`` and ``-``, starting with a letter or digit.
    """

    def __init__(
        self, workspace: Workspace, name: str, _skip_name_validation: bool = False, **kwargs: Any
    ):
        if not _skip_name_validation:
            check_experiment_name(name)
        self.workspace = workspace
        self.name = name

    @property
    def id(self) -> str:
        """The experiment id (its name)."""
        return self.name

    def submit(self, config: Any, tags: dict[str, str] | None = None, **kwargs: Any) -> PipelineRun:
        """Submit ``config`` (a ``Pipeline``, ``PublishedPipeline`` or ``PipelineEndpoint``)
        and return its run at once.

        Keyword arguments: ``pipeline_parameters``, ``parent_run_id``; for a pipeline also
        ``continue_on_step_failure``, ``regenerate_outputs``; for a published pipeline
        ``continue_on_step_failure``; for an endpoint ``pipeline_version``. Validation
        problems raise before anything runs.
        """
        submit = getattr(config, "_experiment_submit", None)
        if submit is None:
            raise NotSupportedError(
                f"Experiment.submit of a {type(config).__name__} is not supported; submit a "
                "Pipeline, PublishedPipeline or PipelineEndpoint (wrap scripts in a "
                "PythonScriptStep)"
            )
        accepted: dict[str, Any] = config._submit_kwargs  # name -> default
        unknown = sorted(set(kwargs) - set(accepted) - _IGNORED_SUBMIT_KWARGS)
        if unknown:
            raise ValidationError(
                f"unexpected argument(s) {unknown} for submitting a {type(config).__name__}; "
                f"expected some of {sorted(accepted)}",
                field="submit",
            )
        given = {k: kwargs[k] if kwargs.get(k) is not None else d for k, d in accepted.items()}
        params = given.pop("pipeline_parameters", None)
        if kwargs.get("pipeline_params") is not None:
            warnings.warn(
                "pipeline_params is deprecated; use pipeline_parameters",
                DeprecationWarning,
                stacklevel=2,
            )
            params = {**kwargs["pipeline_params"], **(params or {})}
        extra = {k: given.pop(k) for k in list(given) if k not in _OPTION_FIELDS}
        options = RunOptions(
            experiment_name=self.name, pipeline_parameters=params or {}, tags=tags or {}, **given
        )
        run: PipelineRun = submit(self, options, **extra)
        return run

    def get_runs(
        self,
        type: str | None = None,
        tags: Any = None,
        properties: Any = None,
        include_children: bool = False,
    ) -> Iterator[PipelineRun]:
        """Runs of this experiment, newest first."""
        backend = self.workspace._backend
        for run_id in backend.list_runs(self.name):
            yield backend.pipeline_run(self, run_id)

    @staticmethod
    def list(
        workspace: Workspace,
        experiment_name: str | None = None,
        view_type: Any = None,
        tags: Any = None,
    ) -> list[Experiment]:
        """Experiments of ``workspace`` (optionally only ``experiment_name``)."""
        names = workspace.experiments
        if experiment_name is not None:
            return [names[experiment_name]] if experiment_name in names else []
        return list(names.values())

    def __repr__(self) -> str:
        return f"Experiment(Name: {self.name}, Workspace: {self.workspace.name})"


# ------------------------------------------------------------------- run options
def _flag(name: str, value: Any, *, optional: bool = False) -> bool | None:
    """A boolean option: ``True``/``False`` only (``"false"`` is not False)."""
    if value is None and optional:
        return None
    if not isinstance(value, bool):
        raise ValidationError(
            f"{name} must be True or False, got {value!r} ({type(value).__name__})", field=name
        )
    return value


def _mapping(name: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(f"{name} must be a dict, got {type(value).__name__}", field=name)
    return dict(value)


@dataclass(frozen=True)
class RunOptions:
    """Everything one run is started with, beyond the pipeline itself (typed, validated).

    Built by ``Experiment.submit`` (Python), ``PublishedPipeline.submit`` and the
    AML-compatible REST routes, and turned into the DAG-run conf in one place,
    :meth:`conf`.

    :param experiment_name: the experiment the run belongs to.
    :param pipeline_parameters: parameter values by name (Python values, or REST strings).
    :param continue_on_step_failure: ``None`` keeps the pipeline's default.
    :param from_rest: values are REST ``ParameterAssignments`` strings, converted to the
        parameter's type; names the pipeline does not declare are ignored (and named in
        :attr:`ignored_parameters` of :meth:`resolve`), as the AML service does. From
        Python an unknown name is an error, as v1's ``_validate_pipeline_params``.
    """

    experiment_name: str
    pipeline_parameters: Mapping[str, Any] = field(default_factory=dict)
    continue_on_step_failure: bool | None = None
    regenerate_outputs: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)
    parent_run_id: str | None = None
    description: str | None = None
    run_source: str = "SDK"
    run_type: str = "SDK"
    submitted_by: str | None = None
    published_pipeline_id: str | None = None
    pipeline_endpoint_id: str | None = None
    from_rest: bool = False

    def __post_init__(self) -> None:
        check_experiment_name(self.experiment_name)
        object.__setattr__(
            self, "pipeline_parameters", _mapping("pipeline_parameters", self.pipeline_parameters)
        )
        object.__setattr__(
            self, "tags", {str(k): str(v) for k, v in _mapping("tags", self.tags).items()}
        )
        _flag("continue_on_step_failure", self.continue_on_step_failure, optional=True)
        _flag("regenerate_outputs", self.regenerate_outputs)
        for name in ("description", "parent_run_id", "run_source", "run_type"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValidationError(
                    f"{name} must be a string, got {type(value).__name__}", field=name
                )

    def with_changes(self, **changes: Any) -> RunOptions:
        """A copy with fields replaced (validated again)."""
        return replace(self, **changes)

    # ---------------------------------------------------------- parameters
    def resolve(self, spec: PipelineSpec) -> tuple[dict[str, Any], list[str]]:
        """The JSON values of every parameter of ``spec`` for this run, and the names of
        ignored REST assignments. Unknown names (from Python) and wrong types raise
        :class:`ValidationError` naming the parameter."""
        declared = {p.name: p for p in spec.parameters}
        unknown = sorted(str(n) for n in self.pipeline_parameters if n not in declared)
        if unknown and not self.from_rest:
            raise ValidationError(
                f"unknown pipeline parameter(s) {unknown}; this pipeline's parameters are "
                f"{sorted(declared) or 'none'}",
                field="pipeline_parameters",
            )
        values = {}
        for name, param in declared.items():
            if name not in self.pipeline_parameters:
                values[name] = param.default
                continue
            value = self.pipeline_parameters[name]
            if self.from_rest and isinstance(value, str) and param.type != "string":
                value = _from_string(name, param.type, value)
            values[name] = _coerce(name, param, value, spec)
            self._check_value(name, values[name])
        self._check_commands(spec, values)
        return values, unknown

    def _where(self, name: str) -> str:
        return f"ParameterAssignments.{name}" if self.from_rest else f"pipeline_parameters.{name}"

    def _check_value(self, name: str, value: Any) -> None:
        """A run value must reach the step's command line: no NUL byte, not over the OS
        limit on one argument (as argument and as ``AML_PARAMETER_<name>``)."""
        problem = value_problem(value, env_name=parameter_env(name))
        if problem is not None:
            raise ValidationError(f"value {_shown(value)} {problem}", field=self._where(name))

    def _check_commands(self, spec: PipelineSpec, values: dict[str, Any]) -> None:
        """Every step's arguments and environment with this run's values fit the OS limit."""
        for step in spec.steps:
            problem = command_problem(spec, step, values)
            if problem is not None:
                given = sorted(set(self.pipeline_parameters) & set(values))
                raise ValidationError(
                    f"with the values given for {given}, step {step.name!r} cannot start: "
                    f"{problem}",
                    step=step.name,
                    field="ParameterAssignments" if self.from_rest else "pipeline_parameters",
                )

    def conf(self, spec: PipelineSpec) -> dict[str, Any]:
        """The DAG-run conf of a run of ``spec``: parameter values plus the AML options
        under ``conf["azureml"]``."""
        values, ignored = self.resolve(spec)
        keep_going = self.continue_on_step_failure
        options: dict[str, Any] = {
            "experiment_name": self.experiment_name,
            "continue_on_step_failure": spec.continue_on_step_failure
            if keep_going is None
            else keep_going,
            "regenerate_outputs": self.regenerate_outputs,
            "tags": dict(self.tags),
            "parent_run_id": self.parent_run_id,
            "description": self.description,
            "run_source": self.run_source,
            "run_type": self.run_type,
        }
        extras = {
            "published_pipeline_id": self.published_pipeline_id,
            "pipeline_endpoint_id": self.pipeline_endpoint_id,
            "submitted_by": self.submitted_by,
            "ignored_parameters": ignored or None,
        }
        options.update({k: v for k, v in extras.items() if v is not None})
        return {**values, RESERVED_CONF_KEY: options}


def _shown(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 5]}...{text[-2:]}"


def _finite_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


_TYPE_CHECKS = {
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": _finite_number,
    "string": lambda v: isinstance(v, str),
}


def _coerce(name: str, param: ParameterSpec, value: Any, spec: PipelineSpec) -> Any:
    """``value`` as the JSON value of parameter ``param`` (raises naming the parameter)."""
    where = f"pipeline_parameters.{name}"
    if param.type == "datapath":
        to_json = getattr(value, "_to_json", None)  # a DataPath
        if callable(to_json):
            value = to_json()
        if not (
            isinstance(value, dict)
            and set(value) <= {"datastore", "path"}
            and isinstance(value.get("path", ""), str)
        ):
            raise ValidationError(f"expected a DataPath, got {type(value).__name__}", field=where)
        store = value.get("datastore") or spec.default_datastore
        if store not in spec.datastores:
            raise ValidationError(
                f"DataPath on datastore {store!r}, which this pipeline does not use; use one "
                f"of {sorted(spec.datastores)} (or give the PipelineParameter a default on "
                f"{store!r})",
                field=where,
            )
        return {"datastore": store, "path": safe_relative_path(value.get("path", ""), field=where)}
    if not _TYPE_CHECKS[param.type](value):
        raise ValidationError(
            f"expected a value of type {param.type}, got {_shown(value)} ({type(value).__name__})",
            field=where,
        )
    return float(value) if param.type == "number" else value


_BOOLEAN_STRINGS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _from_string(name: str, ptype: str, value: str) -> Any:
    """A REST ``ParameterAssignments`` string as a value of the parameter's type."""
    text = value.strip()
    converted: Any = None
    if ptype == "integer" and re.fullmatch(r"[+-]?\d{1,4000}", text):
        converted = int(text)
    elif ptype == "number":
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        converted = number if math.isfinite(number) else None
    elif ptype == "boolean":
        converted = _BOOLEAN_STRINGS.get(text.lower())
    elif ptype not in ("integer", "number", "boolean"):
        return value
    if converted is None:
        raise ValidationError(
            f"value {_shown(value)} cannot be converted to {ptype}",
            field=f"ParameterAssignments.{name}",
        )
    return converted
