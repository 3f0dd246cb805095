"""The artifact store: step outputs and run records on a datastore.

Layout on the datastore (DESIGN §4), as in SDK v1::

    azureml/{step_run_id}/{output_name}/     committed outputs
    azureml/{step_run_id}/.run/              the step's run record
    azureml/{step_run_id}/.staging-{try}/    in-flight outputs (never read)

where ``step_run_id`` is ``StepRun.id`` (:func:`~airflow_aml.runtime.contract.step_run_id`).

A step writes into the staging prefix; outputs become visible only by an
atomic rename on success, so a failed or killed step never leaves a
visible, reusable output. XCom carries only :class:`ArtifactReference`
dicts. On a local datastore, handing an output to the next step copies
nothing: the consumer reads the committed folder in place.

On a remote datastore (Azure Blob) a step stages its outputs in a local
temporary folder; on success they are uploaded and then committed by a
manifest, ``azureml/{step_run_id}/.outputs/{output_name}.json``: an
output without its manifest was never committed. Consumers download an
output once per machine into the content-addressed cache, and an output is
intact while its blob listing (names, sizes, etags) matches its signature.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import xxhash

from airflow_aml._names import safe_relative_path
from airflow_aml.artifacts.digest_cache import hash_file
from airflow_aml.exceptions import DatastoreException
from airflow_aml.runtime.contract import step_run_id
from airflow_aml.storage.base import ObjectInfo, ObjectStore
from airflow_aml.storage.cache import fetch_folder
from airflow_aml.storage.location import store_for_datastore

__all__ = [
    "ArtifactReference",
    "ArtifactStore",
    "RECORD_DIR",
    "run_prefix",
    "tree_digest",
    "tree_signature",
]

RECORD_DIR = ".run"
ARTIFACT_ROOT = "azureml"


def run_prefix(run_id: str, task_id: str) -> str:
    """Datastore prefix of one step run's artifacts: ``azureml/{step run id}`` (SDK v1)."""
    return f"{ARTIFACT_ROOT}/{step_run_id(run_id, task_id)}"


@dataclass(frozen=True)
class ArtifactReference:
    """What XCom carries for an output: where it is and how big, never the data."""

    datastore: str
    path: str
    run_id: str
    step: str
    output: str
    files: int = 0
    bytes: int = 0
    digest: str = ""
    signature: str = ""

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form (readable through the Airflow REST API)."""
        return {"kind": "airflow_aml.artifact", **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ArtifactReference:
        """Parse :meth:`to_json` output."""
        fields = {k: v for k, v in data.items() if k != "kind"}
        return cls(**fields)


def _tree_files(path: Path) -> list[tuple[str, str]]:
    """(relative path, absolute path) of every file under ``path``, sorted."""
    if path.is_file():
        return [("", str(path))]
    found = []
    for dirpath, _dirs, names in os.walk(path):
        for n in names:
            full = os.path.join(dirpath, n)
            found.append((os.path.relpath(full, path).replace(os.sep, "/"), full))
    return sorted(found)


def tree_signature(path: Path) -> tuple[str, int, int]:
    """A cheap identity of a tree: hash of (path, size, mtime) of every file; and counts."""
    h = xxhash.xxh3_128()
    files = size = 0
    for rel, full in _tree_files(path):
        st = os.stat(full)
        h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        files += 1
        size += st.st_size
    return h.hexdigest(), files, size


def tree_digest(path: Path) -> str:
    """Content digest of a tree: hash of (path, xxh3 of bytes) of every file."""
    entries = _tree_files(path)
    with ThreadPoolExecutor(max_workers=4) as pool:
        digests = list(pool.map(hash_file, [full for _, full in entries]))
    h = xxhash.xxh3_128()
    for (rel, _), d in zip(entries, digests, strict=True):
        h.update(f"{rel}\0{d}\n".encode())
    return h.hexdigest()


def listing_signature(objects: list[ObjectInfo], base: str) -> tuple[str, int, int]:
    """:func:`tree_signature` of a remote folder: hash of (path, size, etag) of every blob."""
    h = xxhash.xxh3_128()
    size = 0
    for obj in objects:
        rel = obj.key[len(base) :].lstrip("/")
        h.update(f"{rel}\0{obj.size}\0{obj.etag}\n".encode())
        size += obj.size
    return h.hexdigest(), len(objects), size


def listing_digest(objects: list[ObjectInfo], base: str) -> str:
    """A content identity of a remote folder from its listing (MD5s, else etags)."""
    h = xxhash.xxh3_128()
    for obj in objects:
        rel = obj.key[len(base) :].lstrip("/")
        h.update(f"{rel}\0{obj.md5 or obj.etag}\n".encode())
    return h.hexdigest()


def _under(objects: list[ObjectInfo], rel: str) -> list[ObjectInfo]:
    """Objects that are ``rel`` itself or inside the folder ``rel``."""
    if not rel:
        return objects
    return [o for o in objects if o.key == rel or o.key.startswith(rel + "/")]


class ArtifactStore:
    """Artifact operations on the datastores named in a pipeline spec."""

    def __init__(self, datastores: dict[str, dict[str, Any]]):
        self._datastores = datastores
        self._objects: dict[str, ObjectStore] = {}

    def objects(self, datastore: str) -> ObjectStore:
        """The object store behind ``datastore``."""
        if datastore not in self._objects:
            definition = self._datastores.get(datastore)
            if definition is None:
                raise DatastoreException(f"datastore {datastore!r} is not known to this pipeline")
            self._objects[datastore] = store_for_datastore(datastore, definition)
        return self._objects[datastore]

    def is_local(self, datastore: str) -> bool:
        """Whether ``datastore`` is a folder on this machine (nothing is copied)."""
        return self.objects(datastore).is_local

    def local_path(self, datastore: str, path: str) -> Path:
        """Where ``path`` on the local ``datastore`` is on this machine (no copy)."""
        if not self.is_local(datastore):
            raise DatastoreException(
                f"datastore {datastore!r} is remote ({self.objects(datastore).url}); "
                "its data is downloaded, not addressed in place"
            )
        return self.objects(datastore).local_path(safe_relative_path(path, field="path"))

    def materialise(self, datastore: str, path: str, into: Path) -> Path | None:
        """A local path holding ``path`` of ``datastore`` (None when it does not exist).

        A local datastore's path is returned in place; a remote one is
        downloaded under ``into`` (a single blob as a file, else a folder).
        """
        rel = safe_relative_path(path, field="path")
        if self.is_local(datastore):
            local = self.local_path(datastore, rel)
            return local if local.exists() else None
        store = self.objects(datastore)
        found = _under(store.list(rel), rel)
        if not found:
            return None
        if len(found) == 1 and found[0].key == rel and rel:
            target = into / rel.rpartition("/")[2]
            store.download_file(rel, target)
            return target
        store.download_tree(rel, into)
        return into

    def content_identity(self, datastore: str, path: str, how: str) -> str | None:
        """What identifies the data at ``path`` (None when missing): its content digest
        (``how="digest"``) or a cheap signature (sizes and mtimes / etags)."""
        rel = safe_relative_path(path, field="path")
        if self.is_local(datastore):
            local = self.local_path(datastore, rel)
            if not local.exists():
                return None
            return tree_digest(local) if how == "digest" else tree_signature(local)[0]
        found = _under(self.objects(datastore).list(rel), rel)
        if not found:
            return None
        return listing_digest(found, rel) if how == "digest" else listing_signature(found, rel)[0]

    # ------------------------------------------------------------- staging
    def staging(
        self,
        datastore: str,
        run_id: str,
        task_id: str,
        try_number: int,
        *,
        local_root: Path | None = None,
    ) -> Path:
        """A fresh staging folder for one try of a step.

        On a local datastore it is next to the outputs (the commit is a rename); for a
        remote one it is ``local_root/staging-<datastore>`` (the step's work folder,
        removed with it), uploaded on commit.
        """
        if not self.is_local(datastore):
            if local_root is None:
                raise DatastoreException(
                    f"staging for remote datastore {datastore!r} needs a local work folder"
                )
            path = local_root / f"staging-{datastore}"
            path.mkdir(parents=True)
            return path
        path = self.local_path(datastore, f"{run_prefix(run_id, task_id)}/.staging-{try_number}")
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        return path

    def commit_output(
        self, staged: Path, *, datastore: str, run_id: str, task_id: str, step: str, output: str
    ) -> ArtifactReference:
        """Atomically publish a staged output; return its reference."""
        rel = f"{run_prefix(run_id, task_id)}/{output}"
        if not self.is_local(datastore):
            return self._commit_remote(
                staged, datastore=datastore, rel=rel, run_id=run_id, step=step, output=output
            )
        final = self.local_path(datastore, rel)
        if final.exists():
            shutil.rmtree(final) if final.is_dir() else final.unlink()
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, final)
        signature, files, size = tree_signature(final)
        return ArtifactReference(
            datastore, rel, run_id, step, output, files, size, tree_digest(final), signature
        )

    def _commit_remote(
        self, staged: Path, *, datastore: str, rel: str, run_id: str, step: str, output: str
    ) -> ArtifactReference:
        store = self.objects(datastore)
        manifest = _manifest_key(rel)
        store.delete(manifest)  # an earlier try's commit no longer stands
        store.delete_prefix(rel + "/")  # nor do its (or a killed try's) files
        digest = tree_digest(staged)
        store.upload_tree(staged, rel)
        shutil.rmtree(staged, ignore_errors=True)  # uploaded: the local copy is not needed
        signature, files, size = listing_signature(store.list(rel + "/"), rel)
        ref = ArtifactReference(
            datastore, rel, run_id, step, output, files, size, digest, signature
        )
        store.write_json(manifest, ref.to_json())  # the commit point
        return ref

    def commit_record(self, record: Path, *, datastore: str, run_id: str, task_id: str) -> str:
        """Publish a step's run record folder (on success or failure)."""
        rel = f"{run_prefix(run_id, task_id)}/{RECORD_DIR}"
        if not self.is_local(datastore):
            store = self.objects(datastore)
            store.delete_prefix(rel + "/")
            store.upload_tree(record, rel)
            return rel
        final = self.local_path(datastore, rel)
        if final.exists():
            shutil.rmtree(final)
        final.parent.mkdir(parents=True, exist_ok=True)
        if record.resolve() != final.resolve():
            shutil.move(str(record), str(final))
        return rel

    def discard_unfinished(
        self, datastore: str, run_id: str, task_id: str, outputs: list[str]
    ) -> list[str]:
        """Remove what a step run that never finished left on ``datastore``: its staging
        folders, and the ``outputs`` it committed but never recorded (killed just after
        the commit). Returns the datastore paths removed."""
        prefix = run_prefix(run_id, task_id)
        removed: list[str] = []
        if self.is_local(datastore):
            base = self.local_path(datastore, prefix)
            if not base.is_dir():
                return removed
            for child in sorted(base.iterdir()):
                if child.name.startswith(".staging-") or child.name in outputs:
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
                    removed.append(f"{prefix}/{child.name}")
            return removed
        store = self.objects(datastore)
        for name in outputs:
            rel = f"{prefix}/{name}"
            manifest = _manifest_key(rel)
            if store.exists(manifest) or store.list(rel + "/"):
                store.delete(manifest)  # the commit point goes first
                store.delete_prefix(rel + "/")
                removed.append(rel)
        return removed

    def discard(self, staged: Path) -> None:
        """Remove a staging folder (after a failed try, or once uploaded)."""
        shutil.rmtree(staged, ignore_errors=True)

    # --------------------------------------------------------------- reading
    def check_intact(self, ref: ArtifactReference) -> str | None:
        """Why a committed output cannot be trusted any more (None when intact)."""
        gone = f"output {ref.step}/{ref.output} of run {ref.run_id} was deleted"
        altered = f"output {ref.step}/{ref.output} of run {ref.run_id} was altered"
        if not self.is_local(ref.datastore):
            store = self.objects(ref.datastore)
            if not store.exists(_manifest_key(ref.path)):
                return gone
            listed = store.list(ref.path + "/")
            if ref.signature and listing_signature(listed, ref.path)[0] != ref.signature:
                return altered if listed else gone
            return None
        path = self.local_path(ref.datastore, ref.path)
        if not path.exists():
            return gone
        if ref.signature and tree_signature(path)[0] != ref.signature:
            return altered
        return None

    def resolve(self, ref: ArtifactReference) -> Path:
        """A local path holding a committed output; raises if it is gone.

        Local datastores: the committed folder itself. Remote ones: a copy
        in this machine's cache, downloaded once per content digest.
        """
        if not self.is_local(ref.datastore):

            def intact() -> None:
                problem = self.check_intact(ref)
                if problem:
                    raise DatastoreException(
                        f"input from step {ref.step!r}: {problem} ({ref.datastore}:{ref.path})"
                    )

            return fetch_folder(
                self.objects(ref.datastore),
                ref.path,
                kind="outputs",
                key=ref.digest or ref.signature,
                before_download=intact,
            )
        path = self.local_path(ref.datastore, ref.path)
        if not path.exists():
            raise DatastoreException(
                f"output {ref.output!r} of step {ref.step!r} (run {ref.run_id}) is missing "
                f"from datastore {ref.datastore!r} at {ref.path}"
            )
        return path

    def record_folder(self, datastore: str, run_id: str, task_id: str) -> Path:
        """A local path holding a step's run record.

        For a remote datastore, a copy kept for this process: one listing per
        call, and a download only when the record changed since the last copy.
        """
        rel = f"{run_prefix(run_id, task_id)}/{RECORD_DIR}"
        if self.is_local(datastore):
            return self.local_path(datastore, rel)
        store = self.objects(datastore)
        listed = store.list(rel + "/")
        signature = listing_signature(listed, rel)[0]
        name = f"{store.url}/{rel}"
        copy = _record_copies.get(name)
        if copy is not None and copy[0] == signature and copy[1].is_dir():
            return copy[1]
        target = _record_cache() / xxhash.xxh3_64_hexdigest(name.encode())
        tmp = Path(tempfile.mkdtemp(prefix=".record-", dir=target.parent))
        for obj in listed:
            store.download_file(obj.key, tmp / obj.key[len(rel) + 1 :])
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
        _record_copies[name] = (signature, target)
        return target


def _manifest_key(rel: str) -> str:
    """Where a remote output's commit manifest is (``<step prefix>/.outputs/<output>.json``)."""
    parent, _, output = rel.rpartition("/")
    return f"{parent}/.outputs/{output}.json"


_record_dir: Path | None = None
_record_copies: dict[str, tuple[str, Path]] = {}  # remote record -> (listing signature, copy)


def _record_cache() -> Path:
    """This process's folder for copies of remote run records (removed at exit)."""
    global _record_dir
    if _record_dir is None:
        _record_dir = Path(tempfile.mkdtemp(prefix="aml-records-"))
        atexit.register(shutil.rmtree, _record_dir, True)
    return _record_dir
