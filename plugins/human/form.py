"""The HTML rating form: a self-contained page per rater that saves the sheet's CSV.

Every text is escaped on the server side; the only script is the form's own (allowed by
hash in a Content-Security-Policy that also forbids network access), so the form works
offline from ``file://`` and a model reply cannot run code in it.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
from html import escape
from pathlib import Path
from string import Template
from typing import Sequence

from escbench.harness.guideline import Dimension, Guideline

from .sheets import ROLE_NAMES, Unit

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _inline(text: str) -> str:
    """Escaped text with ``**bold**`` and ``*italic*`` turned into tags."""
    text = escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", text)


def markdown_to_html(text: str) -> str:
    """The small Markdown subset the guideline uses: headings, paragraphs, bullets, tables."""
    out: list[str] = []
    paragraph: list[str] = []
    mode = ""

    def close() -> None:
        nonlocal mode
        if paragraph:
            out.append(f"<p>{_inline(' '.join(paragraph))}</p>")
            paragraph.clear()
        if mode:
            out.append(f"</{mode}>")
            mode = ""

    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            close()
        elif heading := re.match(r"(#{1,4})\s+(.*)", stripped):
            close()
            level = min(len(heading.group(1)) + 1, 5)
            out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif stripped.startswith("- "):
            if paragraph or mode != "ul":
                close()
                out.append("<ul>")
                mode = "ul"
            out.append(f"<li>{_inline(stripped[2:])}</li>")
        elif stripped.startswith("|"):
            cells = [c.strip() for c in stripped.strip("|").split("|")]
            if all(re.fullmatch(r":?-+:?", c) for c in cells):
                continue
            if mode != "table":
                close()
                out.append("<table>")
                mode = "table"
            out.append("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in cells) + "</tr>")
        elif mode == "ul" and out and out[-1].startswith("<li>") and line.startswith("  "):
            out[-1] = out[-1][:-5] + " " + _inline(stripped) + "</li>"
        else:
            if mode:
                close()
            paragraph.append(stripped)
    close()
    return "\n".join(out)


def _unit_html(unit: Unit, dimensions: Sequence[Dimension], scale: Sequence[int]) -> str:
    rows = []
    for dimension in dimensions:
        choices = "".join(
            f'<label><input type="radio" name="{escape(unit.id)}|{escape(dimension.name)}" '
            f'data-dimension="{escape(dimension.name)}" value="{value}"> {value}</label>' for value in scale)
        rows.append(f"<tr><th>{escape(dimension.name)}</th><td>{choices}</td></tr>")
    reply = f'<pre class="reply">{escape(unit.reply)}</pre>' if unit.reply is not None else ""
    what = "Reply" if unit.reply is not None else "Dialogue"
    return (f'<fieldset class="unit" data-id="{escape(unit.id)}" data-conversation="{escape(unit.item)}">'
            f"<legend>{what} {escape(unit.id)}</legend>{reply}<table class=\"scores\">{''.join(rows)}</table>"
            f'<label>Comment <input type="text" class="comment" name="{escape(unit.id)}|comment"></label></fieldset>')


def _turns_html(turns: Sequence[dict]) -> str:
    return "".join(f'<div class="turn"><span class="role">{escape(ROLE_NAMES.get(t.get("role"), str(t.get("role"))))}</span> '
                   f'{escape(str(t.get("text", "")))}</div>' for t in turns)


def write_form(path: Path, units: Sequence[Unit], dimensions: Sequence[Dimension], guideline: Guideline,
               sheet: str) -> None:
    """Write the form for one rater, showing ``units`` in the given order."""
    sections = []
    for item in dict.fromkeys(u.item for u in units):
        members = [u for u in units if u.item == item]
        sections.append(f'<section class="conversation"><h2>Conversation {escape(item)}</h2>'
                        f'<div class="context">{_turns_html(members[0].context)}</div>'
                        + "".join(_unit_html(u, dimensions, guideline.scale) for u in members) + "</section>")
    script = (TEMPLATES / "form.js").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(f"\n{script}\n".encode("utf-8")).digest()).decode()
    page = Template((TEMPLATES / "form.html").read_text(encoding="utf-8")).substitute(
        title=escape(f"escbench human evaluation · {sheet}"), css=(TEMPLATES / "form.css").read_text(encoding="utf-8"),
        scale=escape(f"{min(guideline.scale)} to {max(guideline.scale)}"), sheet=escape(sheet),
        key=escape(f"{sheet}:{units[0].id if units else ''}"), dimensions=escape(json.dumps([d.name for d in dimensions])),
        guideline=markdown_to_html(guideline.text), units="\n".join(sections), js=script, script_hash=f"sha256-{digest}",
    )
    Path(path).write_text(page, encoding="utf-8")
