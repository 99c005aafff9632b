"""Compiled metric resources: numpy files in the escbench cache, loaded by memory map.

A compiled resource is a folder ``<cache>/compiled/<name>/`` holding ``.npy`` arrays and a
``manifest.json`` written last (so a half-written folder never counts as built). The
manifest records the format ``version``, a ``source`` fingerprint (sizes and modification
times of the files it was compiled from, so a changed source or library is noticed by a
few ``stat`` calls) and each array's size and sha256. Loading checks version, source and
sizes and maps the arrays read-only (milliseconds); :func:`verify` re-hashes the arrays
(``escbench setup`` does). A missing or stale resource is rebuilt on first use, with a note
on stderr.

:class:`StringIndex` is a sorted set of strings stored as fixed-width byte arrays (bucketed
by length so that short words take little room), answering "which row is this word" with
``np.searchsorted`` for many words at once.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from escbench.harness.models import file_sha256
from escbench.harness.paths import cache_dir

MANIFEST = "manifest.json"
# Byte widths of the StringIndex buckets; a longer word goes to a last bucket of its width.
_BUCKET_WIDTHS = (8, 16, 32)


def compiled_dir(name: str) -> Path:
    """Folder of the compiled resource ``name``."""
    return cache_dir() / "compiled" / name


def fingerprint(paths: Iterable[Path]) -> str:
    """sha256 of each path's name, size and modification time (missing files count too)."""
    digest = hashlib.sha256()
    for path in paths:
        try:
            stat = os.stat(path)
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{path}\0missing\n".encode())
    return digest.hexdigest()


def _read_manifest(folder: Path) -> dict | None:
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_current(name: str, version: int, source: str) -> bool:
    """Whether ``name`` is built with this format version from this source (sizes checked)."""
    folder = compiled_dir(name)
    manifest = _read_manifest(folder)
    if not manifest or manifest.get("version") != version or manifest.get("source") != source:
        return False
    for file, entry in manifest.get("files", {}).items():
        try:
            if os.stat(folder / file).st_size != entry["bytes"]:
                return False
        except OSError:
            return False
    return True


def write(name: str, version: int, source: str, arrays: dict[str, np.ndarray],
          extra: dict | None = None) -> Path:
    """Write ``arrays`` and the manifest (last) into a fresh folder, replacing any old one."""
    folder = compiled_dir(name)
    staging = folder.with_name(f".{name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    files = {}
    for key, array in arrays.items():
        path = staging / f"{key}.npy"
        np.save(path, np.ascontiguousarray(array), allow_pickle=False)
        files[path.name] = {"bytes": path.stat().st_size, "sha256": file_sha256(path)}
    manifest = {"version": version, "source": source, "files": files, "extra": extra or {}}
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, allow_nan=False), encoding="utf-8")
    old = folder.with_name(f".{name}.{os.getpid()}.old")
    if folder.exists():
        folder.rename(old)
    staging.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    return folder


def load(name: str, version: int, source: str, build: Callable[[], tuple[dict, dict]],
         what: str) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays (memory-mapped, read-only) and ``extra`` of resource ``name``; built by
    ``build() -> (arrays, extra)`` first when missing or stale (with a note on stderr)."""
    if not is_current(name, version, source):
        print(f"escbench: compiling {what} into {compiled_dir(name)} (once; `escbench setup` "
              f"does this ahead of time)", file=sys.stderr)
        arrays, extra = build()
        write(name, version, source, arrays, extra)
    folder = compiled_dir(name)
    manifest = _read_manifest(folder) or {}
    arrays = {Path(file).stem: np.load(folder / file, mmap_mode="r", allow_pickle=False)
              for file in manifest.get("files", {})}
    return arrays, manifest.get("extra", {})


def verify(name: str) -> list[str]:
    """Names of the arrays of ``name`` whose sha256 differs from the manifest (all when the
    manifest is missing)."""
    folder = compiled_dir(name)
    manifest = _read_manifest(folder)
    if manifest is None:
        return ["manifest.json"]
    bad = []
    for file, entry in manifest.get("files", {}).items():
        path = folder / file
        if not path.is_file() or file_sha256(path) != entry["sha256"]:
            bad.append(file)
    return bad


def blob(strings: list[str], prefix: str) -> dict[str, np.ndarray]:
    """Strings as one UTF-8 byte array and their start offsets (one more than strings)."""
    encoded = [text.encode("utf-8") for text in strings]
    starts = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=starts[1:])
    return {f"{prefix}_blob": np.frombuffer(b"".join(encoded) or b"\0", dtype=np.uint8),
            f"{prefix}_starts": starts}


class Strings:
    """The i-th string of a :func:`blob` pair."""

    def __init__(self, arrays: dict[str, np.ndarray], prefix: str):
        self.blob, self.starts = arrays[f"{prefix}_blob"], arrays[f"{prefix}_starts"]

    def __getitem__(self, row: int) -> str:
        return self.blob[self.starts[row]:self.starts[row + 1]].tobytes().decode("utf-8")


class StringIndex:
    """Row numbers of a fixed set of strings, from memory-mappable arrays.

    ``arrays(words, prefix)`` makes the arrays (one sorted ``S<width>`` array and one
    ``int32`` row array per length bucket); ``StringIndex(arrays, prefix)`` answers
    :meth:`rows` for them. A word's row is its position in ``words``.
    """

    @staticmethod
    def arrays(words: Sequence[str], prefix: str) -> dict[str, np.ndarray]:
        encoded = [word.encode("utf-8") for word in words]
        if any(word.endswith(b"\0") for word in encoded):
            raise ValueError("a word ending in a NUL byte cannot be stored in a StringIndex")
        longest = max((len(word) for word in encoded), default=1)
        widths = [w for w in _BUCKET_WIDTHS if w < longest] + [max(longest, 1)]
        out = {}
        lower = 0
        for bucket, width in enumerate(widths):
            rows = [i for i, word in enumerate(encoded) if lower < len(word) <= width
                    or (bucket == 0 and len(word) == 0)]
            rows.sort(key=encoded.__getitem__)
            out[f"{prefix}_keys{bucket}"] = np.array([encoded[i] for i in rows], dtype=f"S{width}")
            out[f"{prefix}_rows{bucket}"] = np.array(rows, dtype=np.int32)
            lower = width
        return out

    def __init__(self, arrays: dict[str, np.ndarray], prefix: str):
        self.buckets = []
        bucket = 0
        while f"{prefix}_keys{bucket}" in arrays:
            keys = arrays[f"{prefix}_keys{bucket}"]
            self.buckets.append((keys.dtype.itemsize, keys, arrays[f"{prefix}_rows{bucket}"]))
            bucket += 1

    def rows(self, words: Sequence[str]) -> np.ndarray:
        """Row of each word (int64), -1 for a word not in the set."""
        out = np.full(len(words), -1, dtype=np.int64)
        encoded = [word.encode("utf-8", "surrogatepass") for word in words]
        groups: dict[int, list[int]] = {}
        for position, word in enumerate(encoded):
            if word.endswith(b"\0"):
                continue  # never stored (numpy would strip the NUL and match another word)
            size = len(word)
            for bucket, (width, _, _) in enumerate(self.buckets):
                if size <= width:
                    groups.setdefault(bucket, []).append(position)
                    break
        for bucket, positions in groups.items():
            width, keys, rows = self.buckets[bucket]
            if len(keys) == 0:
                continue
            query = np.array([encoded[p] for p in positions], dtype=f"S{width}")
            found = np.searchsorted(keys, query)
            found = np.minimum(found, len(keys) - 1)
            hit = keys[found] == query
            out[np.asarray(positions)[hit]] = rows[found[hit]]
        return out

    def row(self, word: str) -> int:
        return int(self.rows([word])[0])
