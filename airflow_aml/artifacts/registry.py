"""The workspace registry: what Airflow (and later readers) need, stored as objects.

The registry is an object store (:mod:`airflow_aml.storage`): a local folder
(the embedded default, or a folder the deployment shares) or an Azure Blob
location such as ``wasb://aml_blob@aml/registry``, so that the client, the
dag-processor and the workers share no disk. Layout:

* ``specs/<dag_id>.json``        the current spec of every pipeline DAG (the loader renders them)
* ``snapshots/<digest>/``        frozen, content-addressed source snapshots
  (``snapshots/<digest>.manifest.json`` is written last: a snapshot without
  it is incomplete and never used)
* ``runs/<run_id>.json``         what was submitted for a run (spec, conf, experiment)
* ``experiments/<name>/<ns>_<run_id>``  one empty marker per run of an experiment
  (``<ns>``: submit time in ns), so experiments and their runs are listed by name
* ``published/<id>.json``        published pipelines
* ``endpoints/<id>.json``        pipeline endpoints and their versions

Every write is whole; records that are edited in place (published
pipelines, endpoints) are updated under the store's lock.
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
from airflow_aml.exceptions import RecordNotFound, RunNotFound, UserErrorException
from airflow_aml.spec import PipelineSpec
from airflow_aml.storage.base import ObjectStore
from airflow_aml.storage.location import open_location

__all__ = ["Registry"]

log = logging.getLogger(__name__)


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
        """Store ``snap`` once; return the location steps run it from."""
        if self.store.is_local:
            return str(materialise(snap, self.store.local_path("snapshots")))
        location = f"{self.store.url}/snapshots/{snap.digest}"
        manifest = f"snapshots/{snap.digest}.manifest.json"
        if self.store.exists(manifest):
            return location
        src = Path(snap.directory)

        def upload(item: tuple[str, str]) -> None:
            rel, digest = item
            if hash_file(src / rel) != digest:  # edited since the snapshot was taken
                raise UserErrorException(
                    f"{src / rel} changed while the pipeline was being submitted; submit again"
                )
            self.store.upload_file(src / rel, f"snapshots/{snap.digest}/{rel}")

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(upload, zip(snap.files, snap.file_digests, strict=True)))
        self.store.write_json(manifest, dict(zip(snap.files, snap.file_digests, strict=True)))
        return location

    def write_spec(self, spec: PipelineSpec) -> None:
        """Make ``spec`` the current definition of its DAG."""
        self.store.write_text(f"specs/{spec.dag_id}.json", spec.dumps())

    def read_spec(self, dag_id: str) -> PipelineSpec | None:
        """The current spec of ``dag_id``."""
        text = self.store.read_text(f"specs/{dag_id}.json")
        return None if text is None else PipelineSpec.loads(text)

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
            return [(p.name.split("~", 1)[0], p.read_text(encoding="utf-8")) for p in cached]
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
                return _spec_name(key), path.read_text(encoding="utf-8")
            try:
                text = self.store.read_text(key)
            except Exception:  # one unreadable spec must not hide the others
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
        """The record of ``run_id``."""
        record = self.store.read_json(f"runs/{run_id}.json") if _safe_id(run_id) else None
        if not isinstance(record, dict):
            raise RunNotFound(f"no run {run_id!r} in this workspace")
        return record

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
        """The record ``record_id`` of ``kind``."""
        if not _safe_id(record_id):
            return None
        data = self.store.read_json(f"{kind}/{record_id}.json")
        return data if isinstance(data, dict) and data else None

    def all(self, kind: str) -> list[dict[str, Any]]:
        """Every record of ``kind``, oldest first."""
        out = []
        for obj in self.store.list(f"{kind}/"):
            if obj.key.endswith(".json"):
                data = self.store.read_json(obj.key)
                if isinstance(data, dict):
                    out.append(data)
        return sorted(out, key=lambda r: r.get("created", 0))

    @contextlib.contextmanager
    def update(self, kind: str, record_id: str) -> Iterator[dict[str, Any]]:
        """Edit a record under its lock (:class:`RecordNotFound` if there is none)."""
        if not _safe_id(record_id):
            raise RecordNotFound(_no_record(kind, record_id, self.url))
        with self.store.update_json(f"{kind}/{record_id}.json") as data:
            if not data:
                raise RecordNotFound(_no_record(kind, record_id, self.url))
            yield data


def _no_record(kind: str, record_id: str, url: str) -> str:
    what = {"published": "published pipeline", "endpoints": "pipeline endpoint"}.get(kind, kind)
    return f"no {what} {record_id!r} in the workspace registry {url}"


def _spec_name(key: str) -> str:
    return key.rpartition("/")[2][: -len(".json")]


def _etag_tag(etag: str) -> str:
    return xxhash.xxh3_64_hexdigest(etag.encode())


def _safe_id(record_id: str) -> bool:
    return bool(record_id) and "/" not in record_id and not record_id.startswith(".")
