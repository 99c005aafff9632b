"""Stages that report: analyse (Tables 1, 2, 9, 10, Figure 3 per dataset with Tables 1 and 2 side
by side, Table 4 toxicity of datasets and systems, a human-evaluation export) and publish
(leaderboard in every format with bootstrap intervals and significance, plots)."""
from __future__ import annotations

import json
from pathlib import Path

from escbench.harness.strict_json import dumps_strict

from .invoke import StageError, call
from .stage_data import SEEDS_FILE, TRAIN_DIALOGUES
from .stage_models import SYSTEMS, evaluation_splits, folder_name

# dataset column -> (unit, file)
DATASETS = {"seeds (train)": ("expand/seeds", SEEDS_FILE), "expanded": ("expand/expand", "dialogues.json"),
            "AugESC data": ("augment/augesc", "dialogues.json")}


def dataset_files(ctx) -> dict[str, Path]:
    return {name: ctx.folder(unit) / file for name, (unit, file) in DATASETS.items()}


def reference_files(ctx) -> dict[str, Path]:
    """``data.reference_splits`` (e.g. ESConv): column name (the split's name) -> its whole
    source file, described in Tables 1 and 2 beside the experiment's own data, never trained on."""
    from escbench.harness.plugins import get_host
    from escbench.harness.runner import find_split
    from escbench.harness.splits import read_split_spec, resolve_source

    specs = [read_split_spec(find_split(get_host(), s)) for s in ctx.experiment.data.get("reference_splits") or []]
    return {spec.name: resolve_source(spec) for spec in specs}


def split_names(ctx) -> list[str]:
    from escbench.harness.plugins import get_host
    from escbench.harness.runner import find_split
    from escbench.harness.splits import read_split_spec

    return [read_split_spec(find_split(get_host(), s)).name for s in evaluation_splits(ctx)]


def main_result_folders(ctx) -> list[Path]:
    return [ctx.folder(f"evaluate/{folder_name(system)}") for system in SYSTEMS]


def run_stats(ctx, unit, folder: Path) -> None:
    """``escbench stats`` per dataset (seeds, expanded, AugESC data, then each reference split
    such as ESConv), then Tables 1 and 2 with one column per dataset."""
    from escbench.plugins.chatpal.tables import SimpleTable

    tables: dict[str, dict] = {}
    references = reference_files(ctx)
    for name, path in {**dataset_files(ctx), **references}.items():
        out = folder / (f"reference-{name}" if name in references else name.split(" ")[0].lower())
        if call(["stats", str(path), "--out", str(out), "--format", "md"], unit.id) != 0:
            raise StageError(f"{unit.id}: escbench stats failed on {path}")
        tables[name] = {t["name"]: t for t in json.loads((out / "stats.json").read_text(encoding="utf-8"))["tables"]}
    names = list(tables)
    side = []
    for table, key_column, value_column, title in (("table1", 0, 2, "Table 1: strategy share (%) per dataset"),
                                                    ("table2", 0, 1, "Table 2: dataset overview per dataset")):
        keys: list[str] = []
        values: dict[str, dict[str, object]] = {}
        for name in names:
            for row in tables[name][table]["rows"]:
                key = str(row[key_column])
                if key not in keys:
                    keys.append(key)
                values.setdefault(key, {})[name] = row[value_column]
        keys = [k for k in keys if k != "Overall"] + [k for k in keys if k == "Overall"]  # the total row last
        rows = [[key] + [values[key].get(name, "") for name in names] for key in keys]
        side.append(SimpleTable(f"{table}_side_by_side", title, [tables[names[0]][table]["columns"][0]] + names, rows))
    from escbench.harness.jsonl import write_atomic

    write_atomic(folder / "tables_1_2.md", "\n".join(t.to_markdown() for t in side))
    write_atomic(folder / "tables_1_2.json", dumps_strict([t.to_json() for t in side], indent=2, ensure_ascii=False) + "\n")


def run_toxicity(ctx, unit, folder: Path) -> None:
    """Table 4: the toxicity metric over every utterance of each dataset, and each system's
    responses on the first test split (from its results record)."""
    from escbench.harness.jsonl import write_atomic, write_jsonl_atomic
    from escbench.harness.loaders import load_dialogues

    metric = ctx.experiment.stage("analyse").get("toxicity_metric", "toxicity-lexicon")
    rows, columns = [], None
    for name, path in dataset_files(ctx).items():
        utterances = [{"id": f"{d.id}:{i}", "prediction": t.text, "reference": ""}
                      for d in load_dialogues(path).dialogues for i, t in enumerate(d.turns)]
        samples = folder / f"{name.split(' ')[0].lower()}.utterances.jsonl"
        write_jsonl_atomic(samples, utterances)
        scores_path = samples.with_suffix(".scores.json")
        if call(["score", str(samples), "--metrics", metric, "--out", str(scores_path), "--label", name], unit.id) != 0:
            raise StageError(f"{unit.id}: escbench score failed on {samples}")
        scores = json.loads(scores_path.read_text(encoding="utf-8"))["scores"]
        columns = columns or sorted(scores)
        rows.append({"row": name, "kind": "dataset", "n": len(utterances), "scores": scores})
    split = split_names(ctx)[0]
    for system, results in zip(SYSTEMS, main_result_folders(ctx)):
        for record_path in sorted(results.glob("*.json")):
            record = json.loads(record_path.read_text(encoding="utf-8"))
            if record.get("schema") and record["split"]["name"] == split:
                scores = {c: record["scores"].get(c) for c in columns or []}
                rows.append({"row": system, "kind": "system", "n": record["split"]["n_examples"], "scores": scores})
    write_atomic(folder / "table4.json", dumps_strict({"metric": metric, "split": split, "columns": columns,
                                                     "rows": rows}, indent=2, allow_nan=False) + "\n")
    lines = [f"# Table 4: toxicity ({metric}; systems on split {split})", "",
             "| | n | " + " | ".join(columns or []) + " |", "|---|---|" + "---|" * len(columns or [])]
    for row in rows:
        cells = ["" if row["scores"].get(c) is None else f"{row['scores'][c]:.4f}" for c in columns or []]
        lines.append(f"| {row['row']} | {row['n']} | " + " | ".join(cells) + " |")
    write_atomic(folder / "table4.md", "\n".join(lines) + "\n")


def run_human(ctx, unit, folder: Path) -> None:
    """Rating sheets for up to ``human_n`` (default 50) test contexts of the first test split."""
    target = folder / "export"
    if (target / "key.json").is_file():
        return
    split = split_names(ctx)[0]
    available = min(_examples_of(results, split) for results in main_result_folders(ctx))
    n = max(1, min(int(ctx.experiment.stage("analyse").get("human_n", 50)), available))
    raters = str(ctx.experiment.stage("analyse").get("raters", 3))
    argv = ["human", "export", "--results", *map(str, main_result_folders(ctx)), "--split", split,
            "--n", str(n), "--raters", raters, "--seed", str(ctx.experiment.seed), "--out", str(target)]
    if call(argv, unit.id) != 0:
        raise StageError(f"{unit.id}: escbench human export failed")


def _examples_of(results: Path, split: str) -> int:
    for record_path in sorted(results.glob("*.json")):
        record = json.loads(record_path.read_text(encoding="utf-8"))
        if record.get("schema") and record["split"]["name"] == split:
            return int(record["split"]["n_examples"])
    raise StageError(f"no results record of split {split!r} in {results}")


def reported_identity() -> str:
    """sha256 of the paper's reported Table 5 file (publish renders it; an edit re-publishes)."""
    from escbench.harness.models import file_sha256
    from escbench.harness.paths import TASKS_DIR

    return file_sha256(TASKS_DIR / "paper" / "table5.yaml")


def run_publish(ctx, unit, folder: Path) -> None:
    """Leaderboard (md, LaTeX, HTML, CSV, JSON) with intervals and significance, and plots;
    beside it, apart, the paper's reported Table 5 (``reported-table5.*``) and, with
    ``stages.train.variants``, Table 8 (``table8/``)."""
    from escbench.harness.table_files import write_formats

    from .table8 import table8

    settings = ctx.experiment.stage("publish")
    results = [str(p) for p in main_result_folders(ctx)]
    argv = ["leaderboard", *results, "--publish", str(folder / "leaderboard"), "--resamples",
            str(settings.get("resamples", 1000)), "--seed", str(ctx.experiment.seed)]
    argv += ["--ci"] if settings.get("ci", True) else []
    argv += ["--significance"] if settings.get("significance", True) else []
    argv += ["--second"] if settings.get("second", False) else []
    argv += ["--latex-width", str(settings["latex_width"])] if settings.get("latex_width") else []
    argv += ["--caption", str(settings["caption"])] if settings.get("caption") else []
    if call(argv, unit.id) != 0:
        raise StageError(f"{unit.id}: escbench leaderboard reported problems")
    if call(["reported", "table5", "--publish", str(folder / "leaderboard")], unit.id) != 0:
        raise StageError(f"{unit.id}: escbench reported could not render the paper's Table 5")
    if unit.settings.get("variants"):
        write_formats(table8(ctx, unit.settings["variants"], split_names(ctx)[0]), folder / "table8", "table8")
    sweep = [str(ctx.folder(u)) for u in ctx.sweep_units()]
    for split in split_names(ctx):
        if call(["plot", "bar", *results, "--split", split, "--out", str(folder / "plots" / f"bar-{split}.png")],
                unit.id) != 0:
            raise StageError(f"{unit.id}: escbench plot bar failed for split {split}")
        if sweep and _records_have_dri_k(ctx, split):
            points = [*sweep, str(ctx.folder("evaluate/chatpal"))]
            if call(["plot", "sweep", *points, "--split", split, "--out", str(folder / "plots" / f"sweep-{split}.png")],
                    unit.id) != 0:
                raise StageError(f"{unit.id}: escbench plot sweep failed for split {split}")


def _records_have_dri_k(ctx, split: str) -> bool:
    """Figure 4 needs ``system.config.dri_k`` in the student records (students that know their k)."""
    for path in sorted(ctx.folder("evaluate/chatpal").glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("schema") and record["split"]["name"] == split:
            return "dri_k" in (record["system"].get("config") or {})
    return False
