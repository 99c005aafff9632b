"""``escbench run``: generate (cached, resumable), then score, then write results records.

Order of work: splits are loaded first (a missing data file is reported and that split
skipped); each system is built and prepared once (a failing system is reported and the
others still run); for each (system, split) pending examples are generated batch by batch,
each batch appended to the cache before the next starts; then every metric scores the
corpus and the record and samples file are written atomically.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cache import GenerationCache, generation_key, stable_hash
from .contracts import check_generations
from .data import example_to_dict
from .errors import ConfigError, EscbenchError, UnknownNameError
from .folder_lock import FolderLock
from .jsonl import write_json_atomic, write_jsonl_atomic
from .models import file_sha256
from .plugins import PluginHost
from .registry import Generation, GenerationSettings, Sample
from .results import SCHEMA, environment_info, now_iso, record_stem
from .scoring import default_metric_names, score_samples
from .splits import SplitData, load_split, read_split_spec, split_name_of


@dataclass
class RunConfig:
    """Everything that decides a run's outputs (recorded in each results record).

    ``use_cache=False`` (``--no-cache``) regenerates every example (new generations are still
    appended to the cache). A system's args may hold ``label`` (:data:`LABEL_KEY`): it names one
    configuration of the system, so that several share a run; it is not passed to the system, and
    it names the record file and the leaderboard row."""

    systems: list[tuple[str, dict[str, Any]]]
    splits: list[str]
    metrics: list[tuple[str, dict[str, Any]]] | None = None  # None: the default metrics
    settings: GenerationSettings = field(default_factory=GenerationSettings)
    limit: int | None = None
    out: Path = Path("results")
    lenient: bool = False
    use_cache: bool = True


@dataclass
class RunOutcome:
    """``errors``: one line per failure (the run exits 1); ``tracebacks``: the full traceback of
    each unexpected exception (``--traceback``); ``notes``: what the console should also say
    (cache use, rejected dialogues, skipped cache lines)."""

    records: list[dict] = field(default_factory=list)
    record_paths: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    tracebacks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class _Contained(Exception):
    """A failure already worded for the user (``message``), with its traceback if unexpected."""

    def __init__(self, message: str, trace: str = ""):
        super().__init__(message)
        self.message, self.trace = message, trace


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:300] if text else ''}".rstrip(": ")


def _contain(who: str, stage: str, error: BaseException) -> _Contained:
    if isinstance(error, _Contained):
        return error
    if isinstance(error, EscbenchError):
        return _Contained(str(error) if who.split(" (")[0] in str(error) else f"{who}: {error}")
    return _Contained(f"{who} failed in {stage}: {_one_line(error)}", traceback.format_exc())


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
    """Generate and score every (system, split); any exception raised by a system or metric is
    contained, reported by name and plugin, and the others still run. Holds the output folder's
    :class:`FolderLock` for the whole run."""
    out = Path(config.out)
    with FolderLock(out, "escbench run"):
        return _run_locked(config, host, out)


def _run_locked(config: RunConfig, host: PluginHost, out: Path) -> RunOutcome:
    outcome = RunOutcome()
    metric_specs = config.metrics
    if metric_specs is None:
        metric_specs = [(name, {}) for name in default_metric_names(host.metrics)]
    try:  # unknown names fail before any work
        for name, _ in metric_specs:
            host.metrics.get(name)
        for name, _ in config.systems:
            host.systems.get(name)
    except UnknownNameError as error:
        raise ConfigError(f"{error}{host.failed_to_load()}") from None
    splits: list[SplitData] = []
    other_kinds = []
    for name in config.splits:
        try:
            spec = read_split_spec(find_split(host, name))
            if spec.kind != "examples":
                other_kinds.append(spec)
                continue
            data = load_split(spec, limit=config.limit, lenient=config.lenient)
        except EscbenchError as error:
            outcome.errors.append(str(error))
            continue
        if not data.rejects:
            (out / "rejects" / f"{data.spec.name}.jsonl").unlink(missing_ok=True)  # stale from an earlier run
        else:
            _write_rejects(out, data)
            outcome.notes.append(f"split {data.spec.name}: {len(data.rejects)} malformed dialogue(s) rejected "
                                 f"(--lenient), reasons in {out / 'rejects' / (data.spec.name + '.jsonl')}")
        splits.append(data)
    with _quiet_progress() as progress:
        for system_name, args in config.systems:
            who = f"system {system_name!r} ({host.describe(host.systems.plugin_of(system_name))})"
            stage = "build"
            try:
                system = _build_system(host, system_name, args)
                stage = "prepare"
                system.prepare()
            except Exception as error:
                _record(outcome, _contain(who, stage, error))
                continue
            for data in splits:
                try:
                    record, path = _run_one(system_name, args, system, data, metric_specs, config, host,
                                            progress, who, outcome)
                except Exception as error:
                    failure = _contain(who, "run", error)
                    _record(outcome, _Contained(f"{failure.message} (split {data.spec.name})", failure.trace))
                    continue
                outcome.records.append(record)
                outcome.record_paths.append(path)
                counts = record["counts"]
                outcome.notes.append(f"{system_name} on {data.spec.name}: {counts['cached']} of {counts['examples']} "
                                     f"generations from the cache, {counts['generated']} generated")
                outcome.errors.extend(
                    f"{system_name} on {data.spec.name}: {message}" for message in record["metric_errors"].values()
                )
    for spec in other_kinds:
        _run_split_kind(spec, config, host, outcome)
    return outcome


def _run_split_kind(spec, config: RunConfig, host: PluginHost, outcome: RunOutcome) -> None:
    """Hand a split of another kind (``kind:`` in its YAML) to the plugin registering that kind."""
    handlers = {getattr(item, "name", None): (item, plugin)
                for plugin, items in host.call_each("register_split_kinds") for item in items}
    if spec.kind not in handlers:
        known = ", ".join(sorted(str(k) for k in handlers)) or "none"
        outcome.errors.append(f"{spec.path}: no plugin runs splits of kind {spec.kind!r} (kinds provided: {known})")
        return
    handler, plugin = handlers[spec.kind]
    try:
        handler().run(spec.path, config, host, outcome)
    except Exception as error:
        _record(outcome, _contain(f"split {spec.name!r} of kind {spec.kind!r} ({host.describe(plugin)})", "run", error))


def _record(outcome: RunOutcome, failure: _Contained) -> None:
    outcome.errors.append(failure.message)
    if failure.trace:
        outcome.tracebacks.append(failure.trace)


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


def cache_identity(host: PluginHost, system_name: str, system) -> dict:
    """What keys a system's cache: its config, plus distribution and version for a
    third-party system (upgrading the package must not reuse old outputs)."""
    identity = system.config()
    plugin = host.systems.plugin_of(system_name)
    if not host.is_builtin(plugin):
        info = host.infos.get(plugin)
        identity = {"config": identity, "plugin": plugin,
                    "distribution": info.distribution if info else None, "version": info.version if info else None}
    return identity


def _generate(system, system_name, data, config, progress, host, who, outcome) -> tuple[list[Generation], dict]:
    """Generations for every example of the split, reusing and extending the cache. A system
    that fails halfway keeps every finished batch in the cache."""
    settings = config.settings
    try:
        identity = cache_identity(host, system_name, system)
    except Exception as error:
        raise _contain(who, "config", error) from None
    cache = GenerationCache(Path(config.out) / "cache", system_name, identity, read_existing=config.use_cache)
    outcome.notes.extend(cache.notes)
    keys = [generation_key(example, settings) for example in data.examples]
    pending = [i for i, key in enumerate(keys) if key not in cache]
    counts = {"examples": len(keys), "cached": len(keys) - len(pending), "generated": 0}
    task = progress.add_task(f"{system_name} · {data.spec.name}", total=len(keys), completed=counts["cached"])
    step = max(1, settings.batch_size)
    for start in range(0, len(pending), step):
        chunk = pending[start:start + step]
        examples = [data.examples[i] for i in chunk]
        try:
            generations = check_generations(system.generate(examples, settings), len(examples), who)
        except Exception as error:
            kept = f"; the {counts['generated']} generated before stay cached" if counts["generated"] else ""
            failure = _contain(who, "generate", error)
            raise _Contained(failure.message + kept, failure.trace) from None
        cache.add([(keys[i], data.examples[i], gen) for i, gen in zip(chunk, generations)])
        counts["generated"] += len(chunk)
        progress.advance(task, len(chunk))
    return [cache.get(key) for key in keys], counts


def _run_one(system_name, args, system, data, metric_specs, config, host, progress, who, outcome) -> tuple[dict, Path]:
    started = time.perf_counter()
    generations, counts = _generate(system, system_name, data, config, progress, host, who, outcome)
    generated_at = time.perf_counter()
    samples = [
        Sample(id=ex.id, prediction=gen.text, reference=ex.reference, strategy=ex.strategy,
               predicted_strategy=gen.predicted_strategy, context=ex.context)
        for ex, gen in zip(data.examples, generations)
    ]
    task = progress.add_task(f"scoring {system_name} · {data.spec.name}", total=len(metric_specs))
    scored = score_samples(samples, metric_specs, host.metrics, on_metric=lambda _: progress.advance(task),
                           describe_plugin=host.describe)
    outcome.tracebacks.extend(scored.tracebacks.values())
    finished = time.perf_counter()
    stem = record_stem(args.get(LABEL_KEY) or system_name, data.spec.name)
    samples_rows = []
    for i, (example, gen) in enumerate(zip(data.examples, generations)):
        row = example_to_dict(example)
        row.update(prediction=gen.text, predicted_strategy=gen.predicted_strategy, raw=gen.raw)
        row["scores"] = {col: values[i] for col, values in scored.per_sample.items()}
        samples_rows.append(row)
    usage = {"prompt_tokens": 0, "completion_tokens": 0}
    for gen in generations:
        for key in usage:
            usage[key] += int(gen.usage.get(key, 0))
    system_config = system.config()
    plugin = host.systems.plugin_of(system_name)
    info = host.infos.get(plugin)
    spec = data.spec.to_dict()
    record = {
        "schema": SCHEMA,
        "created_at": now_iso(),
        "system": {"name": system_name, "plugin": plugin, "args": args,
                   "distribution": info.distribution if info else None, "version": info.version if info else None,
                   "config": system_config, "config_sha256": stable_hash(system_config)},
        "split": {**spec, "name": data.spec.name, "source": str(data.source_path),
                  "source_sha256": file_sha256(data.source_path), "n_dialogues": len(data.dialogues),
                  "n_examples": len(data.examples), "examples_sha256": data.examples_sha256(),
                  "limit": config.limit if config.limit is not None else data.spec.limit,
                  "rejected_dialogues": len(data.rejects),
                  "rejects_file": f"rejects/{data.spec.name}.jsonl" if data.rejects else None},
        "generation": config.settings.to_dict(),
        "metrics": [{"name": name, "args": margs} for name, margs in metric_specs],
        "scores": scored.scores,
        "score_meta": scored.meta,
        "metric_errors": scored.errors,
        "metric_skipped": scored.skipped,
        "counts": {**counts, "rejected_dialogues": len(data.rejects), "empty_generations": sum(1 for g in generations if not g.text.strip())},
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
