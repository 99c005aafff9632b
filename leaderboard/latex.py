"""Render a :class:`harness.table.Table` as a complete LaTeX ``table`` environment.

The output needs only ``\\usepackage{booktabs}`` in the preamble (booktabs rules; bold via
``\\textbf``, second best via ``\\underline``, significance as a superscript dagger) and
compiles as is with pdflatex.
"""
from __future__ import annotations

import re

from harness.table import Column, Table

from .renderers import body_and_footer, legend

_SPECIAL = {
    # Math-mode and accent forms need no font beyond the default OT1 set-up.
    "\\": r"$\backslash$", "&": r"\&", "%": r"\%", "$": r"{\char36}", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\~{}", "^": r"\^{}", "<": r"$<$", ">": r"$>$", "|": r"$|$",
    # Characters the default pdflatex set-up cannot typeset from UTF-8 on its own.
    "κ": r"$\kappa$", "±": r"$\pm$", "†": r"$^\dagger$", "‡": r"$^\ddagger$", "–": "--", "—": "---",
    "·": r"$\cdot$", "↑": r"$\uparrow$", "↓": r"$\downarrow$", "✓": r"$\checkmark$", "×": r"$\times$",
}


def latex_escape(text: str) -> str:
    """Text safe inside a LaTeX table cell or caption. Characters outside Latin-1 that the
    map above does not know are replaced by ``?`` so the document always compiles."""
    out = []
    for char in str(text):
        if char in _SPECIAL:
            out.append(_SPECIAL[char])
        elif ord(char) < 256:
            out.append(char)
        else:
            out.append("?")
    return "".join(out)


def _cell(table: Table, row: str, column: Column) -> str:
    text = latex_escape(table.text(row, column))
    emphasis = table.emphasis(row, column)
    if emphasis == "best":
        text = rf"\textbf{{{text}}}"
    elif emphasis == "second":
        text = rf"\underline{{{text}}}"
    spread = table.spread(row, column)
    if spread:
        text += rf"{{\scriptsize$\pm${spread}}}"
    if table.mark(row, column):
        text += latex_escape(table.mark(row, column))
    return text


def table_label(table: Table) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", (table.title or "leaderboard").lower()).strip("-")
    return f"tab:{slug or 'leaderboard'}"


class LatexRenderer:
    name = "latex"
    description = "complete LaTeX table environment (booktabs), best in \\textbf, caption and label"

    def render(self, table: Table) -> str:
        lead = 1 if table.groups else 0
        spec = "l" * (lead + 1) + "r" * len(table.columns)
        header = ([latex_escape(table.group_header or "Group")] if lead else []) + [latex_escape(table.row_header)]
        header += [latex_escape(c.header) for c in table.columns]
        lines = [r"\begin{table}[t]", r"\centering", r"\small", rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
                 " & ".join(header) + r" \\", r"\midrule"]
        sections = body_and_footer(table)
        for index, (group, rows) in enumerate(sections):
            if index:
                lines.append(r"\midrule")
            for position, row in enumerate(rows):
                first = [latex_escape(group) if position == 0 and group != "footer" else ""] if lead else []
                cells = [_cell(table, row, column) for column in table.columns]
                lines.append(" & ".join([*first, latex_escape(table.label(row)), *cells]) + r" \\")
        caption = " ".join(part for part in [table.caption or table.title, *legend(table)] if part)
        lines += [r"\bottomrule", r"\end{tabular}", rf"\caption{{{latex_escape(caption)}}}",
                  rf"\label{{{table_label(table)}}}", r"\end{table}"]
        return "\n".join(lines) + "\n"

    def render_many(self, tables: list[Table]) -> str:
        return "\n".join(self.render(table) for table in tables)
