"""``escbench leaderboard`` (records -> tables in any renderer's format) and ``escbench plot
bar|sweep`` (figures from records), registered by the leaderboard plugin."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from escbench.harness.cli import report_problems

# ``escbench leaderboard --publish DIR`` writes one file per format.
PUBLISHED_FILES = {"md": "leaderboard.md", "latex": "leaderboard.tex", "html": "index.html",
                   "csv": "leaderboard.csv", "csv-wide": "leaderboard-wide.csv", "json": "leaderboard.json"}


def _names(value: str | None) -> list[str] | None:
    """Comma-separated names as a list, or None when the option was not given."""
    return [part.strip() for part in value.split(",") if part.strip()] if value else None


# -- escbench leaderboard -----------------------------------------------------------------
def configure_leaderboard(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", type=Path, default=[Path("results")],
                        help="results folders or record files, from any number of runs (default: results)")
    parser.add_argument("--split", help="comma-separated split names, in table order (default: every split found)")
    parser.add_argument("--columns", help="comma-separated score columns, or \"all\" (default: the display schema's set)")
    parser.add_argument("--format", default="terminal", help="terminal, md, latex, html, csv, json (or a plugin's renderer)")
    parser.add_argument("--display", type=Path, help="display schema YAML (default: the one shipped in harness/display.yaml)")
    parser.add_argument("--by-split", action="store_true", help="one table, a group of rows per split (paper Table 12)")
    parser.add_argument("--row-header", help="header of the system column (e.g. 'Train set' in the multi-split view)")
    parser.add_argument("--second", action="store_true", help="underline the second-best value per column")
    parser.add_argument("--ci", action="store_true", help="show ± half-width of the 95%% bootstrap interval")
    parser.add_argument("--significance", action="store_true",
                        help="mark a best value when a paired bootstrap test says it beats the runner-up (p < 0.05)")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--samples", type=int, default=50, help="examples per split in the HTML sample browser")
    parser.add_argument("--title", help="table title (default: escbench · split NAME)")
    parser.add_argument("--caption", help="table caption (default: split and example count)")
    parser.add_argument("--latex-width", choices=["column", "page", "fit"], default="column",
                        help="LaTeX: 'column' (table), 'page' (table* across two columns) or 'fit' "
                             "(scaled to \\linewidth; needs graphicx) so --ci tables fit")
    parser.add_argument("--out", type=Path, help="write the output to this file instead of printing it")
    parser.add_argument("--publish", type=Path, metavar="DIR",
                        help="write md, latex, html, csv and json into DIR (leaderboard.md, ..., index.html)")


def run_leaderboard(args: argparse.Namespace) -> int:
    from escbench.harness.collect import attach_samples, collect_records
    from escbench.harness.display import read_display_schema
    from escbench.harness.plugins import get_host

    from .tables import leaderboard_tables

    host = get_host()
    outputs = {fmt: args.publish / name for fmt, name in PUBLISHED_FILES.items()} if args.publish else {args.format: args.out}
    renderers = {fmt: host.renderers.get(fmt)() for fmt in outputs}  # unknown formats fail before any work
    if "latex" in renderers and hasattr(renderers["latex"], "width"):
        renderers["latex"].width = args.latex_width
    records, sources = collect_records(args.paths)
    if not records:
        return report_problems(host, [f"no results records under {', '.join(map(str, args.paths))}"])
    tables = leaderboard_tables(
        records, sources, splits=_names(args.split), columns=_names(args.columns),
        schema=read_display_schema(args.display), by_split=args.by_split, second=args.second,
        title=args.title, caption=args.caption,
    )
    for table in tables:
        table.row_header = args.row_header or table.row_header
    if args.ci or args.significance:
        # The bootstrap re-scores with the metric plugins: imported only when asked for.
        from .significance import annotate_uncertainty

        for table in tables:
            annotate_uncertainty(table, host, intervals=args.ci, significance=args.significance,
                                 resamples=args.resamples, seed=args.seed)
    for fmt, out in outputs.items():
        renderer = renderers[fmt]
        if getattr(renderer, "needs_samples", False) and not any(t.samples for t in tables):
            for table in tables:
                attach_samples(table, args.samples)
        if fmt == "terminal" and out is not None and getattr(renderer, "name", "") == "terminal":
            # Bold and underline (ANSI) only on an interactive terminal, never in a file.
            text = "\n".join(renderer.render(table, color=False) for table in tables)
        elif len(tables) > 1 and hasattr(renderer, "render_many"):
            text = renderer.render_many(tables)
        else:
            text = "\n".join(renderer.render(table) for table in tables)
        if out is None:
            print(text, end="" if text.endswith("\n") else "\n")
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
            print(f"wrote {out}", file=sys.stderr)
    return report_problems(host, [])


# -- escbench plot --------------------------------------------------------------------------
def configure_plot(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=["bar", "sweep"],
                        help="bar: each metric across systems; sweep: each metric against a number such as DRI's k (Figure 4)")
    parser.add_argument("paths", nargs="*", type=Path, default=[Path("results")], help="results folders or record files")
    parser.add_argument("--split", required=True, help="the split whose records are plotted")
    parser.add_argument("--columns", help="comma-separated score columns (default: the display schema's)")
    parser.add_argument("--display", type=Path, help="display schema YAML (default: the one shipped in harness/display.yaml)")
    parser.add_argument("--latex-width", choices=["column", "page", "fit"], default="column",
                        help="LaTeX: 'column' (table), 'page' (table* across two columns) or 'fit' "
                             "(scaled to \\linewidth; needs graphicx) so --ci tables fit")
    parser.add_argument("--out", type=Path, required=True, help="figure file, .png or .svg")
    parser.add_argument("--ci", action="store_true", help="bar: error bars from the 95%% bootstrap interval")
    parser.add_argument("--x-key", default="system.config.dri_k",
                        help="sweep: dotted path of the x value in each record (default: system.config.dri_k)")
    parser.add_argument("--x-label", default="k (diverse responses per turn)", help="sweep: x-axis label")
    parser.add_argument("--series-key", help="sweep: dotted path naming a line per value (e.g. system.config.base)")
    parser.add_argument("--title", help="figure title")


def run_plot(args: argparse.Namespace) -> int:
    from escbench.harness.collect import collect_records
    from escbench.harness.display import read_display_schema, resolve_columns
    from escbench.harness.errors import ConfigError

    from .plots import bar_chart, sweep_chart, sweep_points
    from .tables import leaderboard_tables

    records, sources = collect_records(args.paths)
    columns = [c.strip() for c in args.columns.split(",")] if args.columns else None
    schema = read_display_schema(args.display)
    if args.kind == "bar":
        table = leaderboard_tables(records, sources, splits=[args.split], columns=columns, schema=schema,
                                   title=args.title)[0]
        if args.ci:
            from escbench.harness.plugins import get_host

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
