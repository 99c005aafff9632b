"""A :class:`~escbench.harness.table.Table` written in every published format at once."""
from __future__ import annotations

from pathlib import Path

from .table import Table

FORMATS = {"md": "md", "latex": "tex", "html": "html", "csv": "csv", "json": "json"}


def write_formats(table: Table, folder: Path, stem: str, host=None) -> list[Path]:
    """``folder/stem.{md,tex,html,csv,json}`` rendered by the registered renderers (atomically);
    returns the paths written."""
    from .jsonl import write_atomic
    from .plugins import get_host

    host = host or get_host()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt, suffix in FORMATS.items():
        out = folder / f"{stem}.{suffix}"
        write_atomic(out, host.renderers.get(fmt)().render(table))
        written.append(out)
    return written
