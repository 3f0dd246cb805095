"""What a step's command line must fit in: checked at ``validate()`` and at submit.

A step's script runs as its own process (``execve``), with an argument list and an
environment (:mod:`airflow_aml.runtime.contract`): every ``PipelineParameter`` is
exported to every step as ``AML_PARAMETER_<name>``, ``params={}`` entries and the
run configuration's environment variables too. The OS refuses to start a process
whose arguments and environment are too large (``E2BIG``), so a pipeline that would
hit that is refused before anything runs, naming the limit:

* one argument or ``NAME=value`` environment string: at most ``MAX_ARG_STRLEN``
  bytes, its terminating NUL included (Linux: 32 pages = 131072 bytes);
* all of them together, as ``execve`` counts them (every string's bytes and NUL,
  and one pointer per string), within ``os.sysconf("SC_ARG_MAX")`` less
  :data:`RESERVED_BYTES` kept for what only the worker knows (its own
  environment, the interpreter's and the script's paths, input and output
  paths; those paths are counted at :data:`PATH_ESTIMATE` bytes each);
* no NUL byte anywhere (C strings end at the first one), no non-finite float.

The limits are the ones of the machine that compiles the pipeline; workers are
expected to run with the same ``ulimit -s`` (``SC_ARG_MAX`` is a quarter of it).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from airflow_aml.runtime.contract import data_reference_env, format_value, parameter_env

if TYPE_CHECKING:
    from airflow_aml.spec import PipelineSpec, StepSpec

__all__ = [
    "MAX_ARG_STRLEN",
    "RESERVED_BYTES",
    "PATH_ESTIMATE",
    "arg_max",
    "command_budget",
    "text_problem",
    "value_problem",
    "env_problem",
    "step_command_bytes",
    "command_problem",
]

#: Linux ``MAX_ARG_STRLEN`` (``PAGE_SIZE * 32``): the longest argv/envp string, NUL included.
MAX_ARG_STRLEN = 131072
#: Bytes of ``SC_ARG_MAX`` kept for what the worker adds (capped at a quarter of the limit).
RESERVED_BYTES = 256 * 1024
#: Bytes counted for a path only the worker knows (script, inputs, outputs, DataPaths).
PATH_ESTIMATE = 512
# The launcher's own arguments and the run-contract variables (run ids, record folder,
# step name...), beyond the experiment name and the workspace JSON counted exactly.
_FIXED_OVERHEAD = 4096
_POINTER = 8
_FALLBACK_ARG_MAX = 131072  # POSIX minimum; also where os.sysconf is missing
_MAX_INT_BITS = 13287  # 4000 decimal digits (Python prints at most 4300 by default)


def arg_max() -> int:
    """``SC_ARG_MAX`` of this machine (the ``execve`` limit on arguments + environment)."""
    try:
        value = int(os.sysconf("SC_ARG_MAX"))
    except (AttributeError, ValueError, OSError):
        return _FALLBACK_ARG_MAX
    return value if value > 0 else _FALLBACK_ARG_MAX


def command_budget() -> int:
    """Bytes a step's arguments and environment may take, as ``execve`` counts them."""
    limit = arg_max()
    return limit - min(RESERVED_BYTES, limit // 4)


def _size(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))


def text_problem(text: str, *, env_name: str | None = None) -> str | None:
    """Why ``text`` cannot be one argument (or the value of ``env_name``), or None."""
    if "\x00" in text:
        return "contains a NUL byte (\\x00), which cannot be passed to a process"
    size = _size(text)
    if size + 1 > MAX_ARG_STRLEN:
        return (
            f"is {size} bytes long: one argument may have at most {MAX_ARG_STRLEN - 1} bytes "
            f"(the OS limit MAX_ARG_STRLEN = {MAX_ARG_STRLEN}, NUL included)"
        )
    if env_name is not None and _size(env_name) + 1 + size + 1 > MAX_ARG_STRLEN:
        return (
            f"is {size} bytes long: as the environment variable {env_name}, "
            f"'{env_name}=<value>' would pass the OS limit MAX_ARG_STRLEN = "
            f"{MAX_ARG_STRLEN} bytes"
        )
    return None


def value_problem(value: Any, *, env_name: str | None = None) -> str | None:
    """Why a literal or parameter value cannot reach a step's command line, or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"is {value!r}: only finite numbers can be passed (not NaN or infinity)"
    if isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:
        return "has 4000 digits or more: too large to print (pass it as a string)"
    if isinstance(value, str):
        return text_problem(value, env_name=env_name)
    return None


def env_problem(name: Any) -> str | None:
    """Why ``name`` cannot be an environment variable name, or None."""
    if not isinstance(name, str):
        return f"must be a string, not {type(name).__name__}"
    if not name:
        return "is empty"
    if "=" in name:
        return "contains '=' (the environment is a list of NAME=value strings)"
    if "\x00" in name:
        return "contains a NUL byte (\\x00)"
    return None


def _strings(strings: Iterable[str]) -> int:
    return sum(_size(s) + 1 + _POINTER for s in strings)


def step_command_bytes(
    spec: PipelineSpec, step: StepSpec, values: Mapping[str, Any]
) -> tuple[int, int]:
    """What ``step``'s process takes, as ``execve`` counts it: (arguments, environment)
    bytes. ``values`` are the run's parameter values (JSON form)."""
    kinds = {p.name: p.type for p in spec.parameters}

    def shown(name: str) -> str:
        value = values.get(name)
        if kinds.get(name) == "datapath":
            return "p" * PATH_ESTIMATE  # a local path on the worker
        return format_value(value)

    argv: list[str] = []
    for arg in step.arguments:
        if "literal" in arg:
            argv.append(format_value(arg["literal"]))
        elif "param" in arg:
            argv.append(shown(arg["param"]))
        else:
            argv.append("p" * PATH_ESTIMATE)
    env = [f"{parameter_env(name)}={shown(name)}" for name in kinds]
    for key, value in step.params:
        text = shown(value["param"]) if "param" in value else format_value(value["literal"])
        env.append(f"{parameter_env(key)}={text}")
    for key, value in step.runconfig.get("environment_variables", {}).items():
        env.append(f"{key}={value}")
    ports = [i.name for i in step.inputs] + [o.name for o in step.outputs]
    env += [f"{data_reference_env(n)}={'p' * PATH_ESTIMATE}" for n in ports]
    env += [spec.experiment_name, json.dumps(spec.workspace), step.name]
    overhead = _FIXED_OVERHEAD + PATH_ESTIMATE  # launcher arguments, contract, script path
    return _strings(argv) + overhead, _strings(env)


def command_problem(spec: PipelineSpec, step: StepSpec, values: Mapping[str, Any]) -> str | None:
    """Why ``step``'s arguments and environment would not fit the OS limit, or None."""
    argv, env = step_command_bytes(spec, step, values)
    budget = command_budget()
    if argv + env <= budget:
        return None
    return (
        f"its arguments ({argv} bytes) and environment ({env} bytes, parameters exported as "
        f"AML_PARAMETER_<name> included) would take {argv + env} bytes, over the "
        f"{budget} bytes a step may use: the OS limit on arguments + environment "
        f"(SC_ARG_MAX = {arg_max()} bytes) less {arg_max() - budget} bytes kept for the "
        "worker's own environment and paths. Pass large values in a file on a datastore "
        "(a DataPath or PipelineData) instead"
    )
