"""Step fingerprints: what makes two executions of a step interchangeable.

A fingerprint is the hash of named *components* (DESIGN §5): step kind, name
and version; source snapshot; script and argument structure with literal
values; resolved parameter values; input identities; run configuration, the
worker's Python version (the step's environment on a local worker) and
compute; output port settings. Each component is kept with the reuse index
entry, so a miss can be explained component by component.

Upstream outputs are identified by their *content digest*, not by the
producer's fingerprint: a producer that reran and wrote different bytes
(non-deterministic, ``allow_reuse=False``, ``regenerate_outputs``) changes its
consumers' fingerprints, and one that wrote identical bytes does not.
"""

from __future__ import annotations

import json
import platform
from typing import Any

import xxhash

from airflow_aml.spec import StepSpec

__all__ = ["step_components", "fingerprint", "explain_miss", "REASON_NEW"]

REASON_NEW = "no earlier execution of this step"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def step_components(
    step: StepSpec, *, parameters: dict[str, Any], input_identities: dict[str, Any]
) -> dict[str, Any]:
    """The fingerprint components of ``step`` for one run.

    ``parameters`` holds the run's resolved parameter values; only those the
    step uses are included. ``input_identities`` maps input names to their
    identity (see :mod:`airflow_aml.operators.reuse_check`).
    """
    used = {a["param"] for a in step.arguments if "param" in a}
    used |= {v["param"] for _, v in step.params if "param" in v}
    used |= {i.param for i in step.inputs if i.param}
    return {
        "step": {"kind": step.kind, "name": step.name, "version": step.version},
        "source": step.source_digest,
        "script": step.script_name,
        "arguments": list(step.arguments),
        "params": sorted([k, v] for k, v in step.params),  # env vars: order is irrelevant
        "parameters": {name: parameters.get(name) for name in sorted(used)},
        "inputs": {name: input_identities[name] for name in sorted(input_identities)},
        "runconfig": step.runconfig,
        "environment": {"python": platform.python_version()},
        "compute": step.compute,
        "outputs": [[o.name, o.datastore, o.mode, o.is_directory] for o in step.outputs],
    }


def fingerprint(components: dict[str, Any]) -> str:
    """The fingerprint of a set of components."""
    return xxhash.xxh3_128_hexdigest(_canonical(components).encode())


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else _canonical(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _code_reasons(previous: dict[str, Any], current: dict[str, Any], diff: list[str]) -> list[str]:
    reasons = []
    if previous.get("source") != current.get("source"):
        reasons.append(f"source snapshot changed: {', '.join(diff) or 'files changed'}")
    if previous.get("script") != current.get("script"):
        reasons.append(f"script changed: {previous.get('script')} → {current.get('script')}")
    if previous.get("step") != current.get("step"):
        reasons.append("step kind/name/version changed")
    if previous.get("arguments") != current.get("arguments"):
        reasons.extend(_argument_reasons(_literal_args(previous), _literal_args(current)))
    if previous.get("params") != current.get("params"):
        reasons.append("params changed")
    return reasons


def _value_reasons(previous: dict[str, Any], current: dict[str, Any]) -> list[str]:
    reasons = []
    old_p, new_p = previous.get("parameters", {}), current.get("parameters", {})
    for name in sorted(set(old_p) | set(new_p)):
        if old_p.get(name) != new_p.get(name):
            reasons.append(
                f"parameter {name} {_short(old_p.get(name))} → {_short(new_p.get(name))}"
            )
    old_i, new_i = previous.get("inputs", {}), current.get("inputs", {})
    for name in sorted(set(old_i) | set(new_i)):
        if old_i.get(name) != new_i.get(name):
            reasons.append(_input_reason(name, old_i.get(name), new_i.get(name)))
    return reasons


def _setting_reasons(previous: dict[str, Any], current: dict[str, Any]) -> list[str]:
    reasons = []
    if previous.get("environment") != current.get("environment"):
        reasons.append(
            f"environment changed: {_short(previous.get('environment'))} → "
            f"{_short(current.get('environment'))}"
        )
    reasons += [
        f"{k} changed" for k in ("runconfig", "compute") if previous.get(k) != current.get(k)
    ]
    if previous.get("outputs") != current.get("outputs"):
        reasons.append("output port settings changed")
    return reasons


def explain_miss(
    previous: dict[str, Any] | None,
    current: dict[str, Any],
    *,
    source_diff: list[str] | None = None,
) -> list[str]:
    """Why ``current`` differs from ``previous``, one phrase per changed component."""
    if previous is None:
        return [REASON_NEW]
    reasons = (
        _code_reasons(previous, current, source_diff or [])
        + _value_reasons(previous, current)
        + _setting_reasons(previous, current)
    )
    return reasons or ["fingerprint changed"]


def _argument_reasons(old: list[Any], new: list[Any]) -> list[str]:
    if len(old) != len(new):
        return [f"arguments changed: {len(old)} → {len(new)} arguments"]
    return [
        f"argument {i} {_short(a)} → {_short(b)}"
        for i, (a, b) in enumerate(zip(old, new, strict=True), start=1)
        if a != b
    ]


def _literal_args(components: dict[str, Any]) -> list[Any]:
    return [
        a["literal"] if "literal" in a else f"<{kind}:{a[kind]}>"
        for a in components.get("arguments", [])
        for kind in [next(iter(a))]
    ]


def _input_reason(name: str, old: Any, new: Any) -> str:
    if old is None:
        return f"input {name} added"
    if new is None:
        return f"input {name} removed"
    if isinstance(new, dict) and new.get("from"):
        return f"upstream output {new['from']} changed"
    if (
        isinstance(new, dict)
        and isinstance(old, dict)
        and (old.get("datastore"), old.get("path")) == (new.get("datastore"), new.get("path"))
    ):
        return f"input {name} data changed at {new.get('datastore')}:{new.get('path')}"
    return f"input {name} changed"
