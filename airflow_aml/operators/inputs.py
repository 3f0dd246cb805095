"""Inputs of a step run, made local: upstream outputs, datastore paths, DataPath parameters.

On a local datastore an input is used in place (nothing is copied); from a
remote one it is downloaded into the step's work folder. ``download`` mode
copies it to ``path_on_compute`` (v1's as_download).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from airflow_aml.artifacts.store import ArtifactReference, ArtifactStore
from airflow_aml.exceptions import StepFailed
from airflow_aml.spec import InputSpec, StepSpec

__all__ = ["resolve_inputs"]


def resolve_inputs(
    spec: StepSpec,
    upstream: dict[str, ArtifactReference],
    store: ArtifactStore,
    workdir: Path,
    params: dict[str, Any],
) -> dict[str, str]:
    """The local path of every input of ``spec``, by input name."""
    paths: dict[str, str] = {}
    for inp in spec.inputs:
        source = _input_source(inp, upstream, store, params, workdir / "fetched" / inp.name)
        if inp.mode == "download":
            target = (
                Path(inp.path_on_compute) if inp.path_on_compute else workdir / "inputs" / inp.name
            )
            if not target.is_absolute():
                target = workdir / target
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists() and inp.overwrite:
                shutil.rmtree(target) if target.is_dir() else target.unlink()
            if source.is_relative_to(workdir):  # fetched from a remote datastore
                shutil.move(source, target)
            elif source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True)
            else:
                shutil.copyfile(source, target)
            paths[inp.name] = str(target)
        else:
            paths[inp.name] = str(source)
    return paths


def _input_source(
    inp: InputSpec,
    upstream: dict[str, ArtifactReference],
    store: ArtifactStore,
    params: dict[str, Any],
    fetch: Path,
) -> Path:
    """Where an input is on this machine (remote data is downloaded into ``fetch``)."""
    if inp.kind == "pipeline_data":
        return store.resolve(upstream[inp.name])
    if inp.kind == "datapath_param":
        assert inp.param is not None
        path = Path(params[inp.param])
    else:
        assert inp.datastore is not None
        found = store.materialise(inp.datastore, inp.path or "", fetch)
        if found is None:
            raise StepFailed(
                f"input {inp.name!r}: {inp.path or '/'} does not exist on datastore "
                f"{inp.datastore!r}"
            )
        return found
    if not path.exists():
        raise StepFailed(f"input {inp.name!r}: {path} does not exist")
    return path
