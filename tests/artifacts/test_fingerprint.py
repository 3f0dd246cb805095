"""Step fingerprints: which components they cover and how a miss is explained."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from airflow_aml.artifacts.fingerprint import (
    REASON_NEW,
    explain_miss,
    fingerprint,
    step_components,
)
from airflow_aml.spec import InputSpec, OutputSpec, StepSpec

RAW = {"datastore": "store", "path": "data/raw", "mode": "mount", "content": "c1"}
UPSTREAM = {"from": "extract/out", "digest": "d1", "mode": "mount"}
DPATH = {"datastore": "store", "path": "data/dp", "mode": "mount"}
PY = platform.python_version()
PARAMETERS = {
    "pipeline_arg": 10,
    "lr": 0.5,
    "dpath": {"datastore": "store", "path": "data/dp"},
    "unused": "not used by this step",
}


def _step(**changes: Any) -> StepSpec:
    base = StepSpec(
        name="train",
        task_id="train",
        kind="python_script",
        script_name="train.py",
        source_directory="/src/train",
        source_digest="s1",
        arguments=(
            {"literal": "--mode"},
            {"literal": "x"},
            {"param": "pipeline_arg"},
            {"input": "raw"},
            {"output": "model"},
        ),
        inputs=(
            InputSpec(name="raw", kind="data_reference", datastore="store", path="data/raw"),
            InputSpec(name="extracted", kind="pipeline_data", producer="extract", output="out"),
            InputSpec(name="dp", kind="datapath_param", param="dpath"),
        ),
        outputs=(OutputSpec(name="model", datastore="store"),),
        params=(("LR", {"param": "lr"}), ("K", {"literal": 3})),
        version="1",
        compute={"name": "local", "type": "local"},
        runconfig={"environment": {"name": "env", "version": "1"}, "node_count": 1},
    )
    return dataclasses.replace(base, **changes)


def _identities(**changes: Any) -> dict[str, Any]:
    return {"raw": RAW, "extracted": UPSTREAM, "dp": DPATH, **changes}


def _components(
    step: StepSpec | None = None,
    parameters: dict[str, Any] | None = None,
    identities: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return step_components(
        step or _step(),
        parameters=PARAMETERS if parameters is None else parameters,
        input_identities=_identities() if identities is None else identities,
    )


# --------------------------------------------------------------------- components
def test_components_hold_every_part_and_only_the_parameters_the_step_uses():
    assert _components() == {
        "step": {"kind": "python_script", "name": "train", "version": "1"},
        "source": "s1",
        "script": "train.py",
        "arguments": [
            {"literal": "--mode"},
            {"literal": "x"},
            {"param": "pipeline_arg"},
            {"input": "raw"},
            {"output": "model"},
        ],
        "params": [["K", {"literal": 3}], ["LR", {"param": "lr"}]],  # sorted: env vars
        # pipeline_arg (an argument), lr (params), dpath (datapath input); not "unused"
        "parameters": {
            "dpath": {"datastore": "store", "path": "data/dp"},
            "lr": 0.5,
            "pipeline_arg": 10,
        },
        "inputs": {"dp": DPATH, "extracted": UPSTREAM, "raw": RAW},
        "runconfig": {"environment": {"name": "env", "version": "1"}, "node_count": 1},
        "environment": {"python": PY},
        "compute": {"name": "local", "type": "local"},
        "outputs": [["model", "store", "mount", None]],
    }


def test_each_source_of_used_parameters_counts_alone():
    only_argument = _step(arguments=({"param": "pipeline_arg"},), params=(), inputs=())
    only_params = _step(arguments=(), params=(("LR", {"param": "lr"}),), inputs=())
    only_datapath = _step(
        arguments=(),
        params=(),
        inputs=(InputSpec(name="dp", kind="datapath_param", param="dpath"),),
    )
    none = _step(arguments=({"literal": "a"},), params=(("K", {"literal": 1}),), inputs=())
    comps = [_components(s, identities={}) for s in (only_argument, only_params, only_datapath)]
    assert [c["parameters"] for c in comps] == [
        {"pipeline_arg": 10},
        {"lr": 0.5},
        {"dpath": {"datastore": "store", "path": "data/dp"}},
    ]
    assert _components(none, identities={})["parameters"] == {}


def test_a_used_parameter_without_a_value_is_recorded_as_none():
    assert _components(parameters={})["parameters"] == {
        "dpath": None,
        "lr": None,
        "pipeline_arg": None,
    }


def test_unused_parameters_and_the_source_folder_path_do_not_change_the_fingerprint():
    base = fingerprint(_components())
    assert fingerprint(_components(parameters={**PARAMETERS, "unused": "other"})) == base
    assert fingerprint(_components(parameters={**PARAMETERS, "extra": 1})) == base
    # The snapshot is content-addressed: the same digest in another folder is the same code.
    assert fingerprint(_components(_step(source_directory="/elsewhere"))) == base


# --------------------------------------------------------------------- fingerprint
def test_fingerprint_is_a_128_bit_hex_digest_and_deterministic():
    fp = fingerprint(_components())
    assert len(fp) == 32
    assert int(fp, 16) >= 0
    assert fp == fp.lower()
    assert fingerprint(_components()) == fp


def test_fingerprint_is_stable_across_dict_ordering():
    step = _step(
        compute={"name": "local", "type": "local"},
        runconfig={"node_count": 1, "environment": {"version": "1", "name": "env"}},
    )
    reordered_params = dict(reversed(list(PARAMETERS.items())))
    reordered_params["dpath"] = {"path": "data/dp", "datastore": "store"}
    reordered_ids = {
        "dp": dict(reversed(list(DPATH.items()))),
        "raw": dict(reversed(list(RAW.items()))),
        "extracted": dict(reversed(list(UPSTREAM.items()))),
    }
    other = _step(
        compute={"type": "local", "name": "local"},
        runconfig={"environment": {"name": "env", "version": "1"}, "node_count": 1},
    )
    a = _components(step)
    b = _components(other, parameters=reordered_params, identities=reordered_ids)
    assert list(a["inputs"]) == list(b["inputs"]) == ["dp", "extracted", "raw"]
    assert fingerprint(a) == fingerprint(b)
    # Component dicts built in a different key order give the same fingerprint too.
    assert fingerprint(dict(reversed(list(a.items())))) == fingerprint(a)


def test_fingerprint_is_stable_across_params_dict_ordering():
    a = _step(params=(("LR", {"param": "lr"}), ("K", {"literal": 3})))
    b = _step(params=(("K", {"literal": 3}), ("LR", {"param": "lr"})))
    assert fingerprint(_components(a)) == fingerprint(_components(b))


def test_fingerprint_is_the_same_in_another_process_with_another_hash_seed():
    comps = _components()
    code = (
        "import json, sys\n"
        "from airflow_aml.artifacts.fingerprint import fingerprint\n"
        "print(fingerprint(json.loads(sys.stdin.read())))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(comps),
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    )
    assert out.stdout.strip() == fingerprint(comps)


# One variant per component: how to build it, and the exact miss explanation.
Variant = Callable[[], dict[str, Any]]
VARIANTS: dict[str, tuple[Variant, list[str]]] = {
    "step-kind": (
        lambda: _components(_step(kind="command")),
        ["step kind/name/version changed"],
    ),
    "step-name": (
        lambda: _components(_step(name="train2")),
        ["step kind/name/version changed"],
    ),
    "step-version": (
        lambda: _components(_step(version="2")),
        ["step kind/name/version changed"],
    ),
    "source": (
        lambda: _components(_step(source_digest="s2")),
        ["source snapshot changed: files changed"],
    ),
    "script": (
        lambda: _components(_step(script_name="train_v2.py")),
        ["script changed: train.py → train_v2.py"],
    ),
    "arguments": (
        lambda: _components(
            _step(
                arguments=(
                    {"literal": "--mode"},
                    {"literal": "y"},
                    {"param": "pipeline_arg"},
                    {"input": "raw"},
                    {"output": "model"},
                )
            )
        ),
        ["argument 2 x → y"],
    ),
    "params": (
        lambda: _components(_step(params=(("LR", {"param": "lr"}), ("K", {"literal": 4})))),
        ["params changed"],
    ),
    "parameters": (
        lambda: _components(parameters={**PARAMETERS, "pipeline_arg": 20}),
        ["parameter pipeline_arg 10 → 20"],
    ),
    "inputs": (
        lambda: _components(identities=_identities(raw={**RAW, "content": "c2"})),
        ["input raw data changed at store:data/raw"],
    ),
    "environment": (
        lambda: {**_components(), "environment": {"python": "3.0.1"}},
        [f'environment changed: {{"python":"{PY}"}} → {{"python":"3.0.1"}}'],
    ),
    "runconfig": (
        lambda: _components(
            _step(runconfig={"environment": {"name": "env", "version": "2"}, "node_count": 1})
        ),
        ["runconfig changed"],
    ),
    "compute": (
        lambda: _components(_step(compute={"name": "gpu", "type": "local"})),
        ["compute changed"],
    ),
    "outputs": (
        lambda: _components(
            _step(outputs=(OutputSpec(name="model", datastore="store", mode="upload"),))
        ),
        ["output port settings changed"],
    ),
}


@pytest.mark.parametrize("component", list(VARIANTS))
def test_changing_any_single_component_changes_the_fingerprint_and_is_explained(component):
    build, expected = VARIANTS[component]
    before, after = _components(), build()
    changed = [k for k in before if before[k] != after[k]]
    assert changed == [component.split("-")[0]]
    assert fingerprint(after) != fingerprint(before)
    assert explain_miss(before, after) == expected


def test_all_variants_give_distinct_fingerprints():
    fps = {fingerprint(_components())} | {fingerprint(b()) for b, _ in VARIANTS.values()}
    assert len(fps) == len(VARIANTS) + 1


# --------------------------------------------------------------------- explain_miss
def test_no_previous_execution():
    assert REASON_NEW == "no earlier execution of this step"
    assert explain_miss(None, _components()) == ["no earlier execution of this step"]
    assert explain_miss(None, _components(), source_diff=["a.py"]) == [
        "no earlier execution of this step"
    ]


def test_identical_components_still_give_a_reason():
    # Called only on a miss; identical components can only mean an unknown difference.
    assert explain_miss(_components(), _components()) == ["fingerprint changed"]


def test_source_change_names_the_files_of_the_diff():
    before, after = _components(), _components(_step(source_digest="s2"))
    assert explain_miss(before, after, source_diff=["a.py", "b.py (added)"]) == [
        "source snapshot changed: a.py, b.py (added)"
    ]
    assert explain_miss(before, after, source_diff=[]) == ["source snapshot changed: files changed"]


def test_argument_changes_are_reported_position_wise():
    def args(*values: Any) -> dict[str, Any]:
        return _components(_step(arguments=tuple({"literal": v} for v in values)))

    assert explain_miss(args("a", "x", "c"), args("a", "y", "c")) == ["argument 2 x → y"]
    assert explain_miss(args("a", "x", "c"), args("b", "x", "d")) == [
        "argument 1 a → b",
        "argument 3 c → d",
    ]
    assert explain_miss(args(1, "x"), args(2, "x")) == ["argument 1 1 → 2"]


def test_a_literal_replaced_by_a_reference_shows_the_reference_kind():
    before = _components(_step(arguments=({"literal": "a"}, {"literal": "out"})))
    after = _components(_step(arguments=({"literal": "a"}, {"output": "model"})))
    assert explain_miss(before, after) == ["argument 2 out → <output:model>"]


def test_argument_count_change():
    two = _components(_step(arguments=({"literal": "a"}, {"literal": "b"})))
    three = _components(_step(arguments=({"literal": "a"}, {"literal": "b"}, {"literal": "c"})))
    assert explain_miss(two, three) == ["arguments changed: 2 → 3 arguments"]
    assert explain_miss(three, two) == ["arguments changed: 3 → 2 arguments"]


def test_swapping_referenced_inputs_in_the_arguments_is_named():
    before = _components(_step(arguments=({"input": "raw"}, {"input": "extracted"})))
    after = _components(_step(arguments=({"input": "extracted"}, {"input": "raw"})))
    assert fingerprint(before) != fingerprint(after)
    reasons = explain_miss(before, after)
    assert reasons != ["fingerprint changed"]
    assert all(r.startswith("argument") for r in reasons)


def test_parameter_changes_name_each_parameter_in_sorted_order():
    before = _components()
    after = _components(parameters={**PARAMETERS, "pipeline_arg": 20, "lr": 0.1})
    assert explain_miss(before, after) == [
        "parameter lr 0.5 → 0.1",
        "parameter pipeline_arg 10 → 20",
    ]


def test_parameter_string_and_structured_values():
    before = _components(parameters={**PARAMETERS, "pipeline_arg": "full"})
    after = _components(parameters={**PARAMETERS, "pipeline_arg": "quick"})
    assert explain_miss(before, after) == ["parameter pipeline_arg full → quick"]
    after2 = _components(parameters={**PARAMETERS, "dpath": {"datastore": "s2", "path": "p"}})
    assert explain_miss(_components(), after2) == [
        'parameter dpath {"datastore":"store","path":"data/dp"} → {"datastore":"s2","path":"p"}'
    ]


def test_a_parameter_that_is_no_longer_set_shows_null():
    after = _components(parameters={k: v for k, v in PARAMETERS.items() if k != "lr"})
    assert explain_miss(_components(), after) == ["parameter lr 0.5 → null"]


def test_long_values_are_shortened_to_60_characters():
    long_old, long_new = "a" * 61, "b" * 100
    exactly_60 = "c" * 60
    before = _components(parameters={**PARAMETERS, "pipeline_arg": long_old})
    after = _components(parameters={**PARAMETERS, "pipeline_arg": long_new})
    assert explain_miss(before, after) == [f"parameter pipeline_arg {'a' * 57}... → {'b' * 57}..."]
    kept = _components(parameters={**PARAMETERS, "pipeline_arg": exactly_60})
    assert explain_miss(before, kept) == [f"parameter pipeline_arg {'a' * 57}... → {exactly_60}"]
    # Arguments too, and structured values by their canonical JSON.
    arg_a = _components(_step(arguments=({"literal": long_old},)))
    arg_b = _components(_step(arguments=({"literal": "short"},)))
    assert explain_miss(arg_a, arg_b) == [f"argument 1 {'a' * 57}... → short"]
    big = {"k": "v" * 80}
    big_p = _components(parameters={**PARAMETERS, "pipeline_arg": big})
    assert explain_miss(_components(), big_p) == [
        "parameter pipeline_arg 10 → " + json.dumps(big, separators=(",", ":"))[:57] + "..."
    ]


def test_upstream_output_changed():
    after = _components(identities=_identities(extracted={**UPSTREAM, "digest": "d2"}))
    assert explain_miss(_components(), after) == ["upstream output extract/out changed"]


def test_input_data_changed_at_the_same_place():
    after = _components(identities=_identities(raw={**RAW, "content": "c2"}))
    assert explain_miss(_components(), after) == ["input raw data changed at store:data/raw"]


def test_input_moved_to_another_place():
    after = _components(identities=_identities(raw={**RAW, "path": "data/raw2"}))
    assert explain_miss(_components(), after) == ["input raw changed"]


def test_input_added_and_removed():
    without = {"raw": RAW, "extracted": UPSTREAM}
    before = _components(identities=without)
    after = _components(identities={**without, "x": DPATH})
    assert explain_miss(before, after) == ["input x added"]
    assert explain_miss(after, before) == ["input x removed"]
    # An upstream input that goes away is removed, not "changed".
    assert explain_miss(_components(identities={**without, "x": UPSTREAM}), before) == [
        "input x removed"
    ]


def test_an_added_upstream_input_is_reported_as_added():
    without = {"raw": RAW}
    before = _components(identities=without)
    after = _components(identities={**without, "x": UPSTREAM})
    assert explain_miss(before, after) == ["input x added"]


def test_components_recorded_before_the_python_version_joined_are_explained():
    before = {k: v for k, v in _components().items() if k != "environment"}
    assert explain_miss(before, _components()) == [
        f'environment changed: null → {{"python":"{PY}"}}'
    ]


def test_several_reasons_at_once_in_order():
    before = {**_components(), "environment": {"python": "3.0.1"}}
    after = _components(
        _step(
            source_digest="s2",
            script_name="main.py",
            kind="command",
            arguments=(
                {"literal": "--mode"},
                {"literal": "y"},
                {"param": "pipeline_arg"},
                {"input": "raw"},
                {"output": "model"},
            ),
            params=(("LR", {"param": "lr"}), ("K", {"literal": 4})),
            runconfig={"environment": {"name": "env", "version": "2"}},
            compute={"name": "gpu"},
            outputs=(OutputSpec(name="model", datastore="other"),),
        ),
        parameters={**PARAMETERS, "pipeline_arg": 20, "lr": 1},
        identities={
            "raw": {**RAW, "content": "c2"},
            "extracted": {**UPSTREAM, "digest": "d2"},
            "new": DPATH,
        },
    )
    assert explain_miss(before, after, source_diff=["a.py", "b.py (added)"]) == [
        "source snapshot changed: a.py, b.py (added)",
        "script changed: train.py → main.py",
        "step kind/name/version changed",
        "argument 2 x → y",
        "params changed",
        "parameter lr 0.5 → 1",
        "parameter pipeline_arg 10 → 20",
        "input dp removed",
        "upstream output extract/out changed",
        "input new added",
        "input raw data changed at store:data/raw",
        f'environment changed: {{"python":"3.0.1"}} → {{"python":"{PY}"}}',
        "runconfig changed",
        "compute changed",
        "output port settings changed",
    ]
