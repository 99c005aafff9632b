"""The human-evaluation guideline (paper Appendix L) and its dimensions, read from
``tasks/human_eval/guideline.md``: YAML front matter (scale, dimensions) then the text raters read.
Shared by the human evaluation (replies and dialogues) and the interactive judge (dialogues)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .paths import TASKS_DIR

GUIDELINE = TASKS_DIR / "human_eval" / "guideline.md"
MODES = ("responses", "dialogues")


@dataclass(frozen=True)
class Dimension:
    name: str  # sheet column, e.g. "Helpfulness"
    short: str  # table header, e.g. "Hel."


@dataclass(frozen=True)
class Guideline:
    text: str
    scale: tuple[int, ...]
    dimensions: dict[str, tuple[Dimension, ...]]  # mode -> dimensions in order
    sha256: str = ""  # of the whole file (cache keys of what the guideline's text decides)

    def for_mode(self, mode: str) -> tuple[Dimension, ...]:
        return self.dimensions[mode]


def read_guideline(path: Path | None = None) -> Guideline:
    """Parse the guideline file; ConfigError naming the file when the front matter is bad."""
    import yaml

    path = Path(path or GUIDELINE)
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the human-evaluation guideline: {error}") from None
    if not raw.startswith("---\n") or "\n---\n" not in raw[4:]:
        raise ConfigError(f"{path}: expected YAML front matter between '---' lines at the top")
    head, text = raw[4:].split("\n---\n", 1)
    try:
        meta = yaml.safe_load(head) or {}
        scale = tuple(int(v) for v in meta.get("scale", (0, 1, 2, 3)))
        entries = meta["dimensions"]
        dimensions = {mode: tuple(Dimension(str(e["name"]), str(e.get("short", e["name"])))
                                  for e in entries if mode in e.get("modes", MODES)) for mode in MODES}
    except (yaml.YAMLError, KeyError, TypeError, ValueError) as error:
        raise ConfigError(f"{path}: bad front matter ({type(error).__name__}: {error}); "
                          "expected 'scale: [..]' and 'dimensions: [{name, short, modes}]'") from None
    return Guideline(text=text.strip() + "\n", scale=scale, dimensions=dimensions,
                     sha256=hashlib.sha256(raw.encode("utf-8")).hexdigest())
