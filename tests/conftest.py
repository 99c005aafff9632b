"""Shared test helpers. Real-model tests use the embedded SmolLM2 (converted once into the
escbench cache by `escbench setup`); the backend's process-level cache shares one loaded model."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


def run_cli(*args: str, env: dict | None = None, timeout: int = 600, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``escbench ARGS`` in a fresh interpreter (as a user would)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True,
        env=full_env, timeout=timeout, cwd=cwd or REPO,
    )


@pytest.fixture(scope="session")
def installed_plugins(tmp_path_factory) -> Path:
    """The example third-party plugins (tests/plugin_example, tests/plugin_broken) pip-installed
    into a private site folder; put it on PYTHONPATH to make them part of the environment."""
    target = tmp_path_factory.mktemp("site")
    for package in ("plugin_example", "plugin_broken"):
        source = tmp_path_factory.mktemp("src") / package  # building writes egg-info: keep it out of tests/
        shutil.copytree(TESTS / package, source)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
             "--target", str(target), str(source)],
            check=True, capture_output=True, text=True, timeout=300,
        )
    return target


@pytest.fixture
def parrot_module():
    """The example plugin module, imported from the source folder (for in-process registration)."""
    sys.path.insert(0, str(TESTS / "plugin_example"))
    try:
        import escbench_parrot

        yield escbench_parrot
    finally:
        sys.path.remove(str(TESTS / "plugin_example"))


@pytest.fixture(scope="module")
def one_torch_thread():
    """Training tests run torch on one thread: on 2 shared cores, two threads wait on each other."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def bad_split_yaml(tmp_path) -> str:
    """A split YAML over two dialogues: one valid, one with an unknown strategy ('Telepathy')."""
    data = [
        {"id": "ok-1", "scene": "Academic Stress", "description": "",
         "content": [{"User": "exams next week"}, {"AI": "How are you preparing?", "AI Strategy": "Cla"}]},
        {"id": "bad-1", "scene": "Academic Stress", "description": "",
         "content": [{"User": "hi"}, {"AI": "hello", "AI Strategy": "Telepathy"}]},
    ]
    (tmp_path / "data.json").write_text(json.dumps(data))
    (tmp_path / "mine.yaml").write_text("split: mine\nsource: {path: data.json, format: extes}\n")
    return str(tmp_path / "mine.yaml")

