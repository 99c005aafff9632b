"""One self-contained static HTML page for one or more tables (a split switcher when several).

Everything is rendered on the server side with :func:`html.escape`; the page's script only
sorts, switches and filters existing elements, and a Content-Security-Policy allows that
script alone (by hash) and no network access, so the page works offline from ``file://``
and a model output such as ``<script>`` is shown as text, never run.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
from html import escape
from pathlib import Path
from string import Template

from escbench.harness.table import Column, Table

from .renderers import body_and_footer, legend

TEMPLATES = Path(__file__).resolve().parent / "templates"
DETAIL_FIELDS = (
    ("model", "model"), ("plugin", "plugin"), ("created_at", "date"), ("prompt_sha256", "prompt hash"),
    ("config_sha256", "config hash"), ("examples_sha256", "examples hash"), ("escbench", "escbench"),
    ("python", "python"), ("git_commit", "git commit"), ("source", "results file"),
)


def _slug(text: str, index: int) -> str:
    return f"board-{index}-" + (re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "table")


def _th(column: Column) -> str:
    arrow = "" if not column.ranked else (" ↑" if column.higher_is_better else " ↓")
    title = f' title="{escape(column.description)}"' if column.description else ""
    return (f'<th data-type="number" data-higher="{str(column.higher_is_better).lower()}"{title}>'
            f'<button type="button">{escape(column.header + arrow)}</button></th>')


def _td(table: Table, row: str, column: Column) -> str:
    value = table.value(row, column)
    emphasis = table.emphasis(row, column)
    css = f' class="{emphasis}"' if emphasis else ""
    text = escape(table.text(row, column))
    spread = table.spread(row, column)
    if spread:
        text += f' <span class="spread">± {escape(spread)}</span>'
    mark = table.mark(row, column)
    if mark:
        text += f'<sup title="significantly better than the runner-up">{escape(mark)}</sup>'
    data = "" if value is None else repr(float(value))
    return f'<td data-value="{escape(data)}"{css}>{text}</td>'


def _details(table: Table, row: str) -> str:
    details = table.details.get(row)
    if not details:
        return escape(table.label(row))
    items = [(label, details.get(key)) for key, label in DETAIL_FIELDS if details.get(key)]
    packages = details.get("packages") or {}
    if packages:
        items.append(("versions", ", ".join(f"{name} {version}" for name, version in sorted(packages.items()))))
    if details.get("metric_errors"):
        items.append(("metric errors", "; ".join(f"{k}: {v}" for k, v in details["metric_errors"].items())))
    listing = "".join(f"<dt>{escape(str(label))}</dt><dd>{escape(str(value))}</dd>" for label, value in items)
    blocks = [(name, details.get(name)) for name in ("config", "args", "generation") if details.get(name)]
    listing += "".join(f"<dt>{name}</dt><dd><pre>{escape(json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False))}</pre></dd>"
                       for name, value in blocks)
    return (f'<details class="system"><summary>{escape(table.label(row))}</summary>'
            f'<dl class="details">{listing}</dl></details>')


def _scores_table(table: Table) -> str:
    lead = f"<th>{escape(table.group_header or 'Group')}</th>" if table.groups else ""
    parts = [f'<table class="scores"><thead><tr>{lead}<th data-type="text"><button type="button">'
             f'{escape(table.row_header)}</button></th>{"".join(_th(c) for c in table.columns)}</tr></thead>']
    for group, rows in body_and_footer(table):
        tag = "tfoot" if group == "footer" else "tbody"
        parts.append(f"<{tag}>")
        for row in rows:
            first = f'<td class="group">{escape(group)}</td>' if table.groups else ""
            label = escape(table.label(row)) if group == "footer" else _details(table, row)
            cells = "".join(_td(table, row, column) for column in table.columns)
            parts.append(f'<tr>{first}<td class="system" data-value="{escape(table.label(row))}">{label}</td>{cells}</tr>')
        parts.append(f"</{tag}>")
    parts.append("</table>")
    return "".join(parts)


def _turns(context: list) -> str:
    out = []
    for turn in context or []:
        role = "Seeker" if turn.get("role") == "user" else "Supporter"
        strategy = f' <span class="strategy">[{escape(str(turn["strategy"]))}]</span>' if turn.get("strategy") else ""
        out.append(f'<div class="turn"><span class="role">{role}</span> {escape(str(turn.get("text", "")))}{strategy}</div>')
    return "".join(out)


def _reply(title: str, text: str | None, strategy: str | None, css: str = "") -> str:
    tag = f' <span class="strategy">[{escape(str(strategy))}]</span>' if strategy else ""
    return (f'<div class="reply{css}"><h5>{escape(title)}{tag}</h5>'
            f'<pre>{escape(text if text is not None else "(no output)")}</pre></div>')


def _samples(table: Table, board: str) -> str:
    """Generations next to references, one article per example (grouped like the table)."""
    if not any(table.samples.get(row) for row in table.rows):
        return ""
    articles = []
    for group, rows in table.row_groups():
        by_id: dict[str, dict] = {}
        replies: dict[str, list[str]] = {}
        for row in rows:
            for sample in table.samples.get(row, []):
                sample_id = str(sample.get("id"))
                by_id.setdefault(sample_id, sample)
                replies.setdefault(sample_id, []).append(
                    _reply(table.label(row), sample.get("prediction"), sample.get("predicted_strategy")))
        for sample_id, sample in by_id.items():
            heading = f"{group} · {sample_id}" if group else sample_id
            reference = _reply("Reference", sample.get("reference"), sample.get("strategy"), " reference")
            articles.append(f'<article class="sample"><h4>{escape(heading)}</h4>{_turns(sample.get("context"))}'
                            f'<div class="replies">{reference}{"".join(replies[sample_id])}</div></article>')
    return (f'<h3>Samples</h3><p class="samples-tools"><input type="search" class="sample-filter" '
            f'data-list="{board}-samples" data-count="{board}-count" placeholder="filter samples" aria-label="filter samples"> '
            f'<span id="{board}-count">{len(articles)}</span> shown</p>'
            f'<div id="{board}-samples">{"".join(articles)}</div>')


def _board(table: Table, board: str) -> str:
    caption = " ".join(part for part in [table.caption, *legend(table)] if part)
    return (f'<section class="board" id="{board}"><h2>{escape(table.title or "Leaderboard")}</h2>'
            f'{_scores_table(table)}<p class="caption">{escape(caption)}</p>{_samples(table, board)}</section>')


def render_page(tables: list[Table], title: str = "escbench leaderboard") -> str:
    """The whole page: switcher buttons, one board per table, inline CSS and script."""
    from escbench.harness import __version__

    boards = [_slug(table.title, index) for index, table in enumerate(tables)]
    switcher = "".join(f'<button type="button" data-board="{board}">{escape(table.title or board)}</button>'
                       for board, table in zip(boards, tables)) if len(tables) > 1 else ""
    script = (TEMPLATES / "page.js").read_text(encoding="utf-8")
    # The template puts the script between newlines; the CSP hash covers exactly that text.
    digest = base64.b64encode(hashlib.sha256(f"\n{script}\n".encode("utf-8")).digest()).decode()
    page = Template((TEMPLATES / "page.html").read_text(encoding="utf-8")).substitute(
        title=escape(title), version=escape(__version__), css=(TEMPLATES / "page.css").read_text(encoding="utf-8"),
        switcher=switcher, boards="\n".join(_board(t, b) for t, b in zip(tables, boards)),
        js=script, script_hash=f"sha256-{digest}",
    )
    return page


class HtmlRenderer:
    name = "html"
    description = "self-contained static page (works offline): sortable columns, split switcher, system details, sample browser"
    needs_samples = True

    def render(self, table: Table) -> str:
        return render_page([table])

    def render_many(self, tables: list[Table]) -> str:
        return render_page(tables)
