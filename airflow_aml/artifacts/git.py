"""Git facts about a source folder, recorded as run properties (as SDK v1 does)."""

from __future__ import annotations

import shutil
import subprocess

__all__ = ["git_properties"]


def _git(folder: str, *args: str) -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        out = subprocess.run(
            [git, "-C", folder, *args], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_properties(folder: str) -> dict[str, str]:
    """``azureml.git.*`` properties of ``folder`` (empty outside a git work tree)."""
    top = _git(folder, "rev-parse", "--show-toplevel")
    if not top:
        return {}
    commit = _git(folder, "rev-parse", "HEAD") or ""
    branch = _git(folder, "rev-parse", "--abbrev-ref", "HEAD") or ""
    status = _git(folder, "status", "--porcelain", "--", ".")
    remote = _git(folder, "config", "--get", "remote.origin.url") or ""
    props = {
        "azureml.git.repository_uri": remote,
        "azureml.git.branch": branch,
        "azureml.git.commit": commit,
        "azureml.git.dirty": str(bool(status)),
        "mlflow.source.git.repoURL": remote,
        "mlflow.source.git.branch": branch,
        "mlflow.source.git.commit": commit,
    }
    return props
