"""Content-addressed local copies of remote folders (snapshots, step outputs).

A worker that reads a remote folder whose content is identified by a digest
downloads it once into ``<cache>/<kind>/<digest>`` (into a temporary folder,
renamed into place), and later readers on the same machine reuse it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from airflow_aml._files import cache_root
from airflow_aml.storage.base import ObjectStore

__all__ = ["fetch_folder"]


def fetch_folder(
    store: ObjectStore,
    prefix: str,
    *,
    kind: str,
    key: str,
    before_download: Callable[[], None] | None = None,
) -> Path:
    """A local copy of the folder ``prefix`` of ``store``, cached as ``kind/key``.

    ``before_download`` runs only when the copy is not cached yet (e.g. to check
    that the remote folder is complete; it raises to refuse).
    """
    target = cache_root() / kind / key
    if target.is_dir():
        return target
    if before_download is not None:
        before_download()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=target.parent))
    try:
        store.download_tree(prefix, tmp)
        try:
            os.replace(tmp, target)
        except OSError:  # another process put it in place first
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
