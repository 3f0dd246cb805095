"""A local (or shared-mount) folder as an object store: objects are plain files."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from airflow_aml._files import file_lock
from airflow_aml._names import safe_relative_path
from airflow_aml.storage.base import ObjectInfo, ObjectStore, join_key

__all__ = ["FolderStore"]

_LOCKS = ".aml-locks"


def _info(key: str, st: os.stat_result) -> ObjectInfo:
    etag = f"{st.st_mtime_ns:x}-{st.st_size:x}-{st.st_ino:x}"
    return ObjectInfo(key, st.st_size, etag, st.st_mtime)


class FolderStore(ObjectStore):
    """Objects as files under ``root``; writes are temp file + rename."""

    is_local = True

    def __init__(self, root: Path):
        self.root = Path(root)
        self.url = str(self.root)

    def local_path(self, key: str) -> Path:
        rel = safe_relative_path(key, field="path")
        return self.root / rel if rel else self.root

    def child(self, prefix: str) -> FolderStore:
        return FolderStore(self.local_path(prefix))

    def read_bytes(self, key: str) -> bytes | None:
        try:
            return self.local_path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def write_bytes(self, key: str, data: bytes, *, if_absent: bool = False) -> bool:
        path = self.local_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            if if_absent:
                try:
                    os.link(tmp, path)  # atomic, fails if the name exists
                except FileExistsError:
                    return False
                return True
            os.replace(tmp, path)
            return True
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def info(self, key: str) -> ObjectInfo | None:
        try:
            st = self.local_path(key).stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return _info(key, st) if not os.path.isdir(self.local_path(key)) else None

    def delete(self, key: str, *, if_etag: str | None = None) -> bool:
        path = self.local_path(key)
        if if_etag is not None:
            current = self.info(key)
            if current is None or current.etag != if_etag:
                return False
        try:
            path.unlink()
        except (FileNotFoundError, IsADirectoryError):
            return False
        return True

    def delete_prefix(self, prefix: str) -> int:
        path = self.local_path(prefix)
        if path.is_dir() and (prefix.endswith("/") or not prefix):
            count = sum(len(files) for _, _, files in os.walk(path))
            shutil.rmtree(path, ignore_errors=True)
            return count
        return super().delete_prefix(prefix)

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        rel = safe_relative_path(prefix, field="prefix")
        # The deepest existing folder that can hold keys starting with ``prefix``.
        folder_rel = rel if prefix.endswith("/") or not rel else rel.rpartition("/")[0]
        folder = self.local_path(folder_rel)
        found: list[ObjectInfo] = []
        for dirpath, dirnames, names in os.walk(folder):
            dirnames[:] = [d for d in dirnames if d != _LOCKS]
            for name in names:
                full = Path(dirpath) / name
                key = full.relative_to(self.root).as_posix()
                if not key.startswith(rel):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    found.append(_info(key, full.stat()))
        return sorted(found, key=lambda o: o.key)

    def touch(self, key: str) -> bool:
        try:
            os.utime(self.local_path(key))
        except FileNotFoundError:
            return False
        return True

    def upload_file(self, local: Path, key: str) -> None:
        path = self.local_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        os.close(fd)
        try:
            shutil.copyfile(local, tmp)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def download_file(self, key: str, local: Path) -> None:
        local.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{local.name}.", dir=local.parent)
        os.close(fd)
        try:  # whole: a reader of ``local`` never sees half of it
            shutil.copyfile(self.local_path(key), tmp)
            os.replace(tmp, local)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    @contextlib.contextmanager
    def lock(self, key: str, timeout: float = 120.0) -> Iterator[None]:
        with file_lock(self.root / _LOCKS / join_key(key).replace("/", "%"), timeout=timeout):
            yield
