"""Reading dialogue files: text, JSON documents, and their top-level list.

Every failure is a :class:`DataError` naming the file (and line and column for bad JSON).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import DataError
from .common import type_name


def read_json(path: Path) -> Any:
    """The parsed JSON document at ``path``; DataError for a missing file or bad JSON (line, column)."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        hint = ""
        if error.msg == "Extra data" and text.lstrip().startswith("{"):
            hint = " (this looks like JSON Lines: name the file .jsonl or pass format='jsonl')"
        raise DataError(f"malformed JSON: {error.msg}{hint}", str(path),
                        f"line {error.lineno}, column {error.colno}") from None


def read_text(path: Path) -> str:
    """The file's text (UTF-8, optional BOM); DataError if it is missing or not UTF-8."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError("file not found", str(path)) from None
    except IsADirectoryError:
        raise DataError("is a folder, expected a dialogue file", str(path)) from None
    except UnicodeDecodeError as error:
        raise DataError(f"not UTF-8 text (byte {error.start})", str(path)) from None


def records_of(document: object, path: Path, format_name: str) -> list:
    """The top-level list of a JSON dialogue file; DataError naming the file otherwise."""
    if not isinstance(document, list):
        raise DataError(f"expected a JSON list of {format_name} dialogues, got {type_name(document)}",
                        str(path))
    return document
