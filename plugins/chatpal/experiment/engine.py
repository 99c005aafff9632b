"""Run a plan: each unit cached, resumable after any kill, with a rich progress line per unit and stage (the
commands it calls show their own progress bars).

The output folder is held with :class:`escbench.harness.folder_lock.FolderLock` for the whole run. The
teacher server is started when the first unit that talks to the teacher runs and stopped at
the end. ``manifest.json`` is rewritten after the run (also after a failure or ``--until``)
from the units' state files (also at the start and after each unit that ran, so that
``experiment status`` has something to read after a kill).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from . import cache
from .config import STAGES, Experiment
from .teacher_endpoint import TeacherEndpoint
from .units import Unit, build_plan


@dataclass
class Context:
    """What a stage function sees: the experiment, the output folder, the teacher, the plan."""

    experiment: Experiment
    out: Path
    endpoint: TeacherEndpoint
    plan: list[Unit]

    def folder(self, unit_id: str) -> Path:
        stage, name = unit_id.split("/", 1)
        return self.out / stage / name

    def sweep_units(self) -> list[str]:
        return [u.id for u in self.plan if u.stage == "evaluate" and u.name.startswith("sweep-")]


def plan_for(experiment: Experiment, out: Path) -> tuple[Context, list[Unit]]:
    endpoint = TeacherEndpoint(experiment.teacher, out)
    plan = build_plan(experiment, endpoint.identity())
    return Context(experiment, out, endpoint, plan), plan


def selected(plan: list[Unit], until: str | None) -> list[Unit]:
    last = STAGES.index(until) if until else len(STAGES) - 1
    return [u for u in plan if STAGES.index(u.stage) <= last]


def run_experiment(experiment: Experiment, out: Path, until: str | None = None) -> int:
    """Run (or resume) every unit up to ``until``; returns 0, or raises the failing unit's error."""
    from rich.console import Console

    from escbench.harness.folder_lock import FolderLock

    from .leak import check_config_overlap
    from .manifest import write_manifest

    check_config_overlap(experiment)
    out.mkdir(parents=True, exist_ok=True)
    console = Console(stderr=True)
    with FolderLock(out, "escbench experiment run"):
        ctx, plan = plan_for(experiment, out)
        units = selected(plan, until)
        started = time.time()
        try:
            with ctx.endpoint:
                write_manifest(ctx, plan, started)  # `experiment status` works from the first second
                for unit in units:
                    in_stage = [u for u in units if u.stage == unit.stage]
                    position = in_stage.index(unit) + 1
                    cached = _run_unit(ctx, unit, console, f"{unit.stage} {position}/{len(in_stage)}")
                    if cached:
                        console.print(f"[dim]experiment · {unit.stage} {position}/{len(in_stage)} · {unit.id}: cached[/dim]")
                    else:
                        write_manifest(ctx, plan, started)
        finally:
            write_manifest(ctx, plan, started)
    return 0


def _run_unit(ctx: Context, unit: Unit, console, where: str) -> bool:
    """Run ``unit`` unless cached; True when it was cached."""
    folder = ctx.folder(unit.id)
    status = cache.status_of(folder, unit.key)
    if status == "done":
        return True
    how = {"partial": "resuming", "stale": "inputs changed, running again"}.get(status, "running")
    console.rule(f"[bold]experiment · {where} · {unit.id}[/bold] ({how})")
    meta = {"unit": unit.id, "settings": unit.settings, "upstream": list(unit.upstream)}
    cache.begin(folder, unit.key, meta)
    started = time.perf_counter()
    unit.run(ctx, unit, folder)
    outputs = cache.hash_outputs(folder, unit.outputs)
    cache.finish(folder, unit.key, meta, outputs, {"seconds": round(time.perf_counter() - started, 3)})
    console.print(f"[green]experiment · {where} · {unit.id}: done in {time.perf_counter() - started:.1f} s[/green]")
    return False
