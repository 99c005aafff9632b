"""``escbench experiment run FILE [--out DIR] [--until STAGE] [--dry-run]`` and
``escbench experiment status DIR`` (argparse here; the work in :mod:`.engine`)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .config import STAGES

HELP = "run the whole ChatPal study from an experiment YAML (tasks/experiments/): data, students, seven systems, tables"


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="experiment_command", metavar="ACTION", required=True)
    run = sub.add_parser("run", help="run (or resume) an experiment", description=(
        "Run the stages " + ", ".join(STAGES) + " of an experiment YAML. Every unit is cached under --out, "
        "keyed by the hash of its inputs and settings: a re-run does only what changed or did not finish "
        "(also after kill -9)."))
    run.add_argument("file", type=Path, help="experiment YAML, e.g. tasks/experiments/smoke.yaml")
    run.add_argument("--out", type=Path, help="output folder (default: runs/experiments/NAME)")
    run.add_argument("--until", choices=STAGES, help="stop after this stage")
    run.add_argument("--dry-run", action="store_true",
                     help="print the plan (stages, what is cached, teacher requests, largest possible cost); run nothing")
    status = sub.add_parser("status", help="what an experiment folder holds: each unit done, partial, stale or missing")
    status.add_argument("out", type=Path, help="the experiment's output folder")
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    if args.experiment_command == "status":
        return show_status(args.out, args.json)
    from .config import load_experiment
    from .engine import run_experiment

    experiment = load_experiment(args.file)
    out = args.out or Path("runs/experiments") / experiment.name
    if args.dry_run:
        return dry_run(experiment, out, args.until)
    status = run_experiment(experiment, out, args.until)
    print(f"experiment {experiment.name}: done; outputs in {out}, manifest {out / 'manifest.json'}", file=sys.stderr)
    return status


def dry_run(experiment, out: Path, until: str | None) -> int:
    """The plan with each unit's cache state; the teacher-facing units' request counts and
    largest possible cost come from the commands' own ``--dry-run`` (nothing is sent)."""
    from rich.console import Console
    from rich.table import Table

    from . import cache
    from .engine import plan_for, selected
    from .leak import check_config_overlap

    check_config_overlap(experiment)
    ctx, plan = plan_for(experiment, out)
    units = selected(plan, until)
    table = Table(title=f"experiment {experiment.name} → {out}")
    for column in ("stage", "unit", "state", "teacher", "reads"):
        table.add_column(column)
    for unit in units:
        table.add_row(unit.stage, unit.name, cache.status_of(ctx.folder(unit.id), unit.key),
                      "yes" if unit.teacher else "", ", ".join(unit.upstream))
    Console().print(table)
    print("teacher requests (from each command's own --dry-run; units whose input is not made yet are "
          "counted once it exists):")
    _teacher_dry_runs(ctx, plan, experiment)
    print("  dri: one request per chosen supporter turn of the expanded training data (known after expand)")
    return 0


def _teacher_dry_runs(ctx, plan, experiment) -> None:
    """``expand --dry-run`` and ``augment --dry-run`` on the seed train partition, in a scratch
    folder (the journals already in OUT are read, never written)."""
    import tempfile

    from . import cache
    from .invoke import call
    from .stage_data import AUGMENT_FLAGS, EXPAND_FLAGS, TEACHER_FLAGS, flags, run_seeds

    teacher = experiment.teacher
    url = teacher.get("url") or "http://127.0.0.1:1/v1"  # nothing is sent in a dry run
    common = ["--teacher", ctx.endpoint.model, "--teacher-url", url, "--seed", str(experiment.seed)]
    common += flags(teacher, TEACHER_FLAGS)
    with tempfile.TemporaryDirectory(prefix="escbench-dry-run-") as scratch:
        scratch = Path(scratch)
        run_seeds(ctx, next(u for u in plan if u.id == "expand/seeds"), scratch)
        seeds = scratch / "train.jsonl"
        for unit_id, command, source, mapping in (("expand/expand", "expand", "--seeds", EXPAND_FLAGS),
                                                  ("augment/augesc", "augment", "--posts", AUGMENT_FLAGS)):
            unit = next(u for u in plan if u.id == unit_id)
            if cache.status_of(ctx.folder(unit_id), unit.key) == "done":
                print(f"  {unit_id}: cached, nothing to send")
                continue
            journal = ctx.folder(unit_id) / "journal.jsonl"
            journal = journal if journal.exists() else scratch / f"{command}.journal.jsonl"
            call([command, source, str(seeds), "--out", str(scratch / command), "--dry-run", "--journal", str(journal)]
                 + flags(experiment.stage(unit.stage if command == "expand" else "augment"), mapping) + common, unit_id)


def show_status(out: Path, as_json: bool) -> int:
    """Print each unit's state from the state files and the manifest (no experiment file needed)."""
    from escbench.harness.errors import ConfigError

    from . import cache

    manifest_path = out / "manifest.json"
    if not manifest_path.exists():
        raise ConfigError(f"{out}: no manifest.json here; is it the --out of `escbench experiment run`?")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    rows = []
    for unit_id, unit in manifest["units"].items():
        state = cache.status_of(out / unit_id, unit["key"])
        rows.append({"unit": unit_id, "state": state, "seconds": unit.get("timings", {}).get("seconds"),
                     "outputs": len(unit.get("outputs", {}))})
    if as_json:
        print(json.dumps({"experiment": manifest["experiment"], "units": rows,
                          "leak_check_passed": (manifest.get("leak_check") or {}).get("passed")}, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"experiment {manifest['experiment']['name']} · {out}")
    for column in ("unit", "state", "seconds", "outputs"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["unit"], row["state"], "" if row["seconds"] is None else f"{row['seconds']:.1f}",
                      str(row["outputs"]))
    Console().print(table)
    leak = manifest.get("leak_check")
    print(f"leak check: {'not run yet' if leak is None else ('passed' if leak['passed'] else 'FAILED')}; "
          f"teacher usage: {json.dumps(manifest['teacher']['usage']['total'])}")
    return 0
