"""Figures from leaderboard tables and records: a bar chart per metric across systems, and a
sweep (paper Figure 4: each metric against DRI's k). PNG or SVG, chosen by the file suffix.

matplotlib is imported inside the functions (Agg backend, no display needed); SVG output is
reproducible (fixed hash salt, no date).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from escbench.harness.errors import ConfigError
from escbench.harness.table import Column, Table

FORMATS = (".png", ".svg")


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ConfigError("plots need matplotlib: pip install matplotlib") from None
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "escbench"
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: searchable, accessible
    import matplotlib.pyplot as plt

    return plt


def _grid(plt, count: int):
    across = min(3, count)
    down = (count + across - 1) // across
    figure, axes = plt.subplots(down, across, figsize=(4.2 * across, 3.2 * down), squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax in flat[count:]:
        ax.set_visible(False)
    return figure, flat[:count]


def _save(figure, out: Path) -> Path:
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise ConfigError(f"--out {out}: the file name must end in {' or '.join(FORMATS)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    metadata = {"Date": None} if out.suffix.lower() == ".svg" else {"Software": None}
    figure.savefig(out, dpi=150, metadata=metadata)
    return out


def bar_chart(table: Table, out: Path) -> Path:
    """One panel per column, one bar per row (error bars from ``table.intervals``); best bar
    darker. Returns the written path."""
    plt = _pyplot()
    columns = [c for c in table.columns if any(table.value(r, c) is not None for r in table.rows)]
    if not columns:
        raise ConfigError(f"{table.title}: no values to plot")
    figure, axes = _grid(plt, len(columns))
    labels = [table.label(r) for r in table.rows]
    for ax, column in zip(axes, columns):
        heights = [table.value(r, column) or 0.0 for r in table.rows]
        errors = [[], []]
        for row, height in zip(table.rows, heights):
            low, high = table.intervals.get(row, {}).get(column.name, (height, height))
            errors[0].append(max(0.0, height - low))
            errors[1].append(max(0.0, high - height))
        colors = ["#2f5d9f" if table.emphasis(r, column) == "best" else "#9bb3d6" for r in table.rows]
        ax.bar(range(len(labels)), heights, color=colors, yerr=errors if any(map(any, errors)) else None, capsize=3)
        ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
        ax.set_title(f"{column.header} {'↑' if column.higher_is_better else '↓'}", fontsize=10)
    figure.suptitle(table.title, fontsize=11)
    path = _save(figure, out)
    plt.close(figure)
    return path


def lookup(record: dict, dotted: str) -> Any:
    """``record["system"]["config"]["dri_k"]`` for ``"system.config.dri_k"``; KeyError if absent."""
    node: Any = record
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(dotted)
        node = node[part]
    return node


def sweep_points(records: list[dict], sources: list, x_key: str, series_key: str | None,
                 columns: list[Column]) -> dict[str, list[tuple[float, dict[str, float | None]]]]:
    """``{series: [(x, {column: value})...]}`` sorted by x; ConfigError naming the record file
    when a record lacks the key or two records share a point."""
    series: dict[str, dict[float, tuple[dict, Any]]] = {}
    for record, source in zip(records, sources):
        try:
            x = float(lookup(record, x_key))
            name = str(lookup(record, series_key)) if series_key else ""
        except (KeyError, TypeError, ValueError):
            known = ", ".join(f"system.config.{k}" for k in (record["system"].get("config") or {})) or "(empty config)"
            raise ConfigError(f"{source}: no numeric {x_key!r}" + (f" or {series_key!r}" if series_key else "")
                              + f" in this record (system {record['system']['name']!r}); keys there: {known}") from None
        points = series.setdefault(name, {})
        if x in points:
            raise ConfigError(f"{points[x][1]} and {source} both give series {name or '(default)'!r} at {x_key}={x:g}; "
                              "pass --series-key to tell them apart or drop one")
        points[x] = (record, source)
    return {name: [(x, {c.name: rec["scores"].get(c.name) for c in columns}) for x, (rec, _) in sorted(points.items())]
            for name, points in series.items()}


def sweep_chart(series: dict[str, list[tuple[float, dict[str, float | None]]]], columns: list[Column],
                out: Path, x_label: str = "k", title: str = "") -> Path:
    """One panel per column: score against x, a line per series (paper Figure 4)."""
    plt = _pyplot()
    figure, axes = _grid(plt, len(columns))
    for ax, column in zip(axes, columns):
        for name, points in series.items():
            xs = [x for x, values in points if values.get(column.name) is not None]
            ys = [values[column.name] for _, values in points if values.get(column.name) is not None]
            ax.plot(xs, ys, marker="o", label=name or None)
        ax.set_title(column.header, fontsize=10)
        ax.set_xticks(sorted({x for points in series.values() for x, _ in points}))
        ax.set_xlabel(x_label)
        ax.grid(alpha=0.3)
        if any(series):
            ax.legend(fontsize=7)
    if title:
        figure.suptitle(title, fontsize=11)
    path = _save(figure, out)
    plt.close(figure)
    return path
