"""``escbench run``: generate (cached, resumable), then score, then write results records.

Order of work: splits are loaded first (a missing data file is reported and that split
skipped); each system is built and prepared once (a failing system is reported and the
others still run); for each (system, split) pending examples are generated batch by batch,
each batch appended to the cache before the next starts; then every metric scores the
corpus and the record and samples file are written atomically.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cache import GenerationCache, generation_key, stable_hash
from .data import example_to_dict
from .errors import ConfigError, EscbenchError
from .jsonl import write_json_atomic, write_jsonl_atomic
from .plugins import PluginHost
from .registry import Generation, GenerationSettings, Sample
from .results import SCHEMA, environment_info, now_iso, record_stem
from .scoring import default_metric_names, score_samples
from .splits import SplitData, file_sha256, load_split, read_split_spec, split_name_of


@dataclass
class RunConfig:
    """Everything that decides a run's outputs (recorded in each results record).

    A system's args may hold ``label`` (:data:`LABEL_KEY`): it names one configuration of the
    system, so that several share a run; it is not passed to the system, and it names the
    record file and the leaderboard row."""

    systems: list[tuple[str, dict[str, Any]]]
    splits: list[str]
    metrics: list[tuple[str, dict[str, Any]]] | None = None  # None: the default metrics
    settings: GenerationSettings = field(default_factory=GenerationSettings)
    limit: int | None = None
    out: Path = Path("results")
    lenient: bool = False


@dataclass
class RunOutcome:
    records: list[dict] = field(default_factory=list)
    record_paths: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


LABEL_KEY = "label"


def system_kwargs(args: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments a system is built with: ``args`` less the run's :data:`LABEL_KEY`."""
    return {key: value for key, value in args.items() if key != LABEL_KEY}


def find_split(host: PluginHost, name: str) -> Path:
    """Path of the YAML that declares split ``name`` (or ``name`` itself if it is a YAML file)."""
    as_path = Path(name)
    if as_path.suffix in (".yaml", ".yml") and as_path.exists():
        return as_path
    by_name = {split_name_of(path): path for path in host.split_files}
    if name not in by_name:
        from .errors import UnknownNameError

        raise UnknownNameError("split", name, list(by_name))
    return by_name[name]


def _quiet_progress():
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True), transient=False,
    )


def run(config: RunConfig, host: PluginHost) -> RunOutcome:
    outcome = RunOutcome()
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    splits: list[SplitData] = []
    for name in config.splits:
        try:
            data = load_split(read_split_spec(find_split(host, name)), limit=config.limit, lenient=config.lenient)
        except EscbenchError as error:
            outcome.errors.append(str(error))
            continue
        if data.rejects:
            _write_rejects(out, data)
        splits.append(data)
    metric_specs = config.metrics
    if metric_specs is None:
        metric_specs = [(name, {}) for name in default_metric_names(host.metrics)]
    for name, _ in metric_specs:
        host.metrics.get(name)  # unknown names fail before any generation
    with _quiet_progress() as progress:
        for system_name, args in config.systems:
            try:
                system = _build_system(host, system_name, args)
                system.prepare()
            except EscbenchError as error:
                outcome.errors.append(str(error))
                continue
            for data in splits:
                try:
                    record, path = _run_one(system_name, args, system, data, metric_specs, config, host, progress)
                except EscbenchError as error:
                    outcome.errors.append(f"{system_name} on {data.spec.name}: {error}")
                    continue
                outcome.records.append(record)
                outcome.record_paths.append(path)
                outcome.errors.extend(
                    f"{system_name} on {data.spec.name}: {message}" for message in record["metric_errors"].values()
                )
    return outcome


def _build_system(host: PluginHost, name: str, args: dict[str, Any]):
    cls = host.systems.get(name)
    try:
        return cls(**system_kwargs(args))
    except TypeError as error:
        raise ConfigError(f"system {name!r}: bad --system-args {args}: {error}") from None


def _write_rejects(out: Path, data: SplitData) -> None:
    rows = [
        {"file": str(data.source_path), "index": r.index, "dialogue_id": r.dialogue_id, "reason": r.reason}
        for r in data.rejects
    ]
    write_jsonl_atomic(out / "rejects" / f"{data.spec.name}.jsonl", rows)


def _generate(system, system_name, data, config, progress) -> tuple[list[Generation], dict]:
    """Generations for every example of the split, reusing and extending the cache."""
    settings = config.settings
    cache = GenerationCache(Path(config.out) / "cache", system_name, system.config())
    keys = [generation_key(example, settings) for example in data.examples]
    pending = [i for i, key in enumerate(keys) if key not in cache]
    counts = {"examples": len(keys), "cached": len(keys) - len(pending), "generated": 0}
    task = progress.add_task(f"{system_name} · {data.spec.name}", total=len(keys), completed=counts["cached"])
    step = max(1, settings.batch_size)
    for start in range(0, len(pending), step):
        chunk = pending[start:start + step]
        examples = [data.examples[i] for i in chunk]
        generations = system.generate(examples, settings)
        if len(generations) != len(examples):
            raise EscbenchError(f"system returned {len(generations)} generations for {len(examples)} examples")
        cache.add([(keys[i], data.examples[i], gen) for i, gen in zip(chunk, generations)])
        counts["generated"] += len(chunk)
        progress.advance(task, len(chunk))
    return [cache.get(key) for key in keys], counts


def _run_one(system_name, args, system, data, metric_specs, config, host, progress) -> tuple[dict, Path]:
    started = time.perf_counter()
    generations, counts = _generate(system, system_name, data, config, progress)
    generated_at = time.perf_counter()
    samples = [
        Sample(id=ex.id, prediction=gen.text, reference=ex.reference, strategy=ex.strategy,
               predicted_strategy=gen.predicted_strategy, context=ex.context)
        for ex, gen in zip(data.examples, generations)
    ]
    task = progress.add_task(f"scoring {system_name} · {data.spec.name}", total=len(metric_specs))
    scored = score_samples(samples, metric_specs, host.metrics, on_metric=lambda _: progress.advance(task))
    finished = time.perf_counter()
    stem = record_stem(args.get(LABEL_KEY) or system_name, data.spec.name)
    samples_rows = []
    for i, (example, gen) in enumerate(zip(data.examples, generations)):
        row = example_to_dict(example)
        row.update(prediction=gen.text, predicted_strategy=gen.predicted_strategy, raw=gen.raw)
        row["scores"] = {col: values[i] for col, values in scored.per_sample.items() if i < len(values)}
        samples_rows.append(row)
    usage = {"prompt_tokens": 0, "completion_tokens": 0}
    for gen in generations:
        for key in usage:
            usage[key] += int(gen.usage.get(key, 0))
    system_config = system.config()
    spec = data.spec.to_dict()
    record = {
        "schema": SCHEMA,
        "created_at": now_iso(),
        "system": {"name": system_name, "plugin": host.systems.plugin_of(system_name), "args": args,
                   "config": system_config, "config_sha256": stable_hash(system_config)},
        "split": {**spec, "name": data.spec.name, "source": str(data.source_path),
                  "source_sha256": file_sha256(data.source_path), "n_dialogues": len(data.dialogues),
                  "n_examples": len(data.examples), "examples_sha256": data.examples_sha256(),
                  "limit": config.limit if config.limit is not None else data.spec.limit},
        "generation": config.settings.to_dict(),
        "metrics": [{"name": name, "args": margs} for name, margs in metric_specs],
        "scores": scored.scores,
        "score_meta": scored.meta,
        "metric_errors": scored.errors,
        "metric_skipped": scored.skipped,
        "counts": {**counts, "empty_generations": sum(1 for g in generations if not g.text.strip())},
        "timings": {"generation_s": round(generated_at - started, 3),
                    "scoring_s": round(finished - generated_at, 3), "total_s": round(finished - started, 3)},
        "usage": usage,
        "environment": environment_info(),
        "samples_file": f"{stem}.samples.jsonl",
    }
    from .registry import system_display

    record["system"].update(label=args.get(LABEL_KEY), **system_display(type(system)))
    out = Path(config.out)
    write_jsonl_atomic(out / f"{stem}.samples.jsonl", samples_rows)
    path = out / f"{stem}.json"
    write_json_atomic(path, record)
    return record, path
