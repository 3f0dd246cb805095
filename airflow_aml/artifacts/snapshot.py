"""Source snapshots: the files of a step's ``source_directory``, frozen at submit.

Files listed in ``.amlignore`` (else ``.gitignore``) are left out, as in SDK
v1, plus VCS metadata and Python bytecode caches. Paths use ``/`` separators
so Windows and Linux checkouts of the same tree give the same digest.
File digests are cached by (path, size, mtime, inode) across processes
(:mod:`airflow_aml.artifacts.digest_cache`), so an unchanged file is not re-read.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pathspec
import xxhash

from airflow_aml._files import atomic_write_text, file_lock
from airflow_aml.artifacts.digest_cache import default_cache, hash_file
from airflow_aml.exceptions import UserErrorException

__all__ = [
    "Snapshot",
    "take_snapshot",
    "materialise",
    "manifest_path",
    "frozen_manifest",
    "local_source",
    "ALWAYS_IGNORED",
]

ALWAYS_IGNORED = (".git/", "__pycache__/", "*.pyc", ".ipynb_checkpoints/", ".amlignore.lock")


@dataclass(frozen=True)
class Snapshot:
    """A digest of a source folder and the files it covers (relative, ``/``-separated)."""

    directory: str
    digest: str
    files: tuple[str, ...]
    file_digests: tuple[str, ...]


def _ignore_spec(root: Path) -> pathspec.GitIgnoreSpec:
    lines = list(ALWAYS_IGNORED)
    for name in (".amlignore", ".gitignore"):
        f = root / name
        if f.is_file():
            lines += f.read_text(encoding="utf-8", errors="replace").splitlines()
            break
    return pathspec.GitIgnoreSpec.from_lines(lines)


def _list_files(root: Path, spec: pathspec.GitIgnoreSpec) -> list[str]:
    """Files under ``root`` minus ignored ones; symlinked folders are followed (once each),
    dangling links (editor lock links, broken links) have no content and are left out."""
    out: list[str] = []
    seen_dirs: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen_dirs:  # a link cycle, or the same folder linked twice
            dirnames[:] = []
            continue
        seen_dirs.add(real)
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        prefix = "" if rel_dir == "." else rel_dir + "/"
        dirnames[:] = sorted(d for d in dirnames if not spec.match_file(prefix + d + "/"))
        out.extend(
            prefix + f
            for f in filenames
            if not spec.match_file(prefix + f) and os.path.exists(os.path.join(dirpath, f))
        )
    out.sort()
    return out


def take_snapshot(directory: str | os.PathLike[str]) -> Snapshot:
    """Digest the files of ``directory`` (minus ignored ones)."""
    root = Path(directory).resolve()
    files = _list_files(root, _ignore_spec(root))
    digests = default_cache().digests([str(root / f) for f in files])
    h = xxhash.xxh3_128()
    for rel, d in zip(files, digests, strict=True):
        h.update(rel.encode("utf-8"))
        h.update(b"\0")
        h.update(d.encode())
        h.update(b"\n")
    return Snapshot(str(root), h.hexdigest(), tuple(files), tuple(digests))


def materialise(snapshot: Snapshot, store: Path) -> Path:
    """Copy the snapshot's files to ``store/<digest>`` once; return that folder.

    The copy is made under a temporary name and renamed into place, so a
    half-written snapshot is never used.
    """
    target = store / snapshot.digest
    if target.is_dir():
        return target
    store.mkdir(parents=True, exist_ok=True)
    with file_lock(store / f".{snapshot.digest}.lock"):
        if target.is_dir():
            return target
        tmp = store / f".{snapshot.digest}.tmp"
        if tmp.exists():
            shutil.rmtree(tmp)
        src = Path(snapshot.directory)
        for rel, digest in zip(snapshot.files, snapshot.file_digests, strict=True):
            dest = tmp / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / rel, dest)
            if hash_file(dest) != digest:  # edited since the snapshot was taken
                shutil.rmtree(tmp, ignore_errors=True)
                raise UserErrorException(
                    f"{src / rel} changed while the pipeline was being submitted; submit again"
                )
        tmp.mkdir(parents=True, exist_ok=True)
        atomic_write_text(
            manifest_path(target),
            json.dumps(
                dict(zip(snapshot.files, snapshot.file_digests, strict=True)), sort_keys=True
            ),
        )
        os.replace(tmp, target)
    return target


def manifest_path(frozen: Path) -> Path:
    """Where :func:`materialise` keeps the file list of a frozen snapshot folder."""
    return frozen.with_name(f"{frozen.name}.manifest.json")


def _split_frozen(source_directory: str) -> tuple[str, str]:
    """(location of the snapshot store, digest) of a frozen remote snapshot location."""
    parent, _, digest = source_directory.rstrip("/").rpartition("/")
    return parent, digest


def frozen_manifest(source_directory: str) -> dict[str, str] | None:
    """The file list of a frozen snapshot (local folder or ``wasb://`` location)."""
    from airflow_aml.storage.location import is_remote_location, open_location

    if is_remote_location(source_directory):
        parent, digest = _split_frozen(source_directory)
        files = open_location(parent).read_json(f"{digest}.manifest.json")
        return files if isinstance(files, dict) else None
    try:
        data = json.loads(manifest_path(Path(source_directory)).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def local_source(source_directory: str) -> Path:
    """A local folder holding a step's source: the folder itself, or, for a snapshot
    frozen in a remote registry, this machine's cached copy (downloaded once per digest)."""
    from airflow_aml.storage.cache import fetch_folder
    from airflow_aml.storage.location import is_remote_location, open_location

    if not is_remote_location(source_directory):
        return Path(source_directory)
    parent, digest = _split_frozen(source_directory)
    store = open_location(parent)

    def complete() -> None:
        if store.read_json(f"{digest}.manifest.json") is None:
            raise UserErrorException(
                f"source snapshot {source_directory} is not complete in the registry"
            )

    return fetch_folder(store, digest, kind="snapshots", key=digest, before_download=complete)
