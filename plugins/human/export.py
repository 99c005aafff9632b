"""``escbench human export``: choose what to rate (fixed seed), hide the systems, write sheets.

Two modes. *responses* (paper Table 6): ``n`` examples common to every system's samples
file, spread over as many dialogues as possible; each is one conversation with one reply
per system, in a shuffled order. *dialogues* (paper Table 3): ``n`` whole dialogues from
each of several datasets (split names), interleaved, or ``n`` role cards' simulated
conversations with every system of an interactive split (``escbench interact`` results; the
LLM judge's ratings of them become the sheet ``judge-interactive.csv``, for
``human import --judge``). Either way every unit gets a random id; ``key.json`` alone maps
ids back to systems.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from escbench.harness.errors import ConfigError
from escbench.harness.guideline import Guideline
from escbench.harness.jsonl import write_json_atomic, write_jsonl_atomic
from escbench.harness.results import now_iso

from .form import write_form
from .sheets import Unit, write_sheet

KEY_FILE = "key.json"
UNITS_FILE = "units.jsonl"
KEY_SCHEMA = "escbench.human-key/1"


@dataclass
class Selection:
    """What ``export`` writes: units in canonical order plus provenance for the key."""

    mode: str
    units: list[Unit]
    systems: list[str]
    provenance: dict = field(default_factory=dict)
    prefilled: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # sheet -> unit -> scores


def _unit_ids(rng: random.Random, count: int) -> list[str]:
    ids: list[str] = []
    while len(ids) < count:
        candidate = f"u{rng.getrandbits(28):07x}"
        if candidate not in ids:
            ids.append(candidate)
    return ids


def _spread_over_dialogues(example_ids: list[str], n: int, rng: random.Random) -> list[str]:
    """``n`` example ids: shuffled dialogues, one example each per pass, so ``n`` conversations
    come from ``n`` different dialogues whenever there are that many."""
    by_dialogue: dict[str, list[str]] = {}
    for example_id in example_ids:
        by_dialogue.setdefault(example_id.rsplit(":", 1)[0], []).append(example_id)
    pools = [rng.sample(ids, len(ids)) for _, ids in sorted(by_dialogue.items())]
    rng.shuffle(pools)
    chosen: list[str] = []
    while len(chosen) < n:
        for pool in pools:
            if pool and len(chosen) < n:
                chosen.append(pool.pop())
    return chosen


def _shared_ids(samples: dict[str, dict], n: int, what: str) -> list:
    """The sample ids every system has (in the first system's order); ConfigError when fewer
    than ``n``, saying ``only K <what> (systems); lower --n``."""
    names = list(samples)
    common = [i for i in samples[names[0]] if all(i in samples[name] for name in names)]
    if len(common) < n:
        raise ConfigError(f"--n {n}: only {len(common)} {what} ({', '.join(names)}); lower --n")
    return common


def select_responses(paths: list[Path], split: str, n: int, seed: int, systems: list[str] | None = None) -> Selection:
    """Units for rating system replies on ``split`` from the results under ``paths``. Rows are
    keyed by each record's run label (:func:`escbench.harness.results.record_label`: the label, else the
    system name), so two configurations of one system (a k-sweep, an ablation) are rated as two
    rows; ``systems`` names labels (or system names of unlabelled records)."""
    from escbench.harness.results import record_label
    from escbench.harness.collect import collect_records, newest_records, read_samples
    from escbench.harness.table import record_details

    records, sources = collect_records(paths)
    chosen = [(r, s) for r, s in newest_records(records, sources) if r["split"]["name"] == split]
    found = [record_label(r) for r, _ in chosen]
    if systems:
        missing = [name for name in systems if name not in found]
        if missing:
            raise ConfigError(f"--systems: no results of {missing} on split {split!r} under {[str(p) for p in paths]} "
                              f"(found: {found or 'none'})")
        chosen = sorted((pair for pair in chosen if record_label(pair[0]) in systems),
                        key=lambda pair: systems.index(record_label(pair[0])))
    if not chosen:
        raise ConfigError(f"no results records of split {split!r} under {[str(p) for p in paths]}")
    samples = {record_label(r): {s["id"]: s for s in read_samples(record_details(r, src))} for r, src in chosen}
    names = list(samples)
    common = _shared_ids(samples, n, f"examples of split {split!r} have a reply from every system")
    rng = random.Random(seed)
    picked = _spread_over_dialogues(common, n, rng)
    ids = iter(_unit_ids(rng, n * len(names)))
    units = []
    for index, example_id in enumerate(picked, start=1):
        for name in rng.sample(names, len(names)):
            sample = samples[name][example_id]
            context = tuple({"role": t.get("role"), "text": t.get("text", "")} for t in sample.get("context") or ())
            units.append(Unit(next(ids), f"c{index:02d}", context,
                              sample.get("prediction") or "", name, example_id))
    provenance = {"split": split, "records": {record_label(r): {
        "system": r["system"]["name"], "file": str(src), "config_sha256": r["system"].get("config_sha256"),
        "examples_sha256": r["split"].get("examples_sha256")} for r, src in chosen}}
    return Selection("responses", units, names, provenance)


def select_dialogues(host, datasets: list[str], n: int, seed: int) -> Selection:
    """Units for rating whole dialogues: ``n`` per dataset (split name or YAML)."""
    from escbench.harness.runner import find_split
    from escbench.harness.splits import load_split, read_split_spec

    rng = random.Random(seed)
    drawn: list[tuple[str, object]] = []
    provenance = {"datasets": {}}
    for name in datasets:
        data = load_split(read_split_spec(find_split(host, name)))
        if data.spec.name in provenance["datasets"]:
            raise ConfigError(f"--datasets names split {data.spec.name!r} twice")
        if len(data.dialogues) < n:
            raise ConfigError(f"--n {n}: split {name!r} has only {len(data.dialogues)} dialogues; lower --n")
        drawn.extend((data.spec.name, d) for d in rng.sample(data.dialogues, n))
        provenance["datasets"][data.spec.name] = {"source": str(data.source_path), "yaml": str(data.spec.path)}
    rng.shuffle(drawn)
    units = [Unit(unit_id, f"d{index:03d}", tuple({"role": t.role, "text": t.text} for t in dialogue.turns), None,
                  dataset, dialogue.id)
             for index, (unit_id, (dataset, dialogue)) in enumerate(zip(_unit_ids(rng, len(drawn)), drawn), start=1)]
    return Selection("dialogues", units, list(provenance["datasets"]), provenance)


JUDGE_SHEET = "judge-interactive.csv"


def select_conversations(paths: list[Path], split: str, n: int, seed: int, systems: list[str] | None = None) -> Selection:
    """Units for rating whole simulated conversations of an interactive split: ``n`` role cards
    that every system talked through, one unit per (card, system), in a shuffled order. The judge's
    ratings recorded with the conversations go to :data:`JUDGE_SHEET`."""
    from escbench.harness.table import record_details
    from escbench.harness.collect import collect_records, newest_records, read_samples

    records, sources = collect_records(paths)
    chosen = [(r, s) for r, s in newest_records(records, sources)
              if r["split"]["name"] == split and (not systems or r["system"]["name"] in systems)]
    samples = {r["system"]["name"]: {s["id"]: s for s in read_samples(record_details(r, src))} for r, src in chosen}
    if not samples or not all("turns" in row for rows in samples.values() for row in rows.values()):
        raise ConfigError(f"no interactive results (escbench interact) of split {split!r} under {[str(p) for p in paths]}")
    names = list(samples)
    common = _shared_ids(samples, n, f"role cards of split {split!r} were played with every system")
    rng = random.Random(seed)
    picked = rng.sample(common, n)
    ids = iter(_unit_ids(rng, n * len(names)))
    units, judged = [], {}
    for index, card in enumerate(picked, start=1):
        for name in rng.sample(names, len(names)):
            sample = samples[name][card]
            unit = Unit(next(ids), f"c{index:02d}", tuple({"role": t.get("role"), "text": t.get("text", "")}
                                                          for t in sample.get("turns") or ()), None, name, card)
            units.append(unit)
            if isinstance(sample.get("rating"), dict):
                judged[unit.id] = sample["rating"]
    provenance = {"split": split, "records": {r["system"]["name"]: {"file": str(src), "judge": (r.get("interactive") or {}).get("judge")}
                                              for r, src in chosen}}
    prefilled = {JUDGE_SHEET: judged} if len(judged) == len(units) else {}
    return Selection("dialogues", units, names, provenance, prefilled)


def rater_order(units: list[Unit], seed: int, rater: int) -> list[Unit]:
    """The units in the order one rater sees them: conversations shuffled per rater, the
    replies inside a conversation kept in their (already shuffled) order."""
    items = list(dict.fromkeys(u.item for u in units))
    random.Random(f"{seed}:{rater}").shuffle(items)
    return [u for item in items for u in units if u.item == item]


def write_export(out: Path, selection: Selection, guideline: Guideline, raters: int, seed: int) -> list[Path]:
    """Write units, key, guideline and one CSV + HTML form per rater; refuses a folder that
    already holds an export (filled sheets must never be overwritten)."""
    out = Path(out)
    if (out / KEY_FILE).exists():
        raise ConfigError(f"{out} already holds an export ({KEY_FILE}); choose another --out or remove it first")
    if raters < 1:
        raise ConfigError("--raters must be at least 1")
    out.mkdir(parents=True, exist_ok=True)
    dimensions = guideline.for_mode(selection.mode)
    sheets = [f"rater-{k}.csv" for k in range(1, raters + 1)]
    written = [out / "guideline.md"]
    (out / "guideline.md").write_text(guideline.text, encoding="utf-8")
    for k, sheet in enumerate(sheets, start=1):
        ordered = rater_order(selection.units, seed, k)
        write_sheet(out / sheet, ordered, dimensions)
        write_form(out / sheet.replace(".csv", ".html"), ordered, dimensions, guideline, sheet)
        written += [out / sheet, out / sheet.replace(".csv", ".html")]
    for sheet, scores in selection.prefilled.items():
        write_sheet(out / sheet, selection.units, dimensions, scores)
        written.append(out / sheet)
    write_jsonl_atomic(out / UNITS_FILE, [u.public() for u in selection.units])
    write_json_atomic(out / KEY_FILE, {
        "schema": KEY_SCHEMA, "mode": selection.mode, "created_at": now_iso(), "seed": seed,
        "n_units": len(selection.units), "raters": raters, "sheets": sheets, "systems": selection.systems,
        "scale": list(guideline.scale), "dimensions": [{"name": d.name, "short": d.short} for d in dimensions],
        **selection.provenance,
        "units": {u.id: {"system": u.system, "source_id": u.source_id, "conversation": u.item} for u in selection.units},
    })
    return written + [out / UNITS_FILE, out / KEY_FILE]
