"""scripts/bootstrap.sh gets uv where it is missing and pip is externally managed (PEP 668).

The uv-install part (``ensure_uv``; ``bash scripts/bootstrap.sh`` runs just
that) runs for real: with a ``PATH`` that holds no uv (only the few tools the
script uses), a throw-away ``HOME``, and a ``python3`` that is a real,
non-virtualenv interpreter whose standard library holds an
``EXTERNALLY-MANAGED`` marker, so ``python3 -m pip install [--user] uv``
refuses exactly as on Debian/Ubuntu. uv itself comes from PyPI (or the
machine's configured pip index).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOTSTRAP = ROOT / "scripts" / "bootstrap.sh"
# What ensure_uv runs besides python3 (and apt-get/sudo, left out on purpose).
_TOOLS = ("bash", "dirname", "mktemp", "rm", "mkdir", "grep", "cat", "id", "env")


def _base_python() -> tuple[Path, Path]:
    """This interpreter's base installation: (binary, stdlib folder)."""
    binary = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
    stdlib = Path(sysconfig.get_paths(vars={"installed_base": sys.base_prefix})["stdlib"])
    return binary, stdlib


def externally_managed_python(root: Path, *, ensurepip: bool = True) -> Path:
    """A ``bin`` folder whose ``python3`` is an externally managed base interpreter.

    A copy of this interpreter's binary in a prefix of its own, whose
    ``lib/pythonX.Y`` links every entry of the real standard library (pip
    included) and adds ``EXTERNALLY-MANAGED``. Without ``ensurepip`` it
    cannot create virtualenvs (as Debian without ``python3-venv``).
    """
    binary, stdlib = _base_python()
    prefix = root / "prefix"
    lib = prefix / "lib" / stdlib.name
    lib.mkdir(parents=True)
    for entry in stdlib.iterdir():
        if entry.name in ("EXTERNALLY-MANAGED",) or (entry.name == "ensurepip" and not ensurepip):
            continue
        (lib / entry.name).symlink_to(entry)
    (lib / "EXTERNALLY-MANAGED").write_text(
        "[externally-managed]\nError=this Python is managed by the test's make-believe OS\n"
    )
    bindir = prefix / "bin"
    bindir.mkdir()
    shutil.copy2(binary, bindir / "python3")
    return bindir


def tools_dir(root: Path) -> Path:
    """A folder with just the commands the script needs (so no uv, no apt-get)."""
    tools = root / "tools"
    tools.mkdir(parents=True)
    for name in _TOOLS:
        found = shutil.which(name)
        assert found, f"{name} is needed by the test"
        (tools / name).symlink_to(found)
    return tools


def run_bootstrap(
    home: Path, path: list[Path], timeout: float = 300
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_", "XDG_"))}
    env.pop("PYTHONHOME", None)
    env.update(HOME=str(home), PATH=os.pathsep.join(map(str, path)))
    assert shutil.which("uv", path=env["PATH"]) is None
    return subprocess.run(
        ["bash", str(BOOTSTRAP)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_installs_uv_where_pip_is_externally_managed(tmp_path):
    python_bin = externally_managed_python(tmp_path / "py")
    home = tmp_path / "home"
    home.mkdir()
    # The premise: this python3's pip refuses to install, also with --user.
    for extra in (["--user"], []):
        refused = subprocess.run(
            [str(python_bin / "python3"), "-m", "pip", "install", *extra, "uv"],
            env={**os.environ, "HOME": str(home)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert refused.returncode != 0 and "externally-managed-environment" in refused.stderr

    out = run_bootstrap(home, [python_bin, tools_dir(tmp_path)])
    assert out.returncode == 0, out.stdout + out.stderr
    uv = home / ".local/share/airflow-aml/uv/bin/uv"
    assert out.stdout.strip() == str(uv)
    assert out.stderr.strip() == f"bootstrap: installing uv (from PyPI) into {uv.parents[1]}"
    version = subprocess.run([str(uv), "--version"], capture_output=True, text=True, timeout=30)
    assert version.returncode == 0 and version.stdout.startswith("uv ")

    # Next time it is found, not installed again.
    again = run_bootstrap(home, [python_bin, tools_dir(tmp_path / "again")], timeout=60)
    assert again.returncode == 0 and again.stdout.strip() == str(uv) and again.stderr == ""


def test_a_python_without_ensurepip_gets_exact_instructions(tmp_path):
    python_bin = externally_managed_python(tmp_path / "py", ensurepip=False)
    home = tmp_path / "home"
    home.mkdir()
    out = run_bootstrap(home, [python_bin, tools_dir(tmp_path)], timeout=120)
    assert out.returncode != 0
    assert "install the package python3-venv" in out.stderr
    assert "apt-get install python3-venv" in out.stderr
    assert not (home / ".local/share/airflow-aml/uv").exists()


def _fake_uv(folder: Path) -> Path:
    folder.mkdir(parents=True)
    uv = folder / "uv"
    uv.write_text("#!/bin/sh\necho 'uv 0.0.0 (fake)'\n")
    uv.chmod(0o755)
    return uv


def test_uv_on_path_is_used(tmp_path):
    uv = _fake_uv(tmp_path / "somewhere")
    out = run_bootstrap_with_uv(tmp_path, [uv.parent])
    assert out.returncode == 0 and out.stdout.strip() == str(uv) and out.stderr == ""


def test_uv_in_local_bin_is_used(tmp_path):
    uv = _fake_uv(tmp_path / "home" / ".local" / "bin")
    out = run_bootstrap_with_uv(tmp_path, [])
    assert out.returncode == 0 and out.stdout.strip() == str(uv) and out.stderr == ""


def run_bootstrap_with_uv(tmp_path: Path, extra_path: list[Path]) -> subprocess.CompletedProcess:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_", "XDG_"))}
    env.update(HOME=str(home), PATH=os.pathsep.join(map(str, [*extra_path, tools_dir(tmp_path)])))
    return subprocess.run(
        ["bash", str(BOOTSTRAP)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
