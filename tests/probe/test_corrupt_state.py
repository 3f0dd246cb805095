"""Probe: corrupt or half-written state is named, never a raw traceback (issue #10).

ONE table-driven test. Each row corrupts one piece of stored state -- an object of the
registry or of the reuse index (non-UTF-8 bytes, truncated JSON, the wrong JSON type),
a frozen source snapshot or a worker's cached copy of one, a workspace file of the
home -- or puts a file where a download must write a folder, then calls the reader
and states what must happen: the typed error (and what its message names), or the
behaviour (read as a miss, skipped while the others are still found, rebuilt,
fetched again).

Bounded: the rows use their own registry, reuse index, cache and workspace home
under ``tmp_path`` (no Airflow, nothing started) and take well under a second each;
the one row that needs a run (``e2e``) submits a one-step pipeline twice.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_aml.artifacts.registry import Registry
from airflow_aml.artifacts.reuse_index import ReuseIndex
from airflow_aml.artifacts.snapshot import local_source, manifest_path, materialise, take_snapshot
from airflow_aml.compiler.loader import dags_from_registry
from airflow_aml.core import ComputeTarget, Datastore, Workspace
from airflow_aml.exceptions import (
    ApiError,
    CorruptObjectError,
    DatastoreException,
    RecordNotFound,
    SpecError,
    UserErrorException,
    WorkspaceException,
)
from airflow_aml.pipeline.core import PipelineEndpoint, PublishedPipeline
from airflow_aml.storage.folder import FolderStore

BAD = b"\xff\xfe"  # never UTF-8
FP = "ab" + "0" * 30
PID = str(uuid.UUID(int=1))  # ids as the REST routes accept them
PID2 = str(uuid.UUID(int=2))
EID = str(uuid.UUID(int=3))
EID2 = str(uuid.UUID(int=4))
RUN = str(uuid.UUID(int=5))


# ------------------------------------------------------------------ the probe's world
@dataclass
class World:
    """A registry, a reuse index, a cache and a workspace home, all under ``tmp``."""

    tmp: Path
    request: pytest.FixtureRequest
    monkeypatch: pytest.MonkeyPatch

    @cached_property
    def registry(self) -> Registry:
        return Registry(self.tmp / "registry")

    @cached_property
    def index(self) -> ReuseIndex:
        return ReuseIndex(FolderStore(self.tmp / "azureml" / ".reuse"))

    @cached_property
    def ws(self) -> Workspace:
        """A fresh workspace home whose backend is only its registry (nothing runs)."""
        ws = Workspace(workspace_name="probe", home=self.tmp / "home")
        ws._backend_obj = SimpleNamespace(
            registry_store=self.registry, pipeline_run=_never, start=_never
        )
        return ws

    def put(self, key: str, data: bytes) -> None:
        """Overwrite the registry object ``key`` with ``data``."""
        path = self.registry.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def publish(self, pid: str = PID, *, dag_id: str = "probe_dag") -> None:
        self.registry.save(
            "published",
            {"id": pid, "name": f"p-{pid[-1]}", "status": "Active", "dag_id": dag_id, "created": 1},
        )
        self.registry.write_spec(_spec(dag_id))

    def endpoint(self, eid: str, name: str, pid: str = PID) -> None:
        self.publish(pid)
        self.registry.save(
            "endpoints",
            {
                "id": eid,
                "name": name,
                "status": "Active",
                "created": 2,
                "default_version": "0",
                "versions": [{"version": "0", "pipeline_id": pid}],
            },
        )

    def serve(self) -> Any:
        """``airflow_aml.api.service`` reading this world's registry."""
        from airflow_aml.api import service

        self.monkeypatch.setattr(service, "registry", lambda: self.registry)
        return service

    def home_file(self, name: str, data: bytes) -> Path:
        path = self.ws.home / name
        path.write_bytes(data)
        return path

    @cached_property
    def source(self) -> Path:
        src = self.tmp / "src"
        (src / "pkg").mkdir(parents=True)
        (src / "train.py").write_text("print('train')\n")
        (src / "pkg" / "data.txt").write_text("alpha beta gamma\n")
        return src

    @cached_property
    def frozen(self) -> Path:
        return materialise(take_snapshot(self.source), self.tmp / "snapshots")

    @cached_property
    def remote(self) -> FolderStore:
        """A 'remote' folder holding a step output, fetched through the worker cache."""
        store = FolderStore(self.tmp / "remote")
        store.write_text("out/result.txt", "the right result\n")
        self.monkeypatch.setenv("AIRFLOW__AML__CACHE_DIR", str(self.tmp / "cache"))
        return store

    def fetch(self) -> Path:
        from airflow_aml.storage.cache import fetch_folder

        return fetch_folder(self.remote, "out", kind="outputs", key="d" * 32)


def _never(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("a run was started from corrupt state")


def _spec(dag_id: str) -> Any:
    from airflow_aml.spec import PipelineSpec

    return PipelineSpec.from_json({**_minimal_spec(), "dag_id": dag_id})


_SPEC_CACHE: dict[str, Any] = {}


def _minimal_spec() -> dict[str, Any]:
    """The JSON of a real one-step spec (compiled once per session)."""
    if "spec" not in _SPEC_CACHE:
        import tempfile

        from airflow_aml.pipeline.core import Pipeline
        from airflow_aml.pipeline.steps import PythonScriptStep

        src = Path(tempfile.mkdtemp(prefix="probe-src-"))
        (src / "a.py").write_text("print(1)\n")
        ws = Workspace(workspace_name="probe", home=src / "home")
        step = PythonScriptStep("a.py", name="a", source_directory=str(src))
        compiled = Pipeline(ws, [step])._compile("probe_dag")
        assert compiled.spec is not None, compiled.errors
        _SPEC_CACHE["spec"] = compiled.spec.to_json()
    return dict(_SPEC_CACHE["spec"])


# ----------------------------------------------------------------------- the rows
@dataclass(frozen=True)
class Case:
    """One row: corrupt something (``setup``), read it (``act``), expect an error
    (``raises`` whose message matches ``match``) or a behaviour (``check``)."""

    name: str
    setup: Callable[[World], Any]
    act: Callable[[World], Any]
    raises: type[BaseException] | None = None
    match: str | None = None
    check: Callable[[World, Any], None] | None = None
    marks: tuple[Any, ...] = ()


def _nothing(w: World) -> None:
    return None


def _index_entry(data: bytes) -> Callable[[World], None]:
    def setup(w: World) -> None:
        w.index.record(
            {"fingerprint": FP, "dag_id": "d", "task_id": "t", "outputs": {}, "components": {}}
        )
        (w.index.store.local_path(f"index/{FP[:2]}/{FP}.json")).write_bytes(data)

    return setup


def _is_a_named_miss(w: World, entry: Any) -> None:
    assert entry is None
    assert any(f"index/{FP[:2]}/{FP}.json is corrupt" in p for p in w.index.problems)


def _corrupt_latest(w: World) -> None:
    _index_entry(b'{"fingerprint": "ab"}')(w)
    w.index.store.local_path("latest/d/t.json").write_bytes(BAD)


def _corrupt_claim(w: World) -> None:
    w.index.claim(FP, {"dag_id": "d", "run_id": "r", "task_id": "t"})
    w.index.store.local_path(f"inflight/{FP}.json").write_bytes(BAD)


def _claim_is_abandoned_and_breakable(w: World, held: Any) -> None:
    owner, age = held
    assert owner == {} and math.isinf(age)  # abandoned: broken, never waited for
    w.index.break_claim(FP, owner)
    assert w.index.claim(FP, {"dag_id": "d", "run_id": "r2", "task_id": "t"})


def _rerecord(w: World) -> Any:
    assert w.index.lookup(FP) is None
    w.index.record({"fingerprint": FP, "dag_id": "d", "task_id": "t", "outputs": {}})
    return w.index.lookup(FP)


def _two_specs_one_bad(w: World) -> None:
    w.registry.write_spec(_spec("good_dag"))
    w.put("specs/bad_dag.json", BAD + b"{}")


def _loader_keeps_the_others(w: World, dags: dict[str, Any]) -> None:
    assert "aml_dag__good_dag" in dags  # the good spec is still a DAG
    assert "aml_broken__bad_dag" in dags  # the bad one a stand-in DAG saying why


def _two_published_one_bad(w: World) -> None:
    w.publish(PID)
    w.publish(PID2, dag_id="probe_dag_2")
    w.put(f"published/{PID2}.json", BAD)


def _two_endpoints_one_bad(w: World) -> None:
    w.endpoint(EID, "good")
    w.endpoint(EID2, "bad", pid=PID2)
    w.put(f"endpoints/{EID2}.json", BAD)


def _corrupt_run(w: World) -> None:
    w.registry.write_run(RUN, spec=_spec("probe_dag"), conf={}, experiment_name="exp")
    w.put(f"runs/{RUN}.json", BAD)


def _update_refused_and_unchanged(w: World) -> None:
    with w.registry.update("published", PID2) as record:
        record["status"] = "Disabled"


def _bytes_kept(key: str) -> Callable[[World, Any], None]:
    def check(w: World, _err: Any) -> None:
        assert (w.registry.root / key).read_bytes() == BAD  # never overwritten

    return check


def _published_submit(w: World) -> Any:
    published = PublishedPipeline.get(w.ws, PID)
    return published.submit(w.ws, "probe-exp")


def _truncated_spec(w: World) -> None:
    w.publish(PID)
    path = w.registry.root / "specs" / "probe_dag.json"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _api_status(status: int, *words: str) -> Callable[[World, Any], None]:
    def check(w: World, err: Any) -> None:
        assert err.status == status, err.reason
        for word in words:
            assert word in err.reason

    return check


def _truncate_frozen(w: World) -> None:
    path = w.frozen / "pkg" / "data.txt"
    path.write_bytes(path.read_bytes()[:5])


def _rebuilt(w: World, folder: Path) -> None:
    assert folder == w.frozen
    assert (folder / "pkg" / "data.txt").read_text() == "alpha beta gamma\n"


def _corrupt_frozen_manifest(w: World) -> None:
    manifest_path(w.frozen).write_bytes(BAD)


def _cached_then(change: Callable[[Path], None]) -> Callable[[World], None]:
    def setup(w: World) -> None:
        change(w.fetch())

    return setup


def _fetched_again(w: World, folder: Path) -> None:
    assert (folder / "result.txt").read_text() == "the right result\n"


def _file_in_the_way(w: World) -> Path:
    target = w.tmp / "download-here"
    target.write_text("a file, not a folder")
    return target


def _datastore_with_data(w: World) -> Any:
    store = w.ws.get_default_datastore()
    src = w.tmp / "upload"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "x.txt").write_text("x")
    store.upload(str(src), target_path="data", show_progress=False)
    return store


def _download_into_a_file(w: World) -> Any:
    store = _datastore_with_data(w)
    return store.download(str(_file_in_the_way(w)), prefix="data", show_progress=False)


def _download_over_a_file_in_the_way(w: World) -> Any:
    store = _datastore_with_data(w)
    target = w.tmp / "dl"
    (target / "data").mkdir(parents=True)
    (target / "data" / "sub").write_text("a file where a folder must go")
    return store.download(str(target), prefix="data", show_progress=False)


def _port_data_download_into_a_file(w: World) -> Any:
    from airflow_aml.artifacts.store import ArtifactReference
    from airflow_aml.pipeline.core.port_data import PortDataReference

    _datastore_with_data(w)
    ref = ArtifactReference.from_json(
        {
            "datastore": "workspaceblobstore",
            "path": "data",
            "step": "s",
            "output": "o",
            "run_id": "r",
        }
    )
    return PortDataReference(w.ws, ref).download(str(_file_in_the_way(w)))


def _blob_download_into_a_file(w: World) -> Any:
    container = w.request.getfixturevalue("blob_container")
    store = Datastore.register_azure_blob_container(
        w.ws, "blobby", container, "devstoreaccount1", wasb_conn_id="aml_blob"
    )
    src = w.tmp / "upload"
    src.mkdir()
    (src / "x.txt").write_text("x")
    store.upload(str(src), target_path="data", show_progress=False)
    return store.download(str(_file_in_the_way(w)), prefix="data", show_progress=False)


COUNT = """
import os, sys
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
words = open(os.path.join("data", "words.txt")).read().split()
open(os.path.join(out, "count.txt"), "w").write(str(len(words)))
"""


def _resubmit_after_truncating_the_frozen_snapshot(w: World) -> list[str]:
    """Run, truncate a file of the frozen snapshot, resubmit the unchanged source with
    regenerate_outputs: the counts the two runs wrote (the second used to count the
    truncated file's words and still finish)."""
    from airflow_aml.core import Experiment
    from airflow_aml.pipeline.core import Pipeline, PipelineData
    from airflow_aml.pipeline.steps import PythonScriptStep

    ws = w.request.getfixturevalue("ws")
    experiment = w.request.getfixturevalue("experiment_name")
    src = w.request.getfixturevalue("make_source")(
        {"count.py": COUNT, "data/words.txt": "alpha beta gamma delta\n"}
    )
    out = PipelineData("counted", datastore=ws.get_default_datastore())
    step = PythonScriptStep(
        "count.py", name="count", source_directory=str(src), arguments=[out], outputs=[out]
    )
    counts = []
    for kwargs in ({}, {"regenerate_outputs": True}):
        run = Experiment(ws, experiment).submit(Pipeline(ws, [step]), **kwargs)
        assert run.wait_for_completion(show_output=False, timeout_seconds=300) == "Finished"
        ref = run.find_step_run("count")[0].get_output_data("counted")
        folder = Path(ref.download(str(w.tmp / "dl" / run.id), overwrite=True))
        counts.append((folder / "count.txt").read_text())
        words = ws.registry_path / "snapshots" / take_snapshot(src).digest / "data" / "words.txt"
        counts.append(words.read_text().strip())  # the frozen copy after the run
        words.write_bytes(b"alpha")  # truncated
    return counts


def _write_config_fails_midway(w: World) -> Any:
    """The config's text cannot be encoded half-way through: the old file must survive."""
    from airflow_aml.core import workspace as module

    w.ws.write_config(path=str(w.tmp))
    target = w.tmp / ".azureml" / "config.json"
    before = target.read_bytes()
    real = module.json
    w.monkeypatch.setattr(
        module, "json", SimpleNamespace(dumps=lambda *a, **k: '{"x": "\ud800"}', loads=real.loads)
    )
    try:
        w.ws.write_config(path=str(w.tmp))
    except Exception as exc:
        assert target.read_bytes() == before, "config.json was left half-written"
        return exc
    raise AssertionError("the failing write was not reported")


E2E = (pytest.mark.e2e,)
AZURITE = (pytest.mark.azurite,)

# fmt: off
CASES = [
    # --- the reuse index: a corrupt entry is a miss naming it, never a failure
    Case("index entry not UTF-8", _index_entry(BAD), lambda w: w.index.lookup(FP),
         check=_is_a_named_miss),
    Case("index entry truncated JSON", _index_entry(b'{"fingerprint": "ab'),
         lambda w: w.index.lookup(FP), check=_is_a_named_miss),
    Case("index entry JSON list", _index_entry(b"[1, 2]"), lambda w: w.index.lookup(FP),
         check=_is_a_named_miss),
    Case("index latest entry not UTF-8", _corrupt_latest, lambda w: w.index.latest("d", "t"),
         check=lambda w, r: r is None),
    Case("index claim not UTF-8: abandoned, not waited for", _corrupt_claim,
         lambda w: w.index.claim_owner(FP), check=_claim_is_abandoned_and_breakable),
    Case("index snapshot manifest not UTF-8",
         lambda w: w.index.store.write_bytes("snapshots/s1.json", BAD),
         lambda w: (w.index.manifest("s1"), w.index.source_diff("s1", "s2")),
         check=lambda w, r: r == (None, [])),
    Case("index entry rewritten by the next success", _index_entry(BAD), _rerecord,
         check=lambda w, entry: entry is not None and entry["fingerprint"] == FP),
    # --- the registry: a corrupt object raises naming it; listings skip it
    Case("spec not UTF-8", lambda w: w.put("specs/bad_dag.json", BAD),
         lambda w: w.registry.read_spec("bad_dag"), SpecError,
         r"specs/bad_dag\.json.*not UTF-8"),
    Case("spec truncated", _truncated_spec, lambda w: w.registry.read_spec("probe_dag"),
         SpecError, r"specs/probe_dag\.json.*must be JSON"),
    Case("spec not UTF-8: spec_texts still lists the others", _two_specs_one_bad,
         lambda w: dict(w.registry.spec_texts()),
         check=lambda w, texts: texts["bad_dag"] is None and texts["good_dag"] is not None),
    Case("spec not UTF-8: the loader renders the others and a stand-in", _two_specs_one_bad,
         lambda w: dags_from_registry(
             str(w.registry.root)), check=_loader_keeps_the_others),
    Case("published record not UTF-8: get names it", _two_published_one_bad,
         lambda w: w.registry.get("published", PID2), CorruptObjectError,
         rf"published pipeline '{PID2}' \(published/{PID2}\.json.*not UTF-8"),
    Case("published record not UTF-8: all() lists the others", _two_published_one_bad,
         lambda w: [r["id"] for r in w.registry.all("published")],
         check=lambda w, ids: ids == [PID]),
    Case("published record not UTF-8: update refused, record kept", _two_published_one_bad,
         _update_refused_and_unchanged, CorruptObjectError, rf"published/{PID2}\.json",
         check=_bytes_kept(f"published/{PID2}.json")),
    Case("published record not UTF-8: PublishedPipeline.get names it", _two_published_one_bad,
         lambda w: PublishedPipeline.get(
             w.ws, PID2), CorruptObjectError, rf"published/{PID2}\.json"),
    Case("truncated spec through PublishedPipeline.submit", _truncated_spec, _published_submit,
         SpecError, r"specs/probe_dag\.json"),
    Case("endpoint record not UTF-8: get by name finds the others", _two_endpoints_one_bad,
         lambda w: PipelineEndpoint.get(
             w.ws, name="good").id, check=lambda w, eid: eid == EID),
    Case("endpoint record not UTF-8: a missing name says what was skipped",
         _two_endpoints_one_bad,
         lambda w: PipelineEndpoint.get(
             w.ws, name="bad"), UserErrorException, rf"1 unreadable .*endpoints/{EID2}\.json"),
    Case("run record not UTF-8", _corrupt_run, lambda w: w.registry.read_run(RUN),
         CorruptObjectError, rf"run '{RUN}' \(runs/{RUN}\.json"),
    Case("run record not UTF-8: the experiment still lists it", _corrupt_run,
         lambda w: w.registry.list_runs("exp"), check=lambda w, runs: runs == [RUN]),
    Case("missing record is still RecordNotFound", _nothing,
         lambda w: w.registry.update("published", PID).__enter__(), RecordNotFound,
         "no published pipeline"),
    # --- the AML REST routes: 4xx/409 with a reason, never a 500
    Case("REST: endpoint by name beside a corrupt one", _two_endpoints_one_bad,
         lambda w: w.serve().resolve_endpoint(name="good")[0]["id"],
         check=lambda w, eid: eid == EID),
    Case("REST: corrupt endpoint by id is 409", _two_endpoints_one_bad,
         lambda w: w.serve().resolve_endpoint(endpoint_id=EID2), ApiError,
         check=_api_status(409, f"endpoints/{EID2}.json")),
    Case("REST: corrupt published record is 409", _two_published_one_bad,
         lambda w: w.serve().resolve_published(PID2), ApiError,
         check=_api_status(409, f"published/{PID2}.json")),
    Case("REST: corrupt spec of a published pipeline is 409", _truncated_spec,
         lambda w: w.serve().resolve_published(PID), ApiError,
         check=_api_status(409, "specs/probe_dag.json")),
    Case("REST: corrupt run record is 409", _corrupt_run, lambda w: w.serve().run_record(RUN),
         ApiError, check=_api_status(409, f"runs/{RUN}.json")),
    # --- frozen source snapshots and the worker cache
    Case("frozen file truncated: materialise rebuilds it", _truncate_frozen,
         lambda w: materialise(take_snapshot(w.source), w.tmp / "snapshots"), check=_rebuilt),
    Case("frozen file truncated: a worker refuses it, naming the file", _truncate_frozen,
         lambda w: local_source(str(w.frozen)), CorruptObjectError, r"file pkg/data\.txt"),
    Case("frozen file deleted: a worker refuses it",
         lambda w: (w.frozen / "train.py").unlink(), lambda w: local_source(str(w.frozen)),
         CorruptObjectError, r"file train\.py is missing"),
    Case("frozen manifest not UTF-8: a worker refuses it", _corrupt_frozen_manifest,
         lambda w: local_source(str(w.frozen)), CorruptObjectError, "manifest is corrupt"),
    Case("frozen manifest not UTF-8: materialise rebuilds it", _corrupt_frozen_manifest,
         lambda w: materialise(take_snapshot(w.source), w.tmp / "snapshots"), check=_rebuilt),
    Case("cached copy truncated: fetched again",
         _cached_then(lambda p: (p / "result.txt").write_text("the")), lambda w: w.fetch(),
         check=_fetched_again),
    Case("cached copy lost a file: fetched again",
         _cached_then(lambda p: (p / "result.txt").unlink()), lambda w: w.fetch(),
         check=_fetched_again),
    Case("cached copy without its record: fetched again",
         _cached_then(lambda p: p.with_name(p.name + ".files.json").unlink()),
         lambda w: w.fetch(), check=_fetched_again),
    # --- workspace files of the home
    Case("datastores.json not UTF-8", lambda w: w.home_file("datastores.json", BAD),
         lambda w: w.ws.datastores, WorkspaceException,
         r"datastores\.json is corrupt.*UnicodeDecodeError.*delete it to start again"),
    Case("datastores.json truncated", lambda w: w.home_file("datastores.json", b'{"datas'),
         lambda w: Datastore.get(w.ws, "workspaceblobstore"), WorkspaceException,
         r"datastores\.json is corrupt.*JSONDecodeError"),
    Case("datastores.json a list", lambda w: w.home_file("datastores.json", b"[]"),
         lambda w: w.ws.get_default_datastore(), WorkspaceException, "not a JSON object"),
    Case("datastores.json corrupt: a registration refuses and keeps it",
         lambda w: w.home_file("datastores.json", BAD),
         lambda w: Datastore.register_local_folder(w.ws, "more", str(w.tmp)),
         WorkspaceException, r"datastores\.json",
         check=lambda w, e: (w.ws.home / "datastores.json").read_bytes() == BAD),
    Case("compute.json not UTF-8", lambda w: w.home_file("compute.json", BAD),
         lambda w: w.ws.compute_targets, WorkspaceException,
         r"compute\.json is corrupt.*ComputeTarget\.create"),
    Case("compute.json truncated", lambda w: w.home_file("compute.json", b'{"compute_t'),
         lambda w: ComputeTarget(w.ws, "cpu"), WorkspaceException, r"compute\.json is corrupt"),
    Case("write_config fails midway: the old config.json is kept", _nothing,
         _write_config_fails_midway, check=lambda w, e: isinstance(e, Exception)),
    # --- download() where a file is in the way
    Case("download into an existing file", _nothing, _download_into_a_file,
         DatastoreException, r"download-here' is an existing file"),
    Case("download over a file where a folder must go", _nothing,
         _download_over_a_file_in_the_way, DatastoreException, r"dl/data/sub' is an existing"),
    Case("PortDataReference.download into an existing file", _nothing,
         _port_data_download_into_a_file, DatastoreException, "is an existing file"),
    Case("blob datastore download into an existing file", _nothing, _blob_download_into_a_file,
         DatastoreException, "is an existing file", marks=AZURITE),
    # --- a run: the frozen snapshot is checked at resubmit and rebuilt
    Case("frozen file truncated, unchanged source resubmitted: the right output", _nothing,
         _resubmit_after_truncating_the_frozen_snapshot,
         check=lambda w, seen: seen == ["4", "alpha beta gamma delta"] * 2, marks=E2E),
]
# fmt: on


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name, marks=c.marks) for c in CASES])
def test_corrupt_state(
    case: Case, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
):
    world = World(tmp_path, request, monkeypatch)
    case.setup(world)
    started = time.monotonic()
    if case.raises is not None:
        with pytest.raises(case.raises, match=case.match) as info:
            case.act(world)
        result: Any = info.value
        assert not isinstance(result, UnicodeError | json.JSONDecodeError | OSError), result
    else:
        result = case.act(world)
    if case.check is not None:
        verdict = case.check(world, result)
        assert verdict in (None, True), f"unexpected result: {result!r}"
    bound = 300 if pytest.mark.e2e in case.marks else 30
    assert time.monotonic() - started < bound
