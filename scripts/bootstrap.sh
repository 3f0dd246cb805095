#!/usr/bin/env bash
# What airflow-aml itself needs on a fresh machine: uv and the virtualenv from
# the committed uv.lock. Sourced by demo.sh and test.sh (the tests' own tools
# are in bootstrap_tests.sh). Defines:
#   ensure_uv        put uv on PATH: found on PATH, in ~/.local/bin or in our
#                    private virtualenv, else installed from PyPI into that
#                    virtualenv (never into the system Python: PEP 668)
#   sync_venv ARGS   uv sync --locked ARGS, quietly; one "installing" line when
#                    the environment needs changes
# Idempotent. Executed instead of sourced, it runs ensure_uv and prints uv's path.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# uv's private virtualenv (created only when no uv is found).
AML_UV_VENV="${AIRFLOW_AML_UV_VENV:-${XDG_DATA_HOME:-$HOME/.local/share}/airflow-aml/uv}"

# Run a command as root: directly, or through passwordless sudo. Sets as_root=().
as_root=()
can_be_root() {
  [ "$(id -u)" -eq 0 ] && return 0
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
    return 0
  fi
  return 1
}

# apt-get install -y PACKAGES, quietly (output shown only if it fails).
apt_install() {
  local log rc=0
  log=$(mktemp)
  local apt_env=(env DEBIAN_FRONTEND=noninteractive UCF_FORCE_CONFFOLD=1)
  if ! apt-cache show "$@" >/dev/null 2>&1; then
    "${as_root[@]}" "${apt_env[@]}" apt-get update -qq >"$log" 2>&1 || rc=$?
  fi
  if [ "$rc" -eq 0 ]; then
    "${as_root[@]}" "${apt_env[@]}" apt-get install -y -qq --no-install-recommends \
      -o Dpkg::Options::=--force-confold "$@" >>"$log" 2>&1 || rc=$?
  fi
  [ "$rc" -eq 0 ] || cat "$log" >&2
  rm -f "$log"
  return "$rc"
}

ensure_uv() {
  command -v uv >/dev/null 2>&1 && return 0
  local dir
  for dir in "$HOME/.local/bin" "$AML_UV_VENV/bin"; do
    if [ -x "$dir/uv" ]; then
      export PATH="$dir:$PATH"
      return 0
    fi
  done
  local py
  py=$(command -v python3 || true)
  if [ -z "$py" ]; then
    echo "bootstrap: python3 not found; install Python 3.11 or newer (Debian/Ubuntu:" \
      "apt-get install python3 python3-venv) and rerun" >&2
    return 1
  fi
  echo "bootstrap: installing uv (from PyPI) into $AML_UV_VENV" >&2
  local log
  log=$(mktemp)
  rm -rf "$AML_UV_VENV"
  mkdir -p "$(dirname "$AML_UV_VENV")"
  if ! "$py" -m venv "$AML_UV_VENV" >"$log" 2>&1; then
    rm -rf "$AML_UV_VENV"
    if grep -qi "ensurepip\|python3.*-venv" "$log"; then
      # Debian/Ubuntu ship venv's ensurepip in a package of its own.
      if command -v apt-get >/dev/null 2>&1 && can_be_root; then
        echo "bootstrap: installing python3-venv (apt) for $py" >&2
        if ! apt_install python3-venv || ! "$py" -m venv "$AML_UV_VENV" >"$log" 2>&1; then
          cat "$log" >&2
          rm -f "$log"
          echo "bootstrap: could not create a virtualenv with $py even with python3-venv" >&2
          return 1
        fi
      else
        rm -f "$log"
        echo "bootstrap: $py cannot create virtualenvs (ensurepip is missing): install the" \
          "package python3-venv (Debian/Ubuntu: sudo apt-get install python3-venv), or install" \
          "uv yourself (https://docs.astral.sh/uv/), and rerun" >&2
        return 1
      fi
    else
      cat "$log" >&2
      rm -f "$log"
      echo "bootstrap: '$py -m venv $AML_UV_VENV' failed (output above)" >&2
      return 1
    fi
  fi
  if ! "$AML_UV_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "uv>=0.9" >"$log" 2>&1 || [ ! -x "$AML_UV_VENV/bin/uv" ]; then
    cat "$log" >&2
    rm -f "$log"
    echo "bootstrap: installing uv into $AML_UV_VENV failed (pip output above)" >&2
    return 1
  fi
  rm -f "$log"
  export PATH="$AML_UV_VENV/bin:$PATH"
}

sync_venv() {
  # --check exits non-zero when the environment needs changes.
  if uv sync --locked --check "$@" >/dev/null 2>&1; then
    return 0
  fi
  echo "bootstrap: installing the locked Python environment (uv sync --locked $*)" >&2
  uv sync --locked --compile-bytecode --quiet "$@"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then  # executed, not sourced
  ensure_uv
  command -v uv
fi
