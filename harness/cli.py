"""The ``escbench`` command line. Heavy imports happen inside the command that needs them,
so ``escbench --help`` answers instantly."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

DEFAULT_SYSTEMS = "llama"
DEFAULT_SPLITS = "seed"


class CommandRegistrar:
    """Handed to ``register_commands`` hooks: ``add(name, help, configure, run)``."""

    def __init__(self, subparsers):
        self.subparsers = subparsers

    def add(self, name: str, help: str, configure: Callable, run: Callable[[argparse.Namespace], int]) -> None:
        parser = self.subparsers.add_parser(name, help=help, description=help)
        configure(parser)
        parser.set_defaults(handler=run)


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def parse_assignments(specs: list[str], names: list[str], flag: str) -> dict[str, dict[str, Any]]:
    """``[NAME:]key=value[,key=value]`` strings -> {name: {key: value}}; without ``NAME:``
    the arguments apply to every named item. Values are parsed as YAML scalars."""
    import yaml

    from .errors import ConfigError

    result: dict[str, dict[str, Any]] = {name: {} for name in names}
    for spec in specs or []:
        target, _, body = spec.partition(":") if ":" in spec.split("=", 1)[0] else ("", "", spec)
        if target and target not in result:
            raise ConfigError(f"{flag} {spec!r}: {target!r} is not among {names}")
        pairs = {}
        for item in _csv(body):
            key, eq, raw = item.partition("=")
            if not eq or not key:
                raise ConfigError(f"{flag} {spec!r}: expected key=value, got {item!r}")
            pairs[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
        for name in [target] if target else names:
            result[name].update(pairs)
    return result


# -- run ------------------------------------------------------------------------
def _configure_run(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="YAML run file (systems, splits, metrics, generation, limit, out)")
    parser.add_argument("--systems", help=f"comma-separated system names (default: {DEFAULT_SYSTEMS})")
    parser.add_argument("--splits", help=f"comma-separated split names or YAML paths (default: {DEFAULT_SPLITS})")
    parser.add_argument("--metrics", help="comma-separated metric names (default: every default metric)")
    parser.add_argument("--system-args", action="append", default=[], metavar="[SYSTEM:]K=V[,K=V]")
    parser.add_argument("--metric-args", action="append", default=[], metavar="[METRIC:]K=V[,K=V]")
    parser.add_argument("--limit", type=int, help="first N examples of each split")
    parser.add_argument("--out", type=Path, help="results folder (default: results)")
    sampling = parser.add_mutually_exclusive_group()
    sampling.add_argument("--sample", dest="do_sample", action="store_true", default=None, help="sample")
    sampling.add_argument("--greedy", dest="do_sample", action="store_false", help="greedy decoding (default)")
    parser.add_argument("--temperature", type=float)
    parser.add_argument("--top-p", type=float)
    parser.add_argument("--max-new-tokens", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lenient", action="store_true", help="skip bad dialogues (written to OUT/rejects/) instead of failing")
    parser.add_argument("--format", default="terminal", help="how to print the table (a renderer name)")


def _named_items(items: list, flag: str) -> list[tuple[str, dict]]:
    from .errors import ConfigError

    out = []
    for item in items:
        if isinstance(item, str):
            out.append((item, {}))
        elif isinstance(item, dict) and "name" in item:
            label = {"label": item["label"]} if flag == "systems" and item.get("label") is not None else {}
            out.append((item["name"], {**dict(item.get("args") or {}), **label}))
        else:
            raise ConfigError(f"run file: each entry of {flag!r} is a name or {{name, args}}, got {item!r}")
    return out


def _row_name(name: str, system_args: dict) -> str:
    """The system's label (``label`` in its args) or its name; ConfigError for a bad label."""
    from .errors import ConfigError

    label = system_args.get("label", name)
    if not isinstance(label, str) or not label.strip():
        raise ConfigError(f"system {name!r}: label {label!r} must be a non-empty string")
    return label


def build_run_config(args: argparse.Namespace):
    import yaml

    from .errors import ConfigError
    from .registry import GenerationSettings
    from .runner import RunConfig

    file_config: dict[str, Any] = {}
    if args.config:
        try:
            file_config = yaml.safe_load(args.config.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            raise ConfigError(f"{args.config}: cannot read run file: {error}") from None
    systems = _named_items(_csv(args.systems) if args.systems else file_config.get("systems", [DEFAULT_SYSTEMS]), "systems")
    splits = _csv(args.splits) if args.splits else list(file_config.get("splits", [DEFAULT_SPLITS]))
    metrics = None
    if args.metrics or "metrics" in file_config:
        metrics = _named_items(_csv(args.metrics) if args.metrics else file_config["metrics"], "metrics")
    system_extra = parse_assignments(args.system_args, [n for n, _ in systems], "--system-args")
    systems = [(name, {**base, **system_extra[name]}) for name, base in systems]
    names = [_row_name(name, system_args) for name, system_args in systems]
    if len(set(names)) != len(names):
        raise ConfigError(f"systems {names}: each system may appear once per run unless each entry has its own "
                          "label (run file: {name: chatpal, label: \"ChatPal k=2\", args: {...}})")
    if metrics is not None:
        metric_extra = parse_assignments(args.metric_args, [n for n, _ in metrics], "--metric-args")
        metrics = [(name, {**base, **metric_extra[name]}) for name, base in metrics]
    elif args.metric_args:
        raise ConfigError("--metric-args needs --metrics naming the metrics it applies to")
    generation = dict(file_config.get("generation") or {})
    for key in ("do_sample", "temperature", "top_p", "max_new_tokens", "seed", "batch_size"):
        value = getattr(args, key)
        if value is not None:
            generation[key] = value
    try:
        settings = GenerationSettings(**generation)
    except TypeError as error:
        raise ConfigError(f"generation settings: {error}") from None
    return RunConfig(
        systems=systems, splits=splits, metrics=metrics, settings=settings,
        limit=args.limit if args.limit is not None else file_config.get("limit"),
        out=args.out or Path(file_config.get("out", "results")), lenient=args.lenient,
    )


def cmd_run(args: argparse.Namespace) -> int:
    from .plugins import get_host
    from .runner import run
    from .table import table_from_records

    host = get_host()
    config = build_run_config(args)
    renderer = host.renderers.get(args.format)()
    outcome = run(config, host)
    for split in config.splits:
        records = [r for r in outcome.records if r["split"]["name"] == split or r["split"]["yaml"] == split]
        if records:
            print(renderer.render(table_from_records(records, title=f"escbench · split {records[0]['split']['name']}")))
    for path in outcome.record_paths:
        print(f"wrote {path}", file=sys.stderr)
    return report_problems(host, outcome.errors)


def report_problems(host, errors: list[str]) -> int:
    """Print plugin failures and ``errors`` on stderr; return the exit status (1 if any, else 0)."""
    problems = [f"plugin {f.plugin!r} failed ({f.stage}): {f.error}" for f in host.failures] + errors
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


# -- plugins / list ---------------------------------------------------------------
def cmd_plugins(args: argparse.Namespace) -> int:
    import json

    from .plugins import get_host

    host = get_host()
    infos = host.plugin_infos()
    if args.json:
        print(json.dumps([vars(info) for info in infos] + [
            {"name": f.plugin, "failed": f.stage, "error": f.error} for f in host.failures], indent=2))
        return 1 if host.failures else 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="escbench plugins")
    for column in ("plugin", "distribution", "version", "hooks", "provides"):
        table.add_column(column)
    for info in infos:
        provides = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in sorted(info.provides.items()))
        table.add_row(info.name, info.distribution + (" (built-in)" if info.builtin else ""), info.version,
                      ", ".join(info.hooks), provides)
    for failure in host.failures:
        table.add_row(f"[red]{failure.plugin}[/red]", "", "", f"[red]FAILED in {failure.stage}[/red]", failure.error)
    Console().print(table)
    return 1 if host.failures else 0


def cmd_list(args: argparse.Namespace) -> int:
    from .plugins import get_host
    from .splits import read_split_spec

    host = get_host()
    rows: list[tuple[str, str, str]] = []
    if args.kind == "splits":
        for path, plugin in host.split_files.items():
            try:
                spec = read_split_spec(path)
                rows.append((spec.name, plugin, spec.description))
            except Exception as error:  # a broken YAML is listed, not fatal
                rows.append((path.stem, plugin, f"UNREADABLE: {error}"))
    else:
        registry = {"systems": host.systems, "metrics": host.metrics, "renderers": host.renderers}[args.kind]
        for name, cls, plugin in registry.items():
            description = getattr(cls, "description", "")
            if args.kind == "metrics":
                columns = ", ".join(getattr(cls, "columns", ()))
                flag = "" if getattr(cls, "default", True) else " (not default)"
                description = f"[{columns}]{flag} {description}"
            rows.append((name, plugin, description))
    width = max((len(r[0]) for r in rows), default=4)
    for name, plugin, description in sorted(rows):
        print(f"{name:<{width}}  {description}  [{plugin}]")
    return report_problems(host, [])


# -- score ----------------------------------------------------------------------
def cmd_score(args: argparse.Namespace) -> int:
    from .plugins import get_host
    from .scoring import default_metric_names, score_samples
    from .scored_files import read_samples_file, scores_record
    from .jsonl import write_json_atomic
    from .table import table_from_records

    host = get_host()
    samples = read_samples_file(args.file)
    names = _csv(args.metrics) if args.metrics else default_metric_names(host.metrics)
    extra = parse_assignments(args.metric_args, names, "--metric-args")
    specs = [(name, extra[name]) for name in names]
    for name in names:
        host.metrics.get(name)
    scored = score_samples(samples, specs, host.metrics)
    record = scores_record(args.file, samples, specs, scored, label=args.label)
    renderer = host.renderers.get(args.format)()
    print(renderer.render(table_from_records([record], title=f"escbench score · {args.file}")))
    out = args.out or Path(args.file).with_suffix(".scores.json")
    write_json_atomic(out, record)
    print(f"wrote {out}", file=sys.stderr)
    return report_problems(host, [f"{k}: {v}" for k, v in scored.errors.items()])


# -- setup ----------------------------------------------------------------------
def cmd_setup(args: argparse.Namespace) -> int:
    from .errors import EscbenchError
    from .plugins import get_host

    host = get_host()
    errors = []
    for plugin, results in host.call_each("setup_resources", force=args.force):
        for resource, message in results:
            print(f"[{plugin}] {resource}: {message}")
    for failure in host.failures:
        if failure.stage == "setup_resources":
            errors.append(failure.error)
    host.failures = [f for f in host.failures if f.stage != "setup_resources"]
    return report_problems(host, errors)


def build_parser(with_plugins: bool = True) -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="escbench",
        description="Benchmark emotional-support conversation models (ChatPal, ExTES, DRI).",
    )
    parser.add_argument("--version", action="version", version=f"escbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands = CommandRegistrar(sub)
    commands.add("run", "generate with systems on splits, score, print the table and write results", _configure_run, cmd_run)
    commands.add("plugins", "list loaded plugins and what they register",
                 lambda p: p.add_argument("--json", action="store_true"), cmd_plugins)
    commands.add("list", "list what can be named in run: systems, splits, metrics or renderers",
                 lambda p: p.add_argument("kind", choices=["systems", "splits", "metrics", "renderers"]), cmd_list)

    def configure_score(p):
        p.add_argument("file", type=Path, help="JSONL with prediction/reference (or an escbench samples file)")
        p.add_argument("--metrics")
        p.add_argument("--metric-args", action="append", default=[], metavar="[METRIC:]K=V[,K=V]")
        p.add_argument("--out", type=Path, help="scores JSON (default: FILE.scores.json)")
        p.add_argument("--label", help="row name in the table (default: the file stem)")
        p.add_argument("--format", default="terminal")

    commands.add("score", "score existing generations with no system involved", configure_score, cmd_score)

    commands.add("setup", "prepare offline resources (embedded model, WordNet...)",
                 lambda p: p.add_argument("--force", action="store_true"), cmd_setup)
    if with_plugins:
        _add_plugin_commands(commands)
    return parser


def _add_plugin_commands(commands: CommandRegistrar) -> None:
    from .plugins import get_host

    host = get_host()
    for _ in host.call_each("register_commands", commands=commands):
        pass


def main(argv: list[str] | None = None) -> int:
    from .errors import EscbenchError

    argv = sys.argv[1:] if argv is None else argv
    # Plugins add commands (leaderboard, plot, human...), so help lists them too; plugin modules
    # keep heavy imports inside their commands, which keeps loading them cheap. --version needs none.
    parser = build_parser(with_plugins=argv[:1] != ["--version"])
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    try:
        return int(args.handler(args) or 0)
    except EscbenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished generations are cached; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
