"""``escbench plot bar|sweep``: figures from results records (registered by the leaderboard plugin)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def configure_plot(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=["bar", "sweep"],
                        help="bar: each metric across systems; sweep: each metric against a number such as DRI's k (Figure 4)")
    parser.add_argument("paths", nargs="*", type=Path, default=[Path("results")], help="results folders or record files")
    parser.add_argument("--split", required=True, help="the split whose records are plotted")
    parser.add_argument("--columns", help="comma-separated score columns (default: the display schema's)")
    parser.add_argument("--display", type=Path, help="display schema YAML (default: leaderboard/display.yaml)")
    parser.add_argument("--out", type=Path, required=True, help="figure file, .png or .svg")
    parser.add_argument("--ci", action="store_true", help="bar: error bars from the 95%% bootstrap interval")
    parser.add_argument("--x-key", default="system.config.dri_k",
                        help="sweep: dotted path of the x value in each record (default: system.config.dri_k)")
    parser.add_argument("--x-label", default="k (diverse responses per turn)", help="sweep: x-axis label")
    parser.add_argument("--series-key", help="sweep: dotted path naming a line per value (e.g. system.config.base)")
    parser.add_argument("--title", help="figure title")


def run_plot(args: argparse.Namespace) -> int:
    from harness.errors import ConfigError
    from harness.table import collect_records, leaderboard_tables, read_display_schema, resolve_columns

    from .plots import bar_chart, sweep_chart, sweep_points

    records, sources = collect_records(args.paths)
    columns = [c.strip() for c in args.columns.split(",")] if args.columns else None
    schema = read_display_schema(args.display)
    if args.kind == "bar":
        table = leaderboard_tables(records, sources, splits=[args.split], columns=columns, schema=schema,
                                   title=args.title)[0]
        if args.ci:
            from harness.plugins import get_host

            from .significance import annotate_uncertainty

            annotate_uncertainty(table, get_host(), intervals=True, significance=False)
        out = bar_chart(table, args.out)
    else:
        # Every record is a point: the same system at several k is the point of a sweep.
        chosen = [(r, s) for r, s in zip(records, sources) if r["split"]["name"] == args.split]
        if not chosen:
            raise ConfigError(f"no results records of split {args.split!r} under {[str(p) for p in args.paths]}")
        shown = resolve_columns([r for r, _ in chosen], columns, schema)
        series = sweep_points([r for r, _ in chosen], [s for _, s in chosen], args.x_key, args.series_key, shown)
        out = sweep_chart(series, shown, args.out, x_label=args.x_label, title=args.title or f"escbench · split {args.split}")
    print(f"wrote {out}", file=sys.stderr)
    return 0
