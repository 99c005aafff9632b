"""A local model folder is identified by its content, remembered by path, size and mtime."""
from __future__ import annotations

import hashlib
import json
import os

from escbench.harness.models import HASH_MEMO, describe_model


def _folder(tmp_path, weights: bytes):
    folder = tmp_path / "model"
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text('{"model_type": "llama"}')
    (folder / "model.safetensors").write_bytes(weights)
    return folder


def _expected(folder) -> str:
    """The documented digest, computed here with hashlib from the files themselves."""
    lines = []
    for name in sorted(p.name for p in folder.iterdir()):
        data = (folder / name).read_bytes()
        lines.append(f"{name}\t{len(data)}\t{hashlib.sha256(data).hexdigest()}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def test_replacing_weights_in_place_changes_the_identity(tmp_path, monkeypatch):
    monkeypatch.setenv("ESCBENCH_CACHE", str(tmp_path / "cache"))
    folder = _folder(tmp_path, b"A" * 4096)
    first = describe_model(str(folder))
    assert first["sha256"] == _expected(folder) and first["path"] == str(folder.resolve())
    weights = folder / "model.safetensors"
    stat = weights.stat()
    weights.write_bytes(b"B" * 4096)  # same path, same size: a retrained model saved over the old one
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    second = describe_model(str(folder))
    assert second["sha256"] == _expected(folder) != first["sha256"]


def test_file_hashes_are_remembered_by_path_size_and_mtime(tmp_path, monkeypatch):
    monkeypatch.setenv("ESCBENCH_CACHE", str(tmp_path / "cache"))
    folder = _folder(tmp_path, b"weights")
    describe_model(str(folder))
    memo = json.loads((tmp_path / "cache" / HASH_MEMO).read_text())
    entry = memo[str((folder / "model.safetensors").resolve())]
    stat = (folder / "model.safetensors").stat()
    assert entry == {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                     "sha256": hashlib.sha256(b"weights").hexdigest()}
