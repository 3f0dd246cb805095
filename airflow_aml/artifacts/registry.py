"""The workspace registry: what Airflow (and later readers) need, stored as objects.

The registry is an object store (:mod:`airflow_aml.storage`): a local folder
(the embedded default, or a folder the deployment shares) or an Azure Blob
location such as ``wasb://aml_blob@aml/registry``, so that the client, the
dag-processor and the workers share no disk. Layout:

* ``specs/<dag_id>.json``        the current spec of every pipeline DAG (the loader renders them)
* ``snapshots/<digest>/``        frozen, content-addressed source snapshots
  (``snapshots/<digest>.manifest.json`` is written last: a snapshot without
  it is incomplete and never used; in a remote registry
  ``snapshots/<digest>.etags.json`` records the etag of every uploaded file, so a
  resubmit checks the stored snapshot with one listing and re-uploads it when it
  was altered)
* ``runs/<run_id>.json``         what was submitted for a run (spec, conf, experiment)
* ``experiments/<name>/<ns>_<run_id>``  one empty marker per run of an experiment
  (``<ns>``: submit time in ns), so experiments and their runs are listed by name
* ``published/<id>.json``        published pipelines
* ``endpoints/<id>.json``        pipeline endpoints and their versions

Every write is whole; records that are edited in place (published
pipelines, endpoints) are updated under the store's lock.

A stored object that cannot be read (not UTF-8, not JSON, not an object) is
*corrupt*: reading it by name raises an error naming it (:class:`SpecError` for
a spec, :class:`CorruptObjectError` for a run or record); listings skip it (it is
logged once per process), so one bad object never hides the others.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import xxhash

from airflow_aml._files import atomic_write_text, cache_root
from airflow_aml.artifacts.digest_cache import hash_file
from airflow_aml.artifacts.snapshot import Snapshot, materialise
from airflow_aml.exceptions import (
    CorruptObjectError,
    RecordNotFound,
    RunNotFound,
    SpecError,
    UserErrorException,
)
from airflow_aml.spec import PipelineSpec
from airflow_aml.storage.base import ObjectStore
from airflow_aml.storage.location import open_location

__all__ = ["Registry"]

log = logging.getLogger(__name__)
_NO_ETAGS = "it has no record of its uploaded files"


class Registry:
    """Registry of specs, snapshots, runs, published pipelines and endpoints."""

    def __init__(self, location: str | Path | ObjectStore):
        self.store = location if isinstance(location, ObjectStore) else open_location(location)

    @property
    def url(self) -> str:
        """Where the registry is (a folder path or a ``wasb://`` URL)."""
        return self.store.url

    @property
    def root(self) -> Path:
        """The registry folder (local registries only)."""
        return self.store.local_path("")

    # ------------------------------------------------------------------ specs
    def freeze(self, spec: PipelineSpec, snapshots: dict[str, Snapshot]) -> PipelineSpec:
        """Copy source folders into content-addressed snapshots; point steps at them."""
        frozen = {src: self._freeze_snapshot(snap) for src, snap in snapshots.items()}
        steps = tuple(
            s.__class__(
                **{
                    **s.__dict__,
                    "source_directory": frozen.get(s.source_directory, s.source_directory),
                    "source_frozen": s.source_directory in frozen,
                }
            )
            for s in spec.steps
        )
        return spec.with_changes(steps=steps)

    def _freeze_snapshot(self, snap: Snapshot) -> str:
        """Store ``snap`` once; return the location steps run it from. A stored snapshot
        that no longer matches (a file altered, missing or added) is stored again."""
        if self.store.is_local:
            return str(materialise(snap, self.store.local_path("snapshots")))
        location = f"{self.store.url}/snapshots/{snap.digest}"
        expected = dict(zip(snap.files, snap.file_digests, strict=True))
        problem = self._remote_snapshot_problem(snap.digest, expected)
        if problem is None:
            return location
        if problem == _NO_ETAGS:  # stored by an earlier release: stored again, once
            log.info("airflow-aml: source snapshot %s: %s; storing it again", location, problem)
        elif problem != "absent":
            log.warning(
                "airflow-aml: source snapshot %s is corrupt (%s); storing it again from %s",
                location,
                problem,
                snap.directory,
            )
        self._upload_snapshot(snap, expected)
        return location

    def _remote_snapshot_problem(self, digest: str, expected: dict[str, str]) -> str | None:
        """Why the stored snapshot ``digest`` cannot be used as it is ("absent" when it was
        never stored); None when it is complete and unchanged since it was uploaded."""
        base = f"snapshots/{digest}"
        manifest = self.store.read_json(f"{base}.manifest.json")  # corrupt: read as missing
        if manifest is None:
            return "absent" if not self.store.list(base + "/") else "its manifest is missing"
        if manifest != expected:
            return "its manifest is not the snapshot's"
        etags = self.store.read_json(f"{base}.etags.json")
        if not isinstance(etags, dict):
            return _NO_ETAGS
        listed = {o.key[len(base) + 1 :]: o.etag for o in self.store.list(base + "/")}
        for rel in sorted(set(listed) | set(etags)):
            if rel not in listed:
                return f"file {rel} is missing"
            if rel not in etags:
                return f"file {rel} was added"
            if listed[rel] != etags[rel]:
                return f"file {rel} was changed since it was uploaded"
        return None

    def _upload_snapshot(self, snap: Snapshot, expected: dict[str, str]) -> None:
        """Upload every file of ``snap`` (checked against it), drop files that are not
        part of it, then record the etags and, last, the manifest."""
        src = Path(snap.directory)
        base = f"snapshots/{snap.digest}"

        def upload(item: tuple[str, str]) -> None:
            rel, digest = item
            if hash_file(src / rel) != digest:  # edited since the snapshot was taken
                raise UserErrorException(
                    f"{src / rel} changed while the pipeline was being submitted; submit again"
                )
            self.store.upload_file(src / rel, f"{base}/{rel}")

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(upload, expected.items()))
        listed = self.store.list(base + "/")
        for obj in listed:
            if obj.key[len(base) + 1 :] not in expected:
                self.store.delete(obj.key)
        etags = {o.key[len(base) + 1 :]: o.etag for o in listed}
        self.store.write_json(f"{base}.etags.json", {r: etags[r] for r in expected})
        self.store.write_json(f"{base}.manifest.json", expected)

    def write_spec(self, spec: PipelineSpec) -> None:
        """Make ``spec`` the current definition of its DAG."""
        self.store.write_text(f"specs/{spec.dag_id}.json", spec.dumps())

    def read_spec(self, dag_id: str) -> PipelineSpec | None:
        """The current spec of ``dag_id`` (None when there is none). A spec that cannot be
        read or is not valid raises :class:`SpecError` naming it."""
        key = f"specs/{dag_id}.json"
        try:
            text = self.store.read_text(key)
            return None if text is None else PipelineSpec.loads(text)
        except (CorruptObjectError, SpecError) as exc:
            raise SpecError(
                f"the spec of DAG {dag_id!r} ({key} in the registry {self.url}) cannot be "
                f"used: {exc}. Submit or publish the pipeline again to rewrite it"
            ) from None

    def spec_names(self) -> list[str]:
        """The dag ids that have a spec, sorted."""
        return sorted(
            o.key[len("specs/") : -len(".json")]
            for o in self.store.list("specs/")
            if o.key.endswith(".json")
        )

    def spec_texts(self) -> list[tuple[str, str | None]]:
        """``(dag_id, JSON text)`` of every spec (None when it cannot be read), by dag id.

        For a remote registry, spec texts are kept in this machine's cache by
        etag, so a parse fetches only specs that changed; and if the registry
        cannot be listed at all (storage outage), the last specs seen are used,
        so the pipelines' DAGs do not vanish from Airflow meanwhile.
        """
        if self.store.is_local:
            return self._read_specs([o.key for o in self.store.list("specs/")], None)
        cache = cache_root() / "registry-specs" / xxhash.xxh3_64_hexdigest(self.url.encode())
        try:
            specs = self.store.fail_fast().list("specs/")
            listing = [o for o in specs if o.key.endswith(".json")]
        except Exception as exc:
            cached = sorted(cache.glob("*.json"))
            log.error(
                "airflow-aml: cannot list the registry %s (%s); using the %d specs seen last",
                self.url,
                exc,
                len(cached),
            )
            return [(p.name.split("~", 1)[0], _cached_text(p)) for p in cached]
        cache.mkdir(parents=True, exist_ok=True)
        wanted = {o.key: cache / f"{_spec_name(o.key)}~{_etag_tag(o.etag)}.json" for o in listing}
        for stale in set(cache.glob("*.json")) - set(wanted.values()):
            stale.unlink(missing_ok=True)
        return self._read_specs(list(wanted), wanted)

    def _read_specs(
        self, keys: list[str], cached: dict[str, Path] | None
    ) -> list[tuple[str, str | None]]:
        def read(key: str) -> tuple[str, str | None]:
            path = cached.get(key) if cached else None
            if path is not None and path.is_file():
                text = _cached_text(path)
                if text is not None:
                    return _spec_name(key), text
            try:
                text = self.store.read_text(key)
            except Exception:  # one unreadable spec must not hide the others (logged once)
                return _spec_name(key), None
            if path is not None and text is not None:
                atomic_write_text(path, text)
            return _spec_name(key), text

        keys = [k for k in keys if k.endswith(".json")]
        with ThreadPoolExecutor(max_workers=8) as pool:
            return sorted(pool.map(read, keys))

    # ------------------------------------------------------------------- runs
    def write_run(
        self, run_id: str, *, spec: PipelineSpec, conf: dict[str, Any], experiment_name: str
    ) -> str:
        """Record what is submitted for ``run_id``; returns the record's key."""
        key = f"runs/{run_id}.json"
        self.store.write_json(
            key,
            {
                "run_id": run_id,
                "dag_id": spec.dag_id,
                "experiment_name": experiment_name,
                "spec": spec.to_json(),
                "conf": conf,
                "submitted": time.time(),
            },
        )
        self.store.write_bytes(f"experiments/{experiment_name}/{time.time_ns():020d}_{run_id}", b"")
        return key

    def read_run(self, run_id: str) -> dict[str, Any]:
        """The record of ``run_id`` (:class:`RunNotFound` when there is none,
        :class:`CorruptObjectError` naming it when it cannot be read)."""
        record = self._load(f"runs/{run_id}.json", f"run {run_id!r}") if _safe_id(run_id) else None
        if record is None:
            raise RunNotFound(f"no run {run_id!r} in this workspace")
        return record

    def _load(self, key: str, what: str) -> dict[str, Any] | None:
        """The JSON object at ``key`` (None when missing); a corrupt one raises
        :class:`CorruptObjectError` naming ``what`` and the object."""
        try:
            data = self.store.load_json(key)
            if data is not None and not isinstance(data, dict):
                raise self.store.corrupt_error(key, f"not a JSON object but {type(data).__name__}")
        except CorruptObjectError as exc:
            raise CorruptObjectError(
                f"the record of {what} ({key} in the workspace registry {self.url}) is "
                f"corrupt: {exc.reason}. Restore it from a backup, or delete it to drop {what}",
                location=self.url,
                key=key,
                reason=exc.reason,
            ) from None
        return data

    def list_runs(self, experiment_name: str) -> list[str]:
        """Run ids of an experiment (by experiment name, whatever DAG ran them), newest first."""
        if not _safe_id(experiment_name):
            return []
        markers = self.store.list(f"experiments/{experiment_name}/")
        names = sorted((o.key.rpartition("/")[2] for o in markers), reverse=True)
        return [n.partition("_")[2] for n in names if "_" in n]

    def experiment_names(self) -> list[str]:
        """Names of the experiments that have runs, sorted."""
        return sorted(
            {o.key.split("/")[1] for o in self.store.list("experiments/") if o.key.count("/") >= 2}
        )

    def mark_run(self, run_id: str, marker: str) -> None:
        """Leave a marker next to a run record (e.g. ``canceled``)."""
        self.store.write_text(f"runs/{run_id}.{marker}", str(time.time()))

    def run_marked(self, run_id: str, marker: str) -> bool:
        """Whether :meth:`mark_run` left ``marker`` for ``run_id``."""
        return self.store.exists(f"runs/{run_id}.{marker}")

    # --------------------------------------------------- published / endpoints
    def save(self, kind: str, record: dict[str, Any]) -> None:
        """Create a record of ``kind`` (``published`` or ``endpoints``)."""
        self.store.write_json(f"{kind}/{record['id']}.json", record)

    def get(self, kind: str, record_id: str) -> dict[str, Any] | None:
        """The record ``record_id`` of ``kind`` (None when there is none); a corrupt record
        raises :class:`CorruptObjectError` naming it."""
        if not _safe_id(record_id):
            return None
        data = self._load(f"{kind}/{record_id}.json", _what(kind, record_id))
        return data or None

    def all(self, kind: str, *, skipped: list[str] | None = None) -> list[dict[str, Any]]:
        """Every readable record of ``kind``, oldest first. Corrupt records are left out
        (logged once per process); their keys are appended to ``skipped`` when given."""
        out = []
        for obj in self.store.list(f"{kind}/"):
            if not obj.key.endswith(".json"):
                continue
            try:
                data = self._load(obj.key, obj.key)
            except CorruptObjectError:  # logged once; the others are still listed
                if skipped is not None:
                    skipped.append(obj.key)
                continue
            if data is not None:
                out.append(data)
        return sorted(out, key=_created)

    @contextlib.contextmanager
    def update(self, kind: str, record_id: str) -> Iterator[dict[str, Any]]:
        """Edit a record under its lock (:class:`RecordNotFound` if there is none,
        :class:`CorruptObjectError` if it cannot be read: it is never overwritten)."""
        if not _safe_id(record_id):
            raise RecordNotFound(_no_record(kind, record_id, self.url))
        key = f"{kind}/{record_id}.json"
        with self.store.update_json(key) as data:
            if not data:  # none, empty, or corrupt (then raised, naming it: never replaced)
                self._load(key, _what(kind, record_id))
                raise RecordNotFound(_no_record(kind, record_id, self.url))
            yield data


def _what(kind: str, record_id: str) -> str:
    what = {"published": "published pipeline", "endpoints": "pipeline endpoint"}.get(kind, kind)
    return f"{what} {record_id!r}"


def _created(record: dict[str, Any]) -> float:
    created = record.get("created", 0)
    return float(created) if isinstance(created, int | float) else 0.0


def _cached_text(path: Path) -> str | None:
    """A spec text kept in this machine's cache (None, and the copy dropped, if unreadable)."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, ValueError):
        path.unlink(missing_ok=True)
        return None


def _no_record(kind: str, record_id: str, url: str) -> str:
    return f"no {_what(kind, record_id)} in the workspace registry {url}"


def _spec_name(key: str) -> str:
    return key.rpartition("/")[2][: -len(".json")]


def _etag_tag(etag: str) -> str:
    return xxhash.xxh3_64_hexdigest(etag.encode())


def _safe_id(record_id: str) -> bool:
    return bool(record_id) and "/" not in record_id and not record_id.startswith(".")
