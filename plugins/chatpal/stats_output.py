"""``escbench stats``: print the dataset tables and write them as Markdown, CSV and JSON, with
the strategy-by-phase plot (paper Figure 3) as a PNG (matplotlib, headless)."""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from escbench.harness.jsonl import write_atomic
from escbench.harness.strict_json import dumps_strict

from .stats import Abbreviations, DatasetStats, all_tables
from .tables import SimpleTable, print_tables


def plot_phases(stats: DatasetStats, abbreviate: Abbreviations, path: Path) -> Path:
    """One line per strategy: its share of the labelled supporter turns in each phase."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = abbreviate.order(list(stats.strategy_counts))
    totals = [sum(counter.values()) or 1 for counter in stats.phases]
    phases = range(1, len(stats.phases) + 1)
    figure, axes = plt.subplots(figsize=(8, 4.8))
    colours = plt.get_cmap("tab20")
    for index, name in enumerate(names):
        shares = [100 * stats.phases[p - 1][name] / totals[p - 1] for p in phases]
        axes.plot(list(phases), shares, marker="o", color=colours(index % 20), label=abbreviate(name))
    n = len(stats.phases)
    axes.set_xticks(list(phases), [f"{100 * (p - 1) // n}-{100 * p // n}%" for p in phases])
    axes.set_xlabel("conversation phase (k/N)")
    axes.set_ylabel("share of supporter turns in the phase (%)")
    axes.set_title("Strategy distribution over conversation phases")
    axes.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=150)
    plt.close(figure)
    return path


def write_tables(tables: list[SimpleTable], out: Path, source: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for table in tables:
        write_atomic(out / f"{table.name}.csv", table.to_csv())
        written.append(out / f"{table.name}.csv")
    write_atomic(out / "stats.md", f"# Dataset statistics: {source}\n\n" + "\n".join(t.to_markdown() for t in tables))
    write_atomic(out / "stats.json", dumps_strict({"source": source, "tables": [t.to_json() for t in tables]},
                                                indent=2, ensure_ascii=False) + "\n")
    return written + [out / "stats.md", out / "stats.json"]


def configure_stats(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", type=Path, help="dialogue file: ExTES JSON, ESConv JSON or escbench JSONL")
    parser.add_argument("--format", choices=["terminal", "md", "csv", "json"], default="terminal",
                        help="what to print (default: terminal tables)")
    parser.add_argument("--out", type=Path, help="also write stats.md, stats.json, one CSV per table and phases.png here")
    parser.add_argument("--plot", type=Path, help="where to save the Figure 3 plot (default: OUT/phases.png)")
    parser.add_argument("--top", type=int, default=5, help="transitions shown per hop count (default: 5)")
    parser.add_argument("--lenient", action="store_true", help="skip malformed dialogues instead of failing")


def run_stats(args: argparse.Namespace) -> int:
    from escbench.harness.catalogs import load_scenes, load_strategy_catalog
    from escbench.harness.loaders import load_dialogues

    from .stats import compute_stats

    from escbench.harness.errors import DataError

    with warnings.catch_warnings(record=True) as caught:  # printed as plain lines, not as Python warnings
        warnings.simplefilter("always")
        loaded = load_dialogues(args.data, lenient=args.lenient)
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    for reject in loaded.rejects:
        print(f"skipped: {reject.reason}", file=sys.stderr)
    if not loaded.dialogues:
        raise DataError("no dialogues in the file: nothing to count" +
                        (f" ({len(loaded.rejects)} skipped as malformed)" if loaded.rejects else ""), str(args.data))
    stats = compute_stats(loaded.dialogues)
    abbreviate = Abbreviations([load_strategy_catalog("extes"), load_strategy_catalog("esconv")])
    tables = all_tables(stats, abbreviate, [scene.name for scene in load_scenes()], args.top)
    if args.format == "terminal":
        print_tables(tables)
    elif args.format == "md":
        print("\n".join(table.to_markdown() for table in tables))
    elif args.format == "csv":
        print("\n".join(f"# {table.title}\n{table.to_csv()}" for table in tables))
    else:
        print(dumps_strict({"source": str(args.data), "tables": [t.to_json() for t in tables]}, indent=2, ensure_ascii=False))
    written = write_tables(tables, args.out, str(args.data)) if args.out else []
    plot_path = args.plot or (args.out / "phases.png" if args.out else None)
    if plot_path is not None:
        written.append(plot_phases(stats, abbreviate, plot_path))
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    return 0
