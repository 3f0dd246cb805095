"""Probe: bad input is caught when it is given, never at run time (issue #10).

ONE table-driven test. Each row feeds one bad value to one entry point: the object
model (constructors and ``validate()``), ``submit()`` (``RunOptions``), datastores,
the AML-compatible REST routes (a real api-server: the ``ui_server`` fixture), DAG-run
conf through plain Airflow REST (``POST /api/v2/dags/{dag_id}/dagRuns``), and the step
operators' reading of conf. It names the typed error (and the step/field) or the HTTP
status, and a reason the answer must contain.

Bounded: the object-model rows use a fresh workspace and compile only; the REST and
conf rows share one server and one published pipeline, run once (so that its DAG is in
the metadata DB for the plain Airflow REST rows; that run is also the check that the
conf our own triggers write passes the DAG's ``azureml`` schema). Rows that need the
api-server are in the ``e2e`` tier.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from airflow_aml.core import Datastore, Experiment, RunConfiguration, Workspace
from airflow_aml.core.experiment import RunOptions
from airflow_aml.data import DataPath, DataPathComputeBinding, DataReference
from airflow_aml.exceptions import (
    DatastoreException,
    NotSupportedError,
    PipelineValidationError,
    UserErrorException,
    ValidationError,
)
from airflow_aml.pipeline.core import Pipeline, PipelineData, PipelineParameter
from airflow_aml.pipeline.steps import PythonScriptStep

BIG = "x" * 131072  # over MAX_ARG_STRLEN (131072 bytes with the NUL)
ENV_BIG = "z" * 131060  # one argument, but not as AML_PARAMETER_<name>=<value>


# ------------------------------------------------------------------ the probe's world
class Probe:
    """What the rows feed: a fresh workspace (compile only), and, for REST rows, the
    session's workspace, its api-server and one published pipeline."""

    def __init__(self, request: pytest.FixtureRequest, tmp: Path):
        self._request = request
        self.tmp = tmp
        self.ws = Workspace("sub", "rg", "probe_ws", home=tmp / "home")
        self.src = tmp / "src"
        self.src.mkdir()
        (self.src / "a.py").write_text("print('a')\n")
        self.store = self.ws.get_default_datastore()
        self._published: Any = None
        self._ran = False

    # -- object model
    def step(self, **kwargs: Any) -> PythonScriptStep:
        kwargs.setdefault("source_directory", str(self.src))
        kwargs.setdefault("name", "s")
        return PythonScriptStep(kwargs.pop("script_name", "a.py"), **kwargs)

    def validate(self, **kwargs: Any) -> list[ValidationError]:
        return Pipeline(self.ws, [self.step(**kwargs)]).validate()

    def pipeline(self, **kwargs: Any) -> Pipeline:
        return Pipeline(self.ws, [self.step(**kwargs)])

    def param_pipeline(self) -> Pipeline:
        """A pipeline with a parameter of each type (submit rows)."""
        where = DataPath(self.store, "in")
        binding = (PipelineParameter("where", where), DataPathComputeBinding())
        args = [
            PipelineParameter("count", 3),
            PipelineParameter("rate", 0.5),
            PipelineParameter("flag", False),
            PipelineParameter("label", "x"),
            binding,
        ]
        return self.pipeline(arguments=args, inputs=[binding])

    def submit(self, **kwargs: Any) -> Any:
        return self.param_pipeline().submit("probe", **kwargs)

    def store_named(self, name: str) -> Datastore:
        """A datastore object with ``name`` (as one read from a hand-edited workspace)."""
        return Datastore._from_definition(
            self.ws, name, {"type": "local", "root": str(self.tmp / "elsewhere")}
        )

    # -- REST
    @property
    def server(self) -> Any:
        return self._request.getfixturevalue("ui_server")

    @property
    def published(self) -> Any:
        if self._published is None:
            ws = self._request.getfixturevalue("ws")
            src = self.tmp / "rest_src"
            src.mkdir()
            (src / "echo.py").write_text("import sys\nprint(sys.argv[1:])\n")
            where = (
                PipelineParameter("where", DataPath(ws.get_default_datastore(), "in")),
                DataPathComputeBinding(),
            )
            step = PythonScriptStep(
                "echo.py",
                name="echo",
                source_directory=str(src),
                arguments=[
                    PipelineParameter("count", 3),
                    PipelineParameter("flag", False),
                    PipelineParameter("label", "x"),
                    where,
                ],
                inputs=[where],
            )
            self._published = Pipeline(ws, [step]).publish(name="probe-bad-input", version="1")
        return self._published

    def aml(self, body: Any = None, *, content: bytes | None = None, **kw: Any) -> Any:
        url = f"{self.server.base}/aml/{self.published.endpoint.split('/aml/', 1)[1]}"
        headers = {**self.server.headers(), "Content-Type": "application/json"}
        headers.update(kw.pop("headers", {}))
        if content is None:
            content = json.dumps(body).encode()
        return httpx.post(url, content=content, headers=headers, timeout=60, **kw)

    def trigger(self, conf: Any) -> Any:
        """Plain Airflow REST: a DAG run of the published pipeline with ``conf``."""
        if not self._ran:  # the DAG is in the metadata DB once it ran (embedded home)
            self._ran = True
            ws = self._request.getfixturevalue("ws")
            (self.tmp / "in").mkdir(exist_ok=True)
            (self.tmp / "in" / "data.txt").write_text("probe\n")
            store = ws.get_default_datastore()
            store.upload_files(
                [str(self.tmp / "in" / "data.txt")], target_path="in", overwrite=True
            )
            run = self.published.submit(ws, "probe_warmup")
            assert run.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"
        url = f"{self.server.base}/api/v2/dags/{self.published.dag_id}/dagRuns"
        body = {"logical_date": None, "conf": conf}
        return httpx.post(url, json=body, headers=self.server.headers(), timeout=60)


@pytest.fixture(scope="module")
def probe(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Probe:
    return Probe(request, tmp_path_factory.mktemp("probe"))


# ------------------------------------------------------------------------- the table
@dataclass(frozen=True)
class Row:
    """One bad input: what it feeds, the call, the expected error (a class, or an HTTP
    status), a reason the answer contains, and the step/field a ValidationError names."""

    feeds: str
    call: Callable[[Probe], Any]
    expect: type[BaseException] | int
    reason: str
    step: str | None = None
    field: str | None = None


def rc(**variables: Any) -> RunConfiguration:
    config = RunConfiguration()
    config.environment_variables = dict(variables)
    return config


def env_rc(**variables: Any) -> RunConfiguration:
    config = RunConfiguration()
    config.environment.environment_variables = dict(variables)
    return config


def dp_default(probe: Probe, path: str) -> list[ValidationError]:
    """A DataPath default whose path was set after construction (DataPath() refuses it)."""
    value = DataPath(probe.store, "ok")
    value.path_on_datastore = path
    binding = (PipelineParameter("where", value), DataPathComputeBinding())
    return probe.validate(arguments=[binding], inputs=[binding])


def on_store(probe: Probe, name: str, *, output: bool = False) -> list[ValidationError]:
    store = probe.store_named(name)
    if output:
        data = PipelineData("out", datastore=store)
        return probe.validate(arguments=[data], outputs=[data])
    ref = DataReference(store, "inp", "in")
    return probe.validate(arguments=[ref], inputs=[ref])


def options(**kwargs: Any) -> Any:
    return RunOptions("probe", **kwargs)


def resolve(probe: Probe, values: dict[str, Any], *, rest: bool = False) -> Any:
    result = probe.param_pipeline()._compile("probe")
    assert result.spec is not None, result.errors
    return RunOptions("probe", pipeline_parameters=values, from_rest=rest).resolve(result.spec)


def _ctx(azureml: Any) -> dict[str, Any]:
    return {"dag_run": SimpleNamespace(conf={"azureml": azureml})}


def run_options_of(azureml: Any) -> Any:
    from airflow_aml.operators.common import run_options

    return run_options(_ctx(azureml))


def forced_miss_of(azureml: dict[str, Any]) -> Any:
    from airflow_aml.operators.reuse_check import forced_miss
    from airflow_aml.spec import StepSpec

    spec = StepSpec("train", "train", "PythonScriptStep", "a.py", "/src", "d")
    return forced_miss(spec, azureml)


def nested(depth: int, inner: bytes = b"1") -> bytes:
    return b"[" * depth + inner + b"]" * depth


V = ValidationError
E = "ExperimentName"
PA = "ParameterAssignments"
DPA = "DataPathAssignments"
WB = "workspaceblobstore"

# fmt: off
MODEL = [
    Row("PythonScriptStep(script_name=None)", lambda p: p.step(script_name=None), V, "script_name is required", field="script_name"),  # noqa: E501
    Row("PythonScriptStep(script_name=5)", lambda p: p.step(script_name=5), V, "must be a string", field="script_name"),  # noqa: E501
    Row("PythonScriptStep(arguments='--x')", lambda p: p.step(arguments="--x"), V, "must be a list", field="arguments"),  # noqa: E501
    Row("PythonScriptStep(params=[...])", lambda p: p.step(params=["a"]), V, "params must be a dict", field="params"),  # noqa: E501
    Row("Pipeline(description=5)", lambda p: Pipeline(p.ws, [p.step()], description=5), V, "description must be a string", field="description"),  # noqa: E501
    Row("Pipeline(description={...})", lambda p: Pipeline(p.ws, [p.step()], description={"a": 1}), V, "not dict", field="description"),  # noqa: E501
    Row("Pipeline(steps=[])", lambda p: Pipeline(p.ws, []), V, "at least one step", field="steps"),  # noqa: E501
    Row("Pipeline(steps=5)", lambda p: Pipeline(p.ws, 5), V, "steps must be steps", field="steps"),  # noqa: E501
    Row("Pipeline(colour=...)", lambda p: Pipeline(p.ws, [p.step()], colour="red"), V, "unexpected argument", field="Pipeline"),  # noqa: E501
    Row("DataPath(datastore='name')", lambda p: DataPath("workspaceblobstore", "x"), V, "not the string 'workspaceblobstore'", field="DataPath.datastore"),  # noqa: E501
    Row("DataPath(datastore=123)", lambda p: DataPath(123, "x"), V, "must be a Datastore, not int", field="DataPath.datastore"),  # noqa: E501
    Row("DataPath(datastore named '../x')", lambda p: DataPath(p.store_named("../x"), "x"), V, "datastore name '../x' is invalid", field="DataPath.datastore"),  # noqa: E501
    Row("DataPath(path '../x')", lambda p: DataPath(p.store, "../x"), V, "must not contain '..'", field="DataPath.path_on_datastore"),  # noqa: E501
    Row("DataPath(path '/abs')", lambda p: DataPath(p.store, "/abs"), V, "must be relative", field="DataPath.path_on_datastore"),  # noqa: E501
    Row("DataPath(path 'C:/x')", lambda p: DataPath(p.store, "C:/x"), V, "must be relative", field="DataPath.path_on_datastore"),  # noqa: E501
    Row("DataPath(path with NUL)", lambda p: DataPath(p.store, "a\x00b"), V, "NUL byte", field="DataPath.path_on_datastore"),  # noqa: E501
    Row("DataPath(path=5)", lambda p: DataPath(p.store, 5), V, "expected a path string", field="DataPath.path_on_datastore"),  # noqa: E501
    Row("DataReference(path '../x')", lambda p: DataReference(p.store, "d", "../x"), V, "must not contain '..'"),  # noqa: E501
    Row("DataReference(path with NUL)", lambda p: DataReference(p.store, "d", "a\x00"), V, "NUL byte"),  # noqa: E501
    Row("Experiment(name of 241)", lambda p: Experiment(p.ws, "a" * 241), V, "at most 240", field="experiment_name"),  # noqa: E501
    Row("Experiment(name of 255)", lambda p: Experiment(p.ws, "b" * 255), V, "dag_id of its runs, limited to 250 characters (ID_LEN)", field="experiment_name"),  # noqa: E501
    Row("Experiment(name of 256)", lambda p: Experiment(p.ws, "c" * 256), V, "at most 240", field="experiment_name"),  # noqa: E501
    Row("Experiment(name 'a b')", lambda p: Experiment(p.ws, "a b"), V, "is invalid", field="experiment_name"),  # noqa: E501
    Row("Experiment(name '')", lambda p: Experiment(p.ws, ""), V, "is invalid", field="experiment_name"),  # noqa: E501
    Row("Experiment(name '../x')", lambda p: Experiment(p.ws, "../x"), V, "is invalid", field="experiment_name"),  # noqa: E501
    Row("Experiment(name=5)", lambda p: Experiment(p.ws, 5), V, "is invalid", field="experiment_name"),  # noqa: E501
    Row("Experiment(name with NUL)", lambda p: Experiment(p.ws, "a\x00"), V, "is invalid", field="experiment_name"),  # noqa: E501
    Row("publish(name='')", lambda p: p.pipeline().publish(name=""), V, "needs a name", field="name"),  # noqa: E501
    Row("publish(version=3)", lambda p: p.pipeline().publish(name="n", version=3), V, "must be a string", field="version"),  # noqa: E501
    Row("publish(version=1.0)", lambda p: p.pipeline().publish(name="n", version=1.0), V, "not float", field="version"),  # noqa: E501
    Row("publish(description={...})", lambda p: p.pipeline().publish(name="n", description={"a": 1}), V, "must be a string", field="description"),  # noqa: E501
    Row("publish(continue_on_step_failure='no')", lambda p: p.pipeline().publish(name="n", continue_on_step_failure="no"), V, "True, False or None", field="continue_on_step_failure"),  # noqa: E501
]

VALIDATE = [
    Row("RunConfiguration.environment_variables name 'A=B'", lambda p: p.validate(runconfig=rc(**{"A=B": "1"})), V, "contains '='", "s", "runconfig.environment_variables"),  # noqa: E501
    Row("RunConfiguration.environment_variables name ''", lambda p: p.validate(runconfig=rc(**{"": "1"})), V, "is empty", "s", "runconfig.environment_variables"),  # noqa: E501
    Row("RunConfiguration.environment_variables name with NUL", lambda p: p.validate(runconfig=rc(**{"A\x00": "1"})), V, "NUL byte", "s", "runconfig.environment_variables"),  # noqa: E501
    Row("RunConfiguration.environment_variables name=5", lambda p: p.validate(runconfig=_rc_int_key()), V, "must be a string, not int", "s", "runconfig.environment_variables"),  # noqa: E501
    Row("RunConfiguration.environment_variables value with NUL", lambda p: p.validate(runconfig=rc(A="x\x00")), V, "NUL byte", "s", "runconfig.environment_variables"),  # noqa: E501
    Row("RunConfiguration.environment_variables value NaN", lambda p: p.validate(runconfig=rc(A=math.nan)), V, "finite", "s", "runconfig.environment_variables"),  # noqa: E501
    Row("RunConfiguration.environment_variables value of 128 KiB", lambda p: p.validate(runconfig=rc(A=BIG)), V, "MAX_ARG_STRLEN", "s", "runconfig.environment_variables"),  # noqa: E501
    Row("RunConfiguration.environment_variables value dict", lambda p: p.validate(runconfig=rc(A={"b": 1})), V, "plain value", "s", "runconfig.environment_variables"),  # noqa: E501
    Row("RunConfiguration.environment_variables = list", lambda p: p.validate(runconfig=_rc_list()), V, "must be a dict", "s", "runconfig.environment_variables"),  # noqa: E501
    Row("Environment.environment_variables name 'A=B'", lambda p: p.validate(runconfig=env_rc(**{"A=B": "1"})), V, "contains '='", "s", "runconfig.environment.environment_variables"),  # noqa: E501
    Row("Environment.environment_variables name ''", lambda p: p.validate(runconfig=env_rc(**{"": "1"})), V, "is empty", "s", "runconfig.environment.environment_variables"),  # noqa: E501
    Row("Environment.environment_variables value with NUL", lambda p: p.validate(runconfig=env_rc(B="\x00")), V, "NUL byte", "s", "runconfig.environment.environment_variables"),  # noqa: E501
    Row("runconfig={...}", lambda p: p.validate(runconfig={"environment_variables": {}}), V, "must be a RunConfiguration", "s", "runconfig"),  # noqa: E501
    Row("params name 'a=b'", lambda p: p.validate(params={"a=b": 1}), V, "contains '='", "s", "params"),  # noqa: E501
    Row("params name ''", lambda p: p.validate(params={"": 1}), V, "is empty", "s", "params"),  # noqa: E501
    Row("params name with NUL", lambda p: p.validate(params={"a\x00": 1}), V, "NUL byte", "s", "params"),  # noqa: E501
    Row("params name=5", lambda p: p.validate(params={5: 1}), V, "must be a string, not int", "s", "params"),  # noqa: E501
    Row("params value with NUL", lambda p: p.validate(params={"a": "x\x00"}), V, "NUL byte", "s", "params"),  # noqa: E501
    Row("params value NaN", lambda p: p.validate(params={"a": math.nan}), V, "finite", "s", "params"),  # noqa: E501
    Row("params value inf", lambda p: p.validate(params={"a": math.inf}), V, "finite", "s", "params"),  # noqa: E501
    Row("params value of 128 KiB", lambda p: p.validate(params={"a": BIG}), V, "MAX_ARG_STRLEN", "s", "params"),  # noqa: E501
    Row("params value [..]", lambda p: p.validate(params={"a": [1]}), V, "plain value or PipelineParameter", "s", "params"),  # noqa: E501
    Row("arguments literal with NUL", lambda p: p.validate(arguments=["--x", "a\x00b"]), V, "NUL byte", "s", "arguments"),  # noqa: E501
    Row("arguments literal NaN", lambda p: p.validate(arguments=[math.nan]), V, "not NaN or infinity", "s", "arguments"),  # noqa: E501
    Row("arguments literal inf", lambda p: p.validate(arguments=[math.inf]), V, "finite", "s", "arguments"),  # noqa: E501
    Row("arguments literal -inf", lambda p: p.validate(arguments=[-math.inf]), V, "finite", "s", "arguments"),  # noqa: E501
    Row("arguments literal 10**4000", lambda p: p.validate(arguments=[10**4000]), V, "4000 digits", "s", "arguments"),  # noqa: E501
    Row("arguments literal of 128 KiB", lambda p: p.validate(arguments=[BIG]), V, "MAX_ARG_STRLEN = 131072", "s", "arguments"),  # noqa: E501
    Row("arguments of 40 x 100 KB", lambda p: p.validate(arguments=["y" * 100_000] * 40), V, "SC_ARG_MAX", "s", "arguments"),  # noqa: E501
    Row("arguments [object()]", lambda p: p.validate(arguments=[object()]), V, "is not supported", "s", "arguments"),  # noqa: E501
    Row("arguments [{...}]", lambda p: p.validate(arguments=[{"a": 1}]), V, "is not supported", "s", "arguments"),  # noqa: E501
    Row("PipelineParameter default with NUL", lambda p: p.validate(arguments=[PipelineParameter("p", "a\x00")]), V, "NUL byte", "s", "PipelineParameter.default_value"),  # noqa: E501
    Row("PipelineParameter default of 128 KiB", lambda p: p.validate(arguments=[PipelineParameter("p", BIG)]), V, "MAX_ARG_STRLEN", "s", "PipelineParameter.default_value"),  # noqa: E501
    Row("PipelineParameter default too long as AML_PARAMETER_p", lambda p: p.validate(arguments=[PipelineParameter("p", ENV_BIG)]), V, "AML_PARAMETER_p", "s", "PipelineParameter.default_value"),  # noqa: E501
    Row("PipelineParameter default NaN", lambda p: p.validate(arguments=[PipelineParameter("p", math.nan)]), V, "(finite)", "s", "PipelineParameter.default_value"),  # noqa: E501
    Row("PipelineParameter default 10**4000", lambda p: p.validate(arguments=[PipelineParameter("p", 10**4000)]), V, "4000 digits", "s", "PipelineParameter.default_value"),  # noqa: E501
    Row("PipelineParameter default [..]", lambda p: p.validate(arguments=[PipelineParameter("p", [1])]), V, "defaults must be", "s", "PipelineParameter.default_value"),  # noqa: E501
    Row("PipelineParameter name 'a=b'", lambda p: p.validate(arguments=[PipelineParameter("a=b", 1)]), V, "is invalid", "s", "PipelineParameter.name"),  # noqa: E501
    Row("PipelineParameter name 'azureml'", lambda p: p.validate(arguments=[PipelineParameter("azureml", 1)]), V, "is reserved", "s", "PipelineParameter.name"),  # noqa: E501
    Row("PipelineParameter DataPath default path '../x'", lambda p: dp_default(p, "../x"), V, "must not contain '..'", "s", "PipelineParameter.default_value"),  # noqa: E501
    Row("PipelineParameter DataPath default path '/abs'", lambda p: dp_default(p, "/abs"), V, "must be relative", "s", "PipelineParameter.default_value"),  # noqa: E501
    Row("PipelineParameter DataPath default path with NUL", lambda p: dp_default(p, "a\x00"), V, "NUL byte", "s", "PipelineParameter.default_value"),  # noqa: E501
    Row("PythonScriptStep(version=3)", lambda p: p.validate(version=3), V, "version must be a string", "s", "version"),  # noqa: E501
    Row("PythonScriptStep(version=[...])", lambda p: p.validate(version=["1"]), V, "not list", "s", "version"),  # noqa: E501
    Row("PythonScriptStep(allow_reuse='false')", lambda p: p.validate(allow_reuse="false"), V, "must be True or False", "s", "allow_reuse"),  # noqa: E501
    Row("PythonScriptStep(allow_reuse=None)", lambda p: p.validate(allow_reuse=None), V, "must be True or False", "s", "allow_reuse"),  # noqa: E501
    Row("PythonScriptStep(source_directory with NUL)", lambda p: p.validate(source_directory="a\x00"), V, "NUL", "s", "source_directory"),  # noqa: E501
    Row("PythonScriptStep(source_directory missing)", lambda p: p.validate(source_directory=str(p.tmp / "nope")), V, "does not exist", "s", "source_directory"),  # noqa: E501
    Row("PythonScriptStep(script_name with NUL)", lambda p: p.validate(script_name="a\x00.py"), V, "NUL byte", "s", "script_name"),  # noqa: E501
    Row("PythonScriptStep(script_name '../a.py')", lambda p: p.validate(script_name="../a.py"), V, "must be relative", "s", "script_name"),  # noqa: E501
    Row("PythonScriptStep(script_name '/a.py')", lambda p: p.validate(script_name="/a.py"), V, "must be relative", "s", "script_name"),  # noqa: E501
    Row("PythonScriptStep(name with NUL)", lambda p: p.validate(name="a\x00"), V, "NUL byte", "'a\\x00'", "name"),  # noqa: E501
    Row("PythonScriptStep(data_aware_reuse='yes')", lambda p: p.validate(data_aware_reuse="yes"), V, "must be False, True", "s", "data_aware_reuse"),  # noqa: E501
    Row("PythonScriptStep(reuse_max_age=-1)", lambda p: p.validate(reuse_max_age=-1), V, "positive number", "s", "reuse_max_age"),  # noqa: E501
    Row("PythonScriptStep(compute_target='nope')", lambda p: p.validate(compute_target="nope"), V, "is not registered", "s", "compute_target"),  # noqa: E501
    Row("PipelineData('../x') output", lambda p: _output(p, "../x"), V, "not a valid identifier", "s", "outputs"),  # noqa: E501
    Row("Pipeline.description set to {...}", lambda p: _described(p, {"a": 1}), V, "description must be a string", None, "description"),  # noqa: E501
    Row("Pipeline.as_dag(dag_id of 241)", lambda p: p.pipeline().as_dag("d" * 241), PipelineValidationError, "field 'experiment_name': experiment name 'ddd"),  # noqa: E501
]

SUBMIT = [
    Row("submit(regenerate_outputs='false')", lambda p: p.submit(regenerate_outputs="false"), V, "must be True or False", field="regenerate_outputs"),  # noqa: E501
    Row("submit(regenerate_outputs=0)", lambda p: p.submit(regenerate_outputs=0), V, "got 0 (int)", field="regenerate_outputs"),  # noqa: E501
    Row("submit(regenerate_outputs='true')", lambda p: p.submit(regenerate_outputs="true"), V, "must be True or False", field="regenerate_outputs"),  # noqa: E501
    Row("submit(continue_on_step_failure='no')", lambda p: p.submit(continue_on_step_failure="no"), V, "must be True or False", field="continue_on_step_failure"),  # noqa: E501
    Row("submit(continue_on_step_failure=1)", lambda p: p.submit(continue_on_step_failure=1), V, "got 1 (int)", field="continue_on_step_failure"),  # noqa: E501
    Row("submit(pipeline_parameters unknown)", lambda p: p.submit(pipeline_parameters={"cuont": 1}), V, "unknown pipeline parameter(s) ['cuont']", field="pipeline_parameters"),  # noqa: E501
    Row("submit(pipeline_parameters=[...])", lambda p: p.submit(pipeline_parameters=["count"]), V, "must be a dict", field="pipeline_parameters"),  # noqa: E501
    Row("submit(count='3')", lambda p: p.submit(pipeline_parameters={"count": "3"}), V, "expected a value of type integer", field="pipeline_parameters.count"),  # noqa: E501
    Row("submit(count=True)", lambda p: p.submit(pipeline_parameters={"count": True}), V, "type integer", field="pipeline_parameters.count"),  # noqa: E501
    Row("submit(count=10**4000)", lambda p: p.submit(pipeline_parameters={"count": 10**4000}), V, "4000 digits", field="pipeline_parameters.count"),  # noqa: E501
    Row("submit(rate=NaN)", lambda p: p.submit(pipeline_parameters={"rate": math.nan}), V, "type number", field="pipeline_parameters.rate"),  # noqa: E501
    Row("submit(rate=inf)", lambda p: p.submit(pipeline_parameters={"rate": math.inf}), V, "type number", field="pipeline_parameters.rate"),  # noqa: E501
    Row("submit(rate=10**400)", lambda p: p.submit(pipeline_parameters={"rate": 10**400}), V, "type number", field="pipeline_parameters.rate"),  # noqa: E501
    Row("submit(flag='yes')", lambda p: p.submit(pipeline_parameters={"flag": "yes"}), V, "type boolean", field="pipeline_parameters.flag"),  # noqa: E501
    Row("submit(label with NUL)", lambda p: p.submit(pipeline_parameters={"label": "a\x00b"}), V, "NUL byte", field="pipeline_parameters.label"),  # noqa: E501
    Row("submit(label of 900 KB)", lambda p: p.submit(pipeline_parameters={"label": "v" * 900_000}), V, "MAX_ARG_STRLEN = 131072", field="pipeline_parameters.label"),  # noqa: E501
    Row("submit(label too long as AML_PARAMETER_label)", lambda p: p.submit(pipeline_parameters={"label": ENV_BIG}), V, "AML_PARAMETER_label", field="pipeline_parameters.label"),  # noqa: E501
    Row("submit(label of 70000 'é', 140000 bytes)", lambda p: p.submit(pipeline_parameters={"label": "é" * 70_000}), V, "140000 bytes", field="pipeline_parameters.label"),  # noqa: E501
    Row("submit(where='in/x', not a DataPath)", lambda p: p.submit(pipeline_parameters={"where": "in/x"}), V, "expected a DataPath", field="pipeline_parameters.where"),  # noqa: E501
    Row("submit(where DataPath '../x')", lambda p: p.submit(pipeline_parameters={"where": {"datastore": WB, "path": "../x"}}), V, "must not contain '..'", field="pipeline_parameters.where"),  # noqa: E501
    Row("submit(where DataPath '/abs')", lambda p: p.submit(pipeline_parameters={"where": {"datastore": WB, "path": "/abs"}}), V, "must be relative", field="pipeline_parameters.where"),  # noqa: E501
    Row("submit(where DataPath with NUL)", lambda p: p.submit(pipeline_parameters={"where": {"datastore": WB, "path": "a\x00"}}), V, "NUL byte", field="pipeline_parameters.where"),  # noqa: E501
    Row("submit(where DataPath on unknown datastore)", lambda p: p.submit(pipeline_parameters={"where": {"datastore": "nope", "path": "x"}}), V, "'nope', which this pipeline does not use", field="pipeline_parameters.where"),  # noqa: E501
    Row("submit(where DataPath object on another datastore)", lambda p: p.submit(pipeline_parameters={"where": DataPath(p.store_named("other"), "x")}), V, "'other'", field="pipeline_parameters.where"),  # noqa: E501
    Row("submit(where with extra keys)", lambda p: p.submit(pipeline_parameters={"where": {"datastore": WB, "path": "x", "extra": 1}}), V, "expected a DataPath", field="pipeline_parameters.where"),  # noqa: E501
    Row("submit(colour='red')", lambda p: p.submit(colour="red"), V, "unexpected argument(s) ['colour']", field="submit"),  # noqa: E501
    Row("Experiment.submit(object())", lambda p: Experiment(p.ws, "probe").submit(object()), NotSupportedError, "is not supported"),  # noqa: E501
    Row("Experiment.submit(tags=[...])", lambda p: Experiment(p.ws, "probe").submit(p.param_pipeline(), tags=["a"]), V, "tags must be a dict", field="tags"),  # noqa: E501
    Row("RunOptions(description={...})", lambda p: options(description={"a": 1}), V, "description must be a string", field="description"),  # noqa: E501
    Row("RunOptions(parent_run_id=5)", lambda p: options(parent_run_id=5), V, "parent_run_id must be a string", field="parent_run_id"),  # noqa: E501
    Row("RunOptions(run_source=[...])", lambda p: options(run_source=["SDK"]), V, "run_source must be a string", field="run_source"),  # noqa: E501
    Row("RunOptions(experiment_name of 241)", lambda p: RunOptions("a" * 241), V, "at most 240", field="experiment_name"),  # noqa: E501
    Row("RunOptions REST 'lots' for integer", lambda p: resolve(p, {"count": "lots"}, rest=True), V, "cannot be converted to integer", field="ParameterAssignments.count"),  # noqa: E501
    Row("RunOptions REST 5000 digits for integer", lambda p: resolve(p, {"count": "9" * 5000}, rest=True), V, "cannot be converted to integer", field="ParameterAssignments.count"),  # noqa: E501
    Row("RunOptions REST 'nan' for number", lambda p: resolve(p, {"rate": "nan"}, rest=True), V, "cannot be converted to number", field="ParameterAssignments.rate"),  # noqa: E501
    Row("RunOptions REST '1e999' for number", lambda p: resolve(p, {"rate": "1e999"}, rest=True), V, "cannot be converted to number", field="ParameterAssignments.rate"),  # noqa: E501
    Row("RunOptions REST 'maybe' for boolean", lambda p: resolve(p, {"flag": "maybe"}, rest=True), V, "cannot be converted to boolean", field="ParameterAssignments.flag"),  # noqa: E501
    Row("RunOptions REST label with NUL", lambda p: resolve(p, {"label": "a\x00"}, rest=True), V, "NUL byte", field="ParameterAssignments.label"),  # noqa: E501
    Row("RunOptions 20 x 120 KB over the total limit", lambda p: _total(p), V, "SC_ARG_MAX", "s", "pipeline_parameters"),  # noqa: E501
]

DATASTORES = [
    Row("Datastore.get(ws, 'nope')", lambda p: Datastore.get(p.ws, "nope"), DatastoreException, "'nope' is not registered"),  # noqa: E501
    Row("Datastore.get(ws, '../x')", lambda p: Datastore.get(p.ws, "../x"), DatastoreException, "is not registered"),  # noqa: E501
    Row("register_local_folder(existing name)", lambda p: Datastore.register_local_folder(p.ws, "workspaceblobstore", str(p.tmp)), DatastoreException, "already exists"),  # noqa: E501
    Row("register_azure_blob_container(account_key=...)", lambda p: Datastore.register_azure_blob_container(p.ws, "b", "c", "acct", account_key="k"), DatastoreException, "keeps secrets only in Airflow connections"),  # noqa: E501
    Row("register_azure_blob_container(container_name='')", lambda p: Datastore.register_azure_blob_container(p.ws, "b", "", "acct", skip_validation=True), DatastoreException, "container_name is empty"),  # noqa: E501
    Row("register_azure_file_share(...)", lambda p: Datastore.register_azure_file_share(p.ws, "f", "share", "acct"), NotSupportedError, "not supported"),  # noqa: E501
    Row("register_dbfs(...)", lambda p: Datastore.register_dbfs(p.ws, "dbfs"), NotSupportedError, "not supported"),  # noqa: E501
    Row("set_default_datastore('nope')", lambda p: p.ws.set_default_datastore("nope"), UserErrorException, "is not registered"),  # noqa: E501
    Row("upload(target_path='../x')", lambda p: p.store.upload(str(p.src), target_path="../x"), V, "must not contain '..'", field="target_path"),  # noqa: E501
    Row("upload(target_path='/abs')", lambda p: p.store.upload(str(p.src), target_path="/abs"), V, "must be relative", field="target_path"),  # noqa: E501
    Row("upload(target_path with NUL)", lambda p: p.store.upload(str(p.src), target_path="a\x00"), V, "NUL byte", field="target_path"),  # noqa: E501
    Row("upload(src_dir missing)", lambda p: p.store.upload(str(p.tmp / "nope")), DatastoreException, "does not exist"),  # noqa: E501
    Row("upload_files(missing file)", lambda p: p.store.upload_files([str(p.tmp / "nope.txt")]), DatastoreException, "no such file"),  # noqa: E501
    Row("upload_files(target_path='../x')", lambda p: p.store.upload_files([str(p.src / "a.py")], target_path="../x"), V, "must not contain '..'", field="target_path"),  # noqa: E501
    Row("download(prefix='../x')", lambda p: p.store.download(str(p.tmp / "dl"), prefix="../x"), V, "must not contain '..'", field="prefix"),  # noqa: E501
    Row("download(prefix='/abs')", lambda p: p.store.download(str(p.tmp / "dl"), prefix="/abs"), V, "must be relative", field="prefix"),  # noqa: E501
    Row("Datastore.path('../x')", lambda p: p.store.path("../x"), V, "must not contain '..'"),  # noqa: E501
    Row("DataReference input on a datastore named '../x'", lambda p: on_store(p, "../x"), V, "datastore name '../x' is invalid", "s", "inputs"),  # noqa: E501
    Row("PipelineData output on a datastore named 'a/b'", lambda p: on_store(p, "a/b", output=True), V, "datastore name 'a/b' is invalid", "s", "outputs"),  # noqa: E501
    Row("DataReference input on a datastore named ''", lambda p: on_store(p, ""), V, "datastore name '' is invalid", "s", "inputs"),  # noqa: E501
    Row("Pipeline(default_datastore='nope')", lambda p: Pipeline(p.ws, [p.step()], default_datastore="nope").validate(), V, "is not registered", None, "default_datastore"),  # noqa: E501
    Row("register_local_folder(name '../r')", lambda p: Datastore.register_local_folder(p.ws, "../r", str(p.tmp / "r1")), V, "invalid"),  # noqa: E501
    Row("register_local_folder(name '')", lambda p: Datastore.register_local_folder(p.ws, "", str(p.tmp / "r2")), V, "invalid"),  # noqa: E501
    Row("register_local_folder(name with NUL)", lambda p: Datastore.register_local_folder(p.ws, "a\x00", str(p.tmp / "r3")), V, "invalid"),  # noqa: E501
    Row("register_local_folder(root with NUL)", lambda p: Datastore.register_local_folder(p.ws, "ok", "r\x00"), UserErrorException, "NUL"),  # noqa: E501
]

REST = [
    Row("REST Description={...}", lambda p: p.aml({E: "x", "Description": {"text": "x"}}), 400, "Description must be a string, not an object"),  # noqa: E501
    Row("REST RunSource=[...]", lambda p: p.aml({E: "x", "RunSource": ["SDK"]}), 400, "RunSource must be a string, not an array"),  # noqa: E501
    Row("REST RunType=3", lambda p: p.aml({E: "x", "RunType": 3}), 400, "RunType must be a string, not a number"),  # noqa: E501
    Row("REST ExperimentName=7", lambda p: p.aml({E: 7}), 400, "ExperimentName must be a string, not a number"),  # noqa: E501
    Row("REST ExperimentName missing", lambda p: p.aml({PA: {}}), 400, "ExperimentName is required"),  # noqa: E501
    Row("REST ExperimentName '../x'", lambda p: p.aml({E: "../x"}), 400, "experiment name '../x' is invalid"),  # noqa: E501
    Row("REST ExperimentName of 241", lambda p: p.aml({E: "e" * 241}), 400, "at most 240"),  # noqa: E501
    Row("REST ParameterAssignments=[...]", lambda p: p.aml({E: "x", PA: ["count"]}), 400, "ParameterAssignments must be an object, not an array"),  # noqa: E501
    Row("REST ParameterAssignments value {...}", lambda p: p.aml({E: "x", PA: {"count": {"v": 1}}}), 400, "ParameterAssignments.count: must be a string, number or boolean, not an object"),  # noqa: E501
    Row("REST ParameterAssignments value [...]", lambda p: p.aml({E: "x", PA: {"count": [1]}}), 400, "not an array"),  # noqa: E501
    Row("REST ParameterAssignments value nested 5000 deep", lambda p: p.aml(content=b'{"ExperimentName": "x", "ParameterAssignments": {"count": ' + nested(5000) + b"}}"), 400, "more than 32 levels deep"),  # noqa: E501
    Row("REST ParameterAssignments value nested 40 deep", lambda p: p.aml(content=b'{"ExperimentName": "x", "ParameterAssignments": {"count": ' + nested(40) + b"}}"), 400, "more than 32 levels deep"),  # noqa: E501
    Row("REST body of 50 KB of '['", lambda p: p.aml(content=b"[" * 50_000), 400, "more than 32 levels deep"),  # noqa: E501
    Row("REST body nested 25000 deep, closed", lambda p: p.aml(content=nested(25_000)), 400, "more than 32 levels deep"),  # noqa: E501
    Row("REST unknown key nested 600 deep", lambda p: p.aml(content=b'{"ExperimentName": "x", "Other": ' + b'{"a": ' * 600 + b"1" + b"}" * 601), 400, "more than 32 levels deep"),  # noqa: E501
    Row("REST ParameterAssignments string of 900 KB", lambda p: p.aml({E: "x", PA: {"label": "v" * 900_000}}), 400, "ParameterAssignments.label is a string of 900000 characters: at most 131071"),  # noqa: E501
    Row("REST ParameterAssignments too long as AML_PARAMETER_label", lambda p: p.aml({E: "x", PA: {"label": ENV_BIG}}), 400, "AML_PARAMETER_label"),  # noqa: E501
    Row("REST ParameterAssignments value with NUL", lambda p: p.aml({E: "x", PA: {"label": "a\x00b"}}), 400, "NUL byte"),  # noqa: E501
    Row("REST ParameterAssignments of 1001 keys", lambda p: p.aml({E: "x", PA: {f"p{i}": "1" for i in range(1001)}}), 400, "ParameterAssignments is an object of 1001 entries: at most 1000"),  # noqa: E501
    Row("REST ParameterAssignments 'lots' for integer", lambda p: p.aml({E: "x", PA: {"count": "lots"}}), 400, "'lots' cannot be converted to integer"),  # noqa: E501
    Row("REST ParameterAssignments 5000 digits", lambda p: p.aml({E: "x", PA: {"count": "1" * 5000}}), 400, "cannot be converted to integer"),  # noqa: E501
    Row("REST ParameterAssignments 'maybe' for boolean", lambda p: p.aml({E: "x", PA: {"flag": "maybe"}}), 400, "cannot be converted to boolean"),  # noqa: E501
    Row("REST Description of 200 KB", lambda p: p.aml({E: "x", "Description": "d" * 200_000}), 400, "Description is a string of 200000 characters"),  # noqa: E501
    Row("REST key of 200 KB", lambda p: p.aml({E: "x", "k" * 200_000: 1}), 400, "a key of the body is a string of 200000 characters"),  # noqa: E501
    Row("REST array of 2000 entries", lambda p: p.aml({E: "x", "Extra": list(range(2000))}), 400, "Extra is an array of 2000 entries"),  # noqa: E501
    Row("REST DataPathAssignments unknown datastore", lambda p: p.aml({E: "x", DPA: {"where": {"DataStoreName": "nope"}}}), 400, "unknown datastore 'nope'"),  # noqa: E501
    Row("REST DataPathAssignments RelativePath '../x'", lambda p: p.aml({E: "x", DPA: {"where": {"DataStoreName": WB, "RelativePath": "../x"}}}), 400, "must not contain '..'"),  # noqa: E501
    Row("REST DataPathAssignments RelativePath '/abs'", lambda p: p.aml({E: "x", DPA: {"where": {"DataStoreName": WB, "RelativePath": "/abs"}}}), 400, "must be relative"),  # noqa: E501
    Row("REST DataPathAssignments RelativePath with NUL", lambda p: p.aml({E: "x", DPA: {"where": {"DataStoreName": WB, "RelativePath": "a\x00"}}}), 400, "NUL byte"),  # noqa: E501
    Row("REST DataPathAssignments without DataStoreName", lambda p: p.aml({E: "x", DPA: {"where": {"RelativePath": "x"}}}), 400, "DataPathAssignments.where.DataStoreName is required"),  # noqa: E501
    Row("REST DataPathAssignments value 'x'", lambda p: p.aml({E: "x", DPA: {"where": "x"}}), 400, "DataPathAssignments.where must be an object"),  # noqa: E501
    Row("REST tags value 1", lambda p: p.aml({E: "x", "tags": {"who": 1}}), 400, "tags.who must be a string, not a number"),  # noqa: E501
    Row("REST Tags=[...]", lambda p: p.aml({E: "x", "Tags": ["who"]}), 400, "Tags must be an object, not an array"),  # noqa: E501
    Row("REST ContinueRunOnStepFailure='yes'", lambda p: p.aml({E: "x", "ContinueRunOnStepFailure": "yes"}), 400, "ContinueRunOnStepFailure must be true or false"),  # noqa: E501
    Row("REST malformed JSON", lambda p: p.aml(content=b"{not json"), 400, "malformed JSON"),  # noqa: E501
    Row("REST body [1, 2]", lambda p: p.aml(content=b"[1, 2]"), 400, "the body must be a JSON object"),  # noqa: E501
    Row("REST body null", lambda p: p.aml(content=b"null"), 400, "the body must be a JSON object"),  # noqa: E501
    Row("REST body of 2 MiB", lambda p: p.aml(content=b'{"ExperimentName": "x", "D": "' + b"a" * (2 << 20) + b'"}'), 413, "larger than 1048576 bytes"),  # noqa: E501
    Row("REST without a token", lambda p: p.aml({E: "x"}, headers={"Authorization": ""}), 401, "Not authenticated"),  # noqa: E501
]

CONF = [
    Row("dagRuns conf azureml.regenerate_outputs='no'", lambda p: p.trigger({"azureml": {"regenerate_outputs": "no"}}), 400, "'no' is not of type 'boolean'"),  # noqa: E501
    Row("dagRuns conf azureml.regenerate_outputs=1", lambda p: p.trigger({"azureml": {"regenerate_outputs": 1}}), 400, "1 is not of type 'boolean'"),  # noqa: E501
    Row("dagRuns conf azureml.continue_on_step_failure='yes'", lambda p: p.trigger({"azureml": {"continue_on_step_failure": "yes"}}), 400, "'yes' is not of type 'boolean'"),  # noqa: E501
    Row("dagRuns conf azureml.allow_reuse='false'", lambda p: p.trigger({"azureml": {"allow_reuse": "false"}}), 400, "'false' is not of type 'boolean', 'object'"),  # noqa: E501
    Row("dagRuns conf azureml.allow_reuse={'echo': 'no'}", lambda p: p.trigger({"azureml": {"allow_reuse": {"echo": "no"}}}), 400, "'no' is not of type 'boolean'"),  # noqa: E501
    Row("dagRuns conf azureml='x'", lambda p: p.trigger({"azureml": "x"}), 400, "'x' is not of type 'object'"),  # noqa: E501
    Row("dagRuns conf azureml.tags={'k': 1}", lambda p: p.trigger({"azureml": {"tags": {"k": 1}}}), 400, "1 is not of type 'string'"),  # noqa: E501
    Row("dagRuns conf azureml.regenerate_output (typo)", lambda p: p.trigger({"azureml": {"regenerate_output": True}}), 400, "'regenerate_output' was unexpected"),  # noqa: E501
    Row("dagRuns conf count='many'", lambda p: p.trigger({"count": "many"}), 400, "'many' is not of type 'integer'"),  # noqa: E501
    Row("dagRuns conf flag='true'", lambda p: p.trigger({"flag": "true"}), 400, "'true' is not of type 'boolean'"),  # noqa: E501
    Row("dagRuns conf label with NUL", lambda p: p.trigger({"label": "a\x00b"}), 400, "does not match"),  # noqa: E501
    Row("dagRuns conf label of 900 KB", lambda p: p.trigger({"label": "v" * 900_000}), 400, "is too long"),  # noqa: E501
    Row("dagRuns conf where='x'", lambda p: p.trigger({"where": "x"}), 400, "'x' is not of type 'object'"),  # noqa: E501
    # control: the documented options are accepted (the run only queues: no scheduler)
    Row("dagRuns conf azureml.allow_reuse={'echo': false} (valid)", lambda p: p.trigger({"azureml": {"allow_reuse": {"echo": False}}}), 200, "queued"),  # noqa: E501
]

OPERATOR = [
    Row("run_options(conf azureml='x')", lambda p: run_options_of("x"), V, "must be an object of run options", field="conf['azureml']"),  # noqa: E501
    Row("run_options(conf azureml=[...])", lambda p: run_options_of(["regenerate_outputs"]), V, "not list", field="conf['azureml']"),  # noqa: E501
    Row("run_options(regenerate_outputs='no')", lambda p: run_options_of({"regenerate_outputs": "no"}), V, "must be true or false, not str 'no'", field="conf['azureml'].regenerate_outputs"),  # noqa: E501
    Row("run_options(continue_on_step_failure='yes')", lambda p: run_options_of({"continue_on_step_failure": "yes"}), V, "must be true or false", field="conf['azureml'].continue_on_step_failure"),  # noqa: E501
    Row("forced_miss(allow_reuse='false')", lambda p: forced_miss_of({"allow_reuse": "false"}), V, "['allow_reuse'] must be true or false, not str 'false'"),  # noqa: E501
    Row("forced_miss(allow_reuse={'train': 'no'})", lambda p: forced_miss_of({"allow_reuse": {"train": "no"}}), V, "['allow_reuse']['train'] must be true or false"),  # noqa: E501
    Row("forced_miss(regenerate_outputs='no')", lambda p: forced_miss_of({"regenerate_outputs": "no"}), V, "['regenerate_outputs'] must be true or false"),  # noqa: E501
]
# fmt: on


def _rc_int_key() -> RunConfiguration:
    config = RunConfiguration()
    config.environment_variables = {5: "x"}  # type: ignore[dict-item]
    return config


def _rc_list() -> RunConfiguration:
    config = RunConfiguration()
    config.environment_variables = ["A=1"]  # type: ignore[assignment]
    return config


def _output(probe: Probe, name: str) -> list[ValidationError]:
    data = PipelineData("ok")
    data.name = name
    return probe.validate(arguments=[data], outputs=[data])


def _described(probe: Probe, description: Any) -> list[ValidationError]:
    pipeline = probe.pipeline()
    pipeline.description = description
    return pipeline.validate()


def _total(probe: Probe) -> Any:
    params = [PipelineParameter(f"p{i}", "") for i in range(20)]
    result = probe.pipeline(arguments=params)._compile("probe")
    assert result.spec is not None, result.errors
    values = {f"p{i}": "v" * 120_000 for i in range(20)}  # each fits; together 2.4 MB
    return RunOptions("probe", pipeline_parameters=values).resolve(result.spec)


def _rows() -> list[Any]:
    params = []
    for group, rows, marks in (
        ("model", MODEL, ()),
        ("validate", VALIDATE, ()),
        ("submit", SUBMIT, ()),
        ("datastore", DATASTORES, ()),
        ("operator", OPERATOR, ()),
        ("rest", REST, (pytest.mark.e2e,)),
        ("conf", CONF, (pytest.mark.e2e,)),
    ):
        for row in rows:
            row_marks = list(marks)
            params.append(pytest.param(row, id=f"{group}: {row.feeds}", marks=row_marks))
    return params


# ---------------------------------------------------------------------------- the test
def _matching(errors: list[ValidationError], row: Row) -> list[ValidationError]:
    return [
        e
        for e in errors
        if row.reason in str(e)
        and (row.step is None or e.step == row.step)
        and (row.field is None or e.field == row.field)
    ]


@pytest.mark.parametrize("row", _rows())
def test_bad_input_is_refused_where_it_is_given(probe: Probe, row: Row) -> None:
    try:
        outcome = row.call(probe)
    except BaseException as exc:  # the error the row expects (checked below)
        assert not isinstance(row.expect, int), f"{row.feeds}: raised {exc!r}"
        assert isinstance(exc, row.expect), f"{row.feeds}: {type(exc).__name__}: {exc}"
        assert row.reason in str(exc), f"{row.feeds}: {exc}"
        if isinstance(exc, ValidationError):
            assert row.step is None or exc.step == row.step, exc
            assert row.field is None or exc.field == row.field, exc
        return
    if isinstance(outcome, httpx.Response):
        assert outcome.status_code == row.expect, f"{row.feeds}: {outcome.text[:500]}"
        assert row.reason in outcome.text, f"{row.feeds}: {outcome.text[:500]}"
        return
    assert row.expect is ValidationError, f"{row.feeds}: accepted, returned {outcome!r:.200}"
    assert isinstance(outcome, list), f"{row.feeds}: accepted, returned {outcome!r:.200}"
    assert _matching(outcome, row), f"{row.feeds}: no {row.reason!r} in {outcome}"
