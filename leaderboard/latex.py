"""Render a :class:`escbench.harness.table.Table` as a complete LaTeX ``table`` environment.

The output needs ``\\usepackage{booktabs}`` (and ``graphicx`` for ``width="fit"``) and
compiles as is with pdflatex (booktabs rules; bold via ``\\textbf``, second best via
``\\underline``, significance as a superscript dagger, ± half-width in scriptsize).

Every character of a name or caption survives (:func:`latex_escape`): LaTeX specials are
escaped, ``[``/``]`` braced (a row starting with ``[`` would be read as ``\\\\``'s optional
argument), accented letters become accent commands, Greek letters math symbols, and
characters pdflatex cannot typeset without extra packages (CJK, emoji, ...) their code
point, ``U+65E5``. Never ``?``.

``width``: ``"column"`` (default; ``table``), ``"page"`` (``table*``, spans both columns of a
two-column paper) or ``"fit"`` (``table`` whose tabular is scaled to ``\\linewidth`` with
``\\resizebox``, so a ``--ci`` table fits one column). Labels are unique across the tables of
one output (:meth:`LatexRenderer.render_many`).
"""
from __future__ import annotations

import re
import unicodedata

from escbench.harness.table import Column, Table

from .renderers import body_and_footer, legend

_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}",
    ">": r"\textgreater{}", "|": r"\textbar{}", "[": "{[}", "]": "{]}", '"': "{''}", "\n": " ", "\r": " ", "\t": " ",
    "κ": r"$\kappa$", "±": r"$\pm$", "†": r"$^\dagger$", "‡": r"$^\ddagger$", "–": "--", "—": "---",
    "·": r"$\cdot$", "↑": r"$\uparrow$", "↓": r"$\downarrow$", "✓": r"$\surd$", "×": r"$\times$",
    "ß": r"\ss{}", "æ": r"\ae{}", "Æ": r"\AE{}", "ø": r"\o{}", "Ø": r"\O{}", "œ": r"\oe{}", "Œ": r"\OE{}",
    "ł": r"\l{}", "Ł": r"\L{}", "ı": r"\i{}", "¿": "?`", "¡": "!`", "«": r"$\ll$", "»": r"$\gg$",
    "‘": "`", "’": "'", "“": "``", "”": "''", "…": r"\ldots{}", "€": r"\texteuro{}", "£": r"\pounds{}",
    "§": r"\S{}", "¶": r"\P{}", "©": r"\copyright{}", "°": r"$^\circ$", "µ": r"$\mu$", "÷": r"$\div$",
    "¬": r"$\neg$", "•": r"$\bullet$", "→": r"$\rightarrow$", "←": r"$\leftarrow$", "≤": r"$\leq$", "≥": r"$\geq$",
    "\u00a0": "~",
}
# Combining marks (after NFD) -> LaTeX text accent commands.
_ACCENTS = {"\u0300": "`", "\u0301": "'", "\u0302": "^", "\u0303": "~", "\u0304": "=", "\u0306": "u",
            "\u0307": ".", "\u0308": '"', "\u030a": "r", "\u030b": "H", "\u030c": "v", "\u0327": "c",
            "\u0328": "k", "\u0323": "d", "\u0331": "b"}
_GREEK = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho "
          "sigma sigma tau upsilon phi chi psi omega").split()
_GREEK_UPPER = {"Γ": "Gamma", "Δ": "Delta", "Θ": "Theta", "Λ": "Lambda", "Ξ": "Xi", "Π": "Pi", "Σ": "Sigma",
                "Υ": "Upsilon", "Φ": "Phi", "Ψ": "Psi", "Ω": "Omega"}


def _char(char: str) -> str:
    if char in _SPECIAL:
        return _SPECIAL[char]
    if " " <= char <= "~":
        return char
    if "α" <= char <= "ω":
        name = _GREEK[ord(char) - ord("α")]
        return "o" if name == "omicron" else f"$\\{name}$"
    if char in _GREEK_UPPER:
        return f"$\\{_GREEK_UPPER[char]}$"
    decomposed = unicodedata.normalize("NFD", char)
    base, marks = decomposed[0], decomposed[1:]
    if marks and " " <= base <= "~" and all(m in _ACCENTS for m in marks):
        text = "\\i" if base == "i" else base
        for mark in marks:
            text = f"\\{_ACCENTS[mark]}{{{text}}}"
        return text
    if unicodedata.category(char).startswith("C"):
        return ""  # control characters carry nothing to print
    return rf"\texttt{{U+{ord(char):04X}}}"


def latex_escape(text: str) -> str:
    """Text safe inside a LaTeX table cell or caption, every character kept (see module doc)."""
    return "".join(_char(char) for char in str(text))


def _cell(table: Table, row: str, column: Column) -> str:
    text = latex_escape(table.text(row, column))
    emphasis = table.emphasis(row, column)
    if emphasis == "best":
        text = rf"\textbf{{{text}}}"
    elif emphasis == "second":
        text = rf"\underline{{{text}}}"
    spread = table.spread(row, column) if table.value(row, column) is not None else None
    if spread:
        text += rf"{{\scriptsize$\pm${spread}}}"
    if table.mark(row, column):
        text += latex_escape(table.mark(row, column))
    return text


def table_label(table: Table) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", (table.title or "leaderboard").lower()).strip("-")
    return f"tab:{slug or 'leaderboard'}"


WIDTHS = ("column", "page", "fit")


class LatexRenderer:
    name = "latex"
    description = "complete LaTeX table environment (booktabs), best in \\textbf, caption and label"

    def __init__(self, width: str = "column"):
        from escbench.harness.errors import ConfigError

        if width not in WIDTHS:
            raise ConfigError(f"LaTeX width must be one of {', '.join(WIDTHS)} (got {width!r})")
        self.width = width

    def render(self, table: Table, label: str | None = None) -> str:
        lead = 1 if table.groups else 0
        spec = "l" * (lead + 1) + "r" * len(table.columns)
        header = ([latex_escape(table.group_header or "Group")] if lead else []) + [latex_escape(table.row_header)]
        header += [latex_escape(c.header) for c in table.columns]
        environment = "table*" if self.width == "page" else "table"
        lines = [rf"\begin{{{environment}}}[t]", r"\centering", r"\small"]
        if self.width == "fit":
            lines.append(r"\resizebox{\linewidth}{!}{%")
        lines += [rf"\begin{{tabular}}{{{spec}}}", r"\toprule", " & ".join(header) + r" \\", r"\midrule"]
        sections = body_and_footer(table)
        for index, (group, rows) in enumerate(sections):
            if index:
                lines.append(r"\midrule")
            for position, row in enumerate(rows):
                first = [latex_escape(group) if position == 0 and group != "footer" else ""] if lead else []
                cells = [_cell(table, row, column) for column in table.columns]
                lines.append(" & ".join([*first, latex_escape(table.label(row)), *cells]) + r" \\")
        caption = " ".join(part for part in [table.caption or table.title, *legend(table)] if part)
        lines += [r"\bottomrule", r"\end{tabular}" + ("}" if self.width == "fit" else ""),
                  rf"\caption{{{latex_escape(caption)}}}", rf"\label{{{label or table_label(table)}}}",
                  rf"\end{{{environment}}}"]
        return "\n".join(lines) + "\n"

    def render_many(self, tables: list[Table]) -> str:
        """The tables one after another, each with its own label (the split or a number is
        appended when titles repeat)."""
        used: set[str] = set()
        out = []
        for table in tables:
            label = table_label(table)
            if label in used:
                splits = sorted({str(d.get("split")) for d in table.details.values() if d.get("split")})
                suffix = re.sub(r"[^a-z0-9]+", "-", "-".join(splits).lower()).strip("-")
                label = f"{label}-{suffix}" if suffix else label
            base, number = label, 2
            while label in used:
                label, number = f"{base}-{number}", number + 1
            used.add(label)
            out.append(self.render(table, label=label))
        return "\n".join(out)
