"""Source snapshots: the files of a step's ``source_directory``, frozen at submit.

Files listed in ``.amlignore`` (else ``.gitignore``) are left out, as in SDK
v1, plus VCS metadata and Python bytecode caches. Paths use ``/`` separators
so Windows and Linux checkouts of the same tree give the same digest.
File digests are cached by (path, size, mtime, inode) across processes
(:mod:`airflow_aml.artifacts.digest_cache`), so an unchanged file is not re-read.

A frozen snapshot (``<store>/<digest>/`` and its manifest ``<digest>.manifest.json``,
file -> xxh3-128) is checked against its manifest before it is used: at submit
(:func:`materialise`) a snapshot that no longer matches is rebuilt from the
client's source folder; on a worker (:func:`local_source`) it is refused with a
:class:`~airflow_aml.exceptions.CorruptObjectError` naming the file. With the
digest cache an unchanged snapshot costs a ``stat`` per file, not a read.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pathspec
import xxhash

from airflow_aml._files import atomic_write_text, file_lock
from airflow_aml.artifacts.digest_cache import default_cache, hash_file
from airflow_aml.exceptions import CorruptObjectError, UserErrorException
from airflow_aml.storage.cache import fetch_folder
from airflow_aml.storage.location import is_remote_location, open_location

__all__ = [
    "Snapshot",
    "take_snapshot",
    "materialise",
    "manifest_path",
    "frozen_manifest",
    "frozen_problem",
    "local_source",
    "tree_digest",
    "ALWAYS_IGNORED",
]

log = logging.getLogger(__name__)
_DIGEST = re.compile(r"^[0-9a-f]{32}$")

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
    return Snapshot(str(root), tree_digest(files, digests), tuple(files), tuple(digests))


def tree_digest(files: list[str] | tuple[str, ...], digests: list[str] | tuple[str, ...]) -> str:
    """The snapshot digest of sorted relative paths and their file digests."""
    h = xxhash.xxh3_128()
    for rel, d in zip(files, digests, strict=True):
        h.update(rel.encode("utf-8"))
        h.update(b"\0")
        h.update(d.encode())
        h.update(b"\n")
    return h.hexdigest()


def _manifest_problem(files: object, digest: str | None) -> str | None:
    """Why a manifest read from storage is unusable (None when it is a file -> digest map
    whose snapshot digest is ``digest``, when given)."""
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        return "its manifest is not a JSON object of file digests"
    if digest is not None and _DIGEST.match(digest):
        names = sorted(files)
        if tree_digest(names, [files[n] for n in names]) != digest:
            return "its manifest does not match the snapshot digest"
    return None


def frozen_problem(folder: Path, files: dict[str, str]) -> str | None:
    """Why the frozen snapshot ``folder`` does not hold ``files`` (relative path -> xxh3-128),
    naming the first missing or changed file; None when it does. Uses the digest cache: an
    unchanged folder costs a ``stat`` per file. Files that are not in ``files`` are not
    part of the snapshot and are left alone: a step runs in its snapshot folder and may
    write there (``./outputs``, bytecode caches)."""
    names = sorted(files)
    try:
        found = default_cache().digests([str(folder / n) for n in names])
    except OSError:  # missing (or unreadable) files
        gone = next((n for n in names if not (folder / n).is_file()), None)
        return f"file {gone} is missing" if gone else "its files cannot be read"
    for rel, digest in zip(names, found, strict=True):
        if digest != files[rel]:
            return f"file {rel} does not match the snapshot (xxh3 {digest}, not {files[rel]})"
    return None


def _read_local_manifest(frozen: Path) -> tuple[dict[str, str] | None, str | None]:
    """(manifest, None) of a local frozen folder, or (None, why it is unusable)."""
    try:
        data = json.loads(manifest_path(frozen).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, "its manifest is missing"
    except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        return None, f"its manifest is corrupt ({type(exc).__name__}: {exc})"
    problem = _manifest_problem(data, frozen.name)
    return (None, problem) if problem else (data, None)


def materialise(snapshot: Snapshot, store: Path) -> Path:
    """Copy the snapshot's files to ``store/<digest>`` once; return that folder.

    The copy is made under a temporary name and renamed into place, so a
    half-written snapshot is never used. An existing copy is checked against the
    snapshot first (stats only, for an unchanged copy): one that was edited,
    truncated or added to, or whose manifest is gone, is rebuilt from the source folder.
    """
    target = store / snapshot.digest
    expected = dict(zip(snapshot.files, snapshot.file_digests, strict=True))
    if target.is_dir() and _stored_problem(target, expected) is None:
        return target
    store.mkdir(parents=True, exist_ok=True)
    with file_lock(store / f".{snapshot.digest}.lock"):
        if target.is_dir():
            problem = _stored_problem(target, expected)
            if problem is None:
                return target
            log.warning(
                "airflow-aml: frozen source snapshot %s is corrupt (%s); rebuilding it from %s",
                target,
                problem,
                snapshot.directory,
            )
        _copy_snapshot(snapshot, store, expected)
    return target


def _stored_problem(target: Path, expected: dict[str, str]) -> str | None:
    manifest, problem = _read_local_manifest(target)
    if problem is None and manifest != expected:
        problem = "its manifest is not the snapshot's"
    return problem or frozen_problem(target, expected)


def _copy_snapshot(snapshot: Snapshot, store: Path, expected: dict[str, str]) -> None:
    """Build ``store/<digest>`` (and its manifest) from the snapshot's source folder, in
    place of whatever is there (called under the snapshot's lock)."""
    target = store / snapshot.digest
    tmp = store / f".{snapshot.digest}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    src = Path(snapshot.directory)
    for rel, digest in expected.items():
        dest = tmp / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / rel, dest)
        if hash_file(dest) != digest:  # edited since the snapshot was taken
            shutil.rmtree(tmp, ignore_errors=True)
            raise UserErrorException(
                f"{src / rel} changed while the pipeline was being submitted; submit again"
            )
    tmp.mkdir(parents=True, exist_ok=True)
    if target.exists():  # a corrupt copy: moved away first, so no half-removed folder shows
        trash = store / f".{snapshot.digest}.corrupt-{time.time_ns()}"
        os.replace(target, trash)
        shutil.rmtree(trash, ignore_errors=True)
    atomic_write_text(manifest_path(target), json.dumps(expected, sort_keys=True))
    os.replace(tmp, target)
    # The copies were just checked: later checks of them cost a stat, not a read.
    default_cache().remember((str(target / rel), d) for rel, d in expected.items())


def manifest_path(frozen: Path) -> Path:
    """Where :func:`materialise` keeps the file list of a frozen snapshot folder."""
    return frozen.with_name(f"{frozen.name}.manifest.json")


def _split_frozen(source_directory: str) -> tuple[str, str]:
    """(location of the snapshot store, digest) of a frozen remote snapshot location."""
    parent, _, digest = source_directory.rstrip("/").rpartition("/")
    return parent, digest


def frozen_manifest(source_directory: str) -> dict[str, str] | None:
    """The file list of a frozen snapshot (local folder or ``wasb://`` location); None when
    it is missing or corrupt."""
    if is_remote_location(source_directory):
        parent, digest = _split_frozen(source_directory)
        files = open_location(parent).read_json(f"{digest}.manifest.json")
        return files if _manifest_problem(files, digest) is None else None
    return _read_local_manifest(Path(source_directory))[0]


def local_source(source_directory: str) -> Path:
    """A local folder holding a step's source: the folder itself, or, for a snapshot
    frozen in a remote registry, this machine's cached copy (downloaded once per digest).

    A frozen snapshot (one with a manifest) is checked against its manifest first: one
    that does not match is refused, naming the file (resubmitting rebuilds it).
    """
    if not is_remote_location(source_directory):
        folder = Path(source_directory)
        if manifest_path(folder).exists():
            manifest, problem = _read_local_manifest(folder)
            problem = problem or frozen_problem(folder, manifest or {})
            if problem is not None:
                raise _corrupt_snapshot(str(folder), problem)
        return folder
    parent, digest = _split_frozen(source_directory)
    store = open_location(parent)

    def expected() -> dict[str, str]:
        try:
            files = store.load_json(f"{digest}.manifest.json")
        except CorruptObjectError as exc:
            reason = f"its manifest is corrupt ({exc.reason})"
            raise _corrupt_snapshot(source_directory, reason) from None
        if files is None:
            raise UserErrorException(
                f"source snapshot {source_directory} is not complete in the registry"
            )
        wrong = _manifest_problem(files, digest)
        if wrong is not None:
            raise _corrupt_snapshot(source_directory, wrong)
        return dict(files)

    return fetch_folder(store, digest, kind="snapshots", key=digest, expected=expected)


def _corrupt_snapshot(location: str, problem: str) -> CorruptObjectError:
    return CorruptObjectError(
        f"source snapshot {location} is corrupt: {problem}; it was not run. Submit the "
        "pipeline again from its source folder to rebuild the snapshot",
        location=location,
        reason=problem,
    )
