"""Pipeline-level checks: step names, membership, producers, cycles, shared sources."""

from __future__ import annotations

from airflow_aml.compiler.context import CompileContext
from airflow_aml.pipeline.core.builder import PipelineData, PipelineStep

__all__ = [
    "topological_order",
    "check_names",
    "check_membership",
    "check_producers",
    "check_shared_sources",
]


def topological_order(
    steps: list[PipelineStep], edges: dict[PipelineStep, list[PipelineStep]]
) -> tuple[list[PipelineStep], list[PipelineStep]]:
    """Kahn's order of ``steps`` (stable) and the steps left on a cycle."""
    indeg = {s: 0 for s in steps}
    downstream: dict[PipelineStep, list[PipelineStep]] = {s: [] for s in steps}
    for s in steps:
        for up in edges.get(s, []):
            if up in indeg:
                indeg[s] += 1
                downstream[up].append(s)
    ready = [s for s in steps if indeg[s] == 0]
    order: list[PipelineStep] = []
    i = 0
    while i < len(ready):
        s = ready[i]
        i += 1
        order.append(s)
        for d in downstream[s]:
            indeg[d] -= 1
            if indeg[d] == 0:
                ready.append(d)
    return order, [s for s in steps if indeg[s] > 0]


def check_names(ctx: CompileContext, steps: list[PipelineStep]) -> None:
    seen: dict[str, PipelineStep] = {}
    for s in steps:
        if not isinstance(s.name, str) or not s.name.strip():
            ctx.error("step name must be a non-empty string", step=str(s.name), field_name="name")
            continue
        if "\x00" in s.name:
            ctx.error("step name contains a NUL byte (\\x00)", step=repr(s.name), field_name="name")
            continue
        if s.name in seen:
            ctx.error(
                f"duplicate step name {s.name!r}: step names must be unique in a pipeline",
                step=s.name,
                field_name="name",
            )
        seen[s.name] = s


def check_membership(
    ctx: CompileContext, steps: list[PipelineStep], edges: dict[PipelineStep, list[PipelineStep]]
) -> None:
    members = set(steps)
    for s in steps:
        for up in edges[s]:
            if up not in members:
                ctx.error(
                    f"depends on step {up.name!r}, which is not in the pipeline "
                    "(pass it in steps=, or keep resolve_closure=True)",
                    step=s.name,
                    field_name="inputs",
                )


def check_producers(ctx: CompileContext, steps: list[PipelineStep]) -> None:
    """A step may list a PipelineData as an output only while it is its producer: the
    last step constructed with it (SDK v1: "already an output of step ...")."""
    for s in steps:
        for out in s._outputs:
            if isinstance(out, PipelineData) and out.producer is not s:
                current = out.producer.name if out.producer is not None else None
                ctx.error(
                    f"PipelineData {out.name!r} is also produced by step(s) {current!r}, "
                    "constructed later with it as an output: each PipelineData has "
                    "exactly one producer. Rebuild this step too, or leave it out of "
                    "the pipeline",
                    step=s.name,
                    field_name="outputs",
                )


def check_shared_sources(ctx: CompileContext, steps: list[PipelineStep]) -> None:
    """Warn when steps running *different* scripts share one source folder.

    Their snapshot is shared (SDK v1 semantics), so editing one script
    reruns them all. Steps running the same script from the same folder
    (one script, several configurations) are not warned about.
    """
    by_dir: dict[str, list[PipelineStep]] = {}
    for s in steps:
        d = getattr(s, "_resolved_source", None)
        if d and getattr(s, "script_name", None):  # every step kind that runs a script
            by_dir.setdefault(d, []).append(s)
    for d, group in by_dir.items():
        if len({getattr(s, "script_name", None) for s in group}) > 1:
            names = ", ".join(str(s.name) for s in group)
            ctx.warnings.append(
                f"steps {names} share source_directory {d}: a change to any file in it "
                "reruns all of them. Give each step its own folder (or list files a step "
                "does not use in .amlignore) to reuse them independently."
            )
