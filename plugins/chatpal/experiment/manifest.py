"""``OUT/manifest.json``: every artefact linked to its inputs by hash (strict JSON).

Per unit: its key, status, upstream units (with their keys), output files with sha256,
timings. Also: the experiment file and its hash, escbench and library versions, teacher
usage and cost summed over the teacher journals, and the leak check. ``artefacts`` maps each
output file (relative to OUT) to the unit that wrote it and the hashes of that unit's inputs.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from . import cache

MANIFEST = "manifest.json"
JOURNAL_UNITS = ("expand/expand", "dri/chatpal", "augment/augesc", "augment/augesc-dri")


def _versions() -> dict:
    from importlib import metadata

    out = {}
    for name in ("escbench", "torch", "transformers", "peft", "openai"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    import platform

    out["python"] = platform.python_version()
    return out


def teacher_usage(ctx) -> dict:
    """Requests, tokens and cost over the teacher journals of the data units."""
    from escbench.harness.jsonl import read_records

    from escbench.plugins.chatpal.pricing import PriceTable, Usage

    prices = PriceTable.load(ctx.experiment.teacher.get("prices"))
    per_unit, total = {}, Usage()
    for unit in JOURNAL_UNITS:
        journal = ctx.folder(unit) / "journal.jsonl"
        usage = Usage()
        if journal.exists():
            for record in read_records(journal):
                usage.completed += 1
                usage.add_tokens((record.get("response") or {}).get("usage") or {})
                total.completed += 1
                total.add_tokens((record.get("response") or {}).get("usage") or {})
        usage.price(prices, ctx.endpoint.model)
        per_unit[unit] = usage.to_dict()
    total.price(prices, ctx.endpoint.model)
    return {"model": ctx.endpoint.model, "endpoint": ctx.experiment.teacher["endpoint"], "per_unit": per_unit,
            "total": total.to_dict()}


def build_manifest(ctx, plan, started: float) -> dict:
    units, artefacts = {}, {}
    for unit in plan:
        folder = ctx.folder(unit.id)
        state = cache.read_state(folder) or {}
        status = cache.status_of(folder, unit.key)
        upstream = {u: {"key": next(p.key for p in plan if p.id == u),
                        "outputs": (cache.read_state(ctx.folder(u)) or {}).get("outputs", {})} for u in unit.upstream}
        outputs = state.get("outputs", {}) if status == "done" else {}
        units[unit.id] = {"key": unit.key, "status": status, "upstream": {u: v["key"] for u, v in upstream.items()},
                          "outputs": outputs, "timings": state.get("timings", {}), "attempts": state.get("attempts", 0)}
        for rel, sha in outputs.items():
            artefacts[f"{unit.id}/{rel}"] = {
                "sha256": sha, "unit": unit.id,
                "inputs": {f"{u}/{r}": s for u, v in upstream.items() for r, s in v["outputs"].items()}}
    leak_path = ctx.folder("train/leak-check") / "leak_check.json"
    leak = json.loads(leak_path.read_text(encoding="utf-8")) if leak_path.exists() else None
    return {
        "schema": "escbench.experiment-manifest/1",
        "experiment": {"name": ctx.experiment.name, "file": str(ctx.experiment.path),
                       "sha256": cache.file_sha256(ctx.experiment.path), "description": ctx.experiment.description},
        "complete": all(u["status"] == "done" for u in units.values()),
        "versions": _versions(),
        "timings": {"started": round(started, 3), "finished": round(time.time(), 3),
                    "units_s": {u: v["timings"].get("seconds") for u, v in units.items() if v["timings"]}},
        "teacher": {**ctx.endpoint.identity(), "usage": teacher_usage(ctx)},
        "leak_check": leak,
        "units": units,
        "artefacts": dict(sorted(artefacts.items())),
    }


def write_manifest(ctx, plan, started: float) -> Path:
    manifest = build_manifest(ctx, plan, started)
    path = ctx.out / MANIFEST
    cache.write_strict_json(path, manifest)
    publish = ctx.folder("publish/leaderboard")
    if manifest["units"].get("publish/leaderboard", {}).get("status") == "done":
        cache.write_strict_json(publish / MANIFEST, manifest)
    return path
