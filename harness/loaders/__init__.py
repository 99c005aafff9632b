"""Dialogue loaders: ExTES and ESConv JSON, and escbench's own JSONL.

:func:`load_dialogues` reads any of them into :class:`escbench.harness.data.Dialogue` objects with
roles ``"user"``/``"ai"`` and canonical strategy names. Strict mode (the default) raises a
:class:`escbench.harness.errors.DataError` at the first bad dialogue, naming the file, the dialogue
(position from 0, and id), the turn where relevant, and the problem; lenient mode skips bad
dialogues and returns them as :class:`Reject` records. A file that is not valid JSON, or is
missing, is an error in both modes. Each format's rules are in its module's docstring.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..catalogs import StrategyCatalog, load_strategy_catalog
from ..errors import ConfigError, DataError
from .common import LoadResult, Reject
from .esconv import esconv_from_document, load_esconv_hf, looks_like_esconv_hf
from .extes import extes_from_document
from .files import read_json
from .jsonl import load_jsonl, write_jsonl

FORMATS = ("auto", "extes", "esconv", "esconv-hf", "jsonl")
_DEFAULT_CATALOG = {"extes": "extes", "jsonl": "extes", "esconv": "esconv", "esconv-hf": "esconv"}

__all__ = ["load_dialogues", "LoadResult", "Reject", "write_jsonl", "FORMATS"]


def load_dialogues(
    path: str | os.PathLike,
    format: str = "auto",
    catalog: StrategyCatalog | None = None,
    lenient: bool = False,
) -> LoadResult:
    """Load and validate the dialogues in ``path``.

    ``format="auto"`` reads ``*.jsonl`` as escbench JSONL (or, when its rows hold a dialogue
    as a JSON string in ``text``, as ESConv's Hugging Face layout, also for ``*.txt``), and a
    JSON list as ExTES when its first item has ``content``, as ESConv when it has ``dialog``. ``catalog`` defaults to the
    ExTES strategy catalog (ESConv's for ESConv files). Raises DataError (or its subclass
    UnknownStrategyError); in lenient mode only for whole-file problems. An unknown
    ``format`` is a ConfigError.
    """
    source = Path(path)
    if format not in FORMATS:
        raise ConfigError(f"unknown dialogue format {format!r} for {source} "
                          f"(choose one of {', '.join(FORMATS)})")
    if format == "auto" and source.suffix.lower() in (".jsonl", ".txt") and looks_like_esconv_hf(source):
        format = "esconv-hf"  # ESConv's Hugging Face layout: rows whose 'text' is a dialogue
    if format == "esconv-hf":
        return load_esconv_hf(source, catalog or load_strategy_catalog("esconv"), lenient)
    if format == "jsonl" or format == "auto" and source.suffix.lower() == ".jsonl":
        return load_jsonl(source, catalog or load_strategy_catalog("extes"), lenient)
    document = read_json(source)
    if format == "auto":
        format = _detect_json_format(document, source)
    readers = {"extes": extes_from_document, "esconv": esconv_from_document}
    chosen_catalog = catalog or load_strategy_catalog(_DEFAULT_CATALOG[format])
    return readers[format](document, source, chosen_catalog, lenient)


def _detect_json_format(document: object, path: Path) -> str:
    first = document[0] if isinstance(document, list) and document else None
    if isinstance(first, dict) and "content" in first:
        return "extes"
    if isinstance(first, dict) and "dialog" in first:
        return "esconv"
    raise DataError(
        "cannot tell the dialogue format: expected a JSON list whose first item has 'content' "
        "(ExTES) or 'dialog' (ESConv); pass format='extes', 'esconv' or 'jsonl'", str(path))
