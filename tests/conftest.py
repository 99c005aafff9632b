"""Shared test helpers. Real-model tests use the embedded SmolLM2 (converted once into the
escbench cache by `escbench setup`); the backend's process-level cache shares one loaded model."""
from __future__ import annotations

import importlib.abc
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


class ModelWatch(importlib.abc.MetaPathFinder):
    """Counts transformers models loaded from weights on disk in this process: once
    ``transformers.modeling_utils`` is imported, ``PreTrainedModel.from_pretrained`` is wrapped
    (importing transformers, or building a tiny model from a config, is not loading a model)."""

    loaded: list[str] = []

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "transformers.modeling_utils":
            return None
        for finder in sys.meta_path:
            if finder is self:
                continue
            spec = getattr(finder, "find_spec", lambda *a: None)(fullname, path, target)
            if spec is not None and spec.loader is not None:
                load = spec.loader.exec_module

                def exec_module(module, load=load):
                    load(module)
                    original = module.PreTrainedModel.from_pretrained.__func__

                    def from_pretrained(cls, *args, **kwargs):
                        ModelWatch.loaded.append(f"{cls.__name__} from {args[0] if args else '?'}")
                        return original(cls, *args, **kwargs)

                    module.PreTrainedModel.from_pretrained = classmethod(from_pretrained)

                spec.loader.exec_module = exec_module
                return spec
        return None


def pytest_configure(config):
    if "not slow" in (config.option.markexpr or "") and "transformers.modeling_utils" not in sys.modules:
        sys.meta_path.insert(0, ModelWatch())


@pytest.fixture(autouse=True)
def no_model_in_fast_tests(request):
    """In a ``-m "not slow"`` run (``make test-fast``), a test that is not marked ``slow`` must not
    load a model's weights in this process: it fails naming the model it loaded."""
    before = len(ModelWatch.loaded)
    yield
    if "not slow" in (request.config.option.markexpr or "") and request.node.get_closest_marker("slow") is None:
        loaded = ModelWatch.loaded[before:]
        assert not loaded, f"{request.node.nodeid} loaded a model ({'; '.join(loaded)}): mark it @pytest.mark.slow"


def run_cli(*args: str, env: dict | None = None, timeout: int = 600, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``escbench ARGS`` in a fresh interpreter (as a user would)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "escbench.harness.cli", *args], capture_output=True, text=True,
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


# -- leaderboard and human-evaluation fixtures (results made in process) ----------------------
@pytest.fixture
def host(parrot_module):
    """A plugin host with the built-in metrics and renderers, the example plugin and the
    in-process systems of tests/results_data.py."""
    from results_data import results_host

    return results_host(parrot_module)


@pytest.fixture
def human(monkeypatch, capsys):
    """``escbench ...`` in this process with only the leaderboard and human plugins registered;
    returns (exit status, stdout, stderr)."""
    import escbench.plugins.human
    from escbench.harness.cli import main
    from escbench.harness.plugins import get_host, reset_host

    monkeypatch.setenv("ESCBENCH_PLUGINS", "leaderboard")
    reset_host()
    get_host().register(escbench.plugins.human, name="human")

    def call(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        status = main([str(a) for a in args])
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    yield call
    reset_host()


@pytest.fixture
def results(parrot_module, tmp_path) -> Path:
    from human_sheets import SYSTEMS
    from results_data import make_results, results_host, write_split

    split = write_split(tmp_path / "data", "worries", dialogues=12)
    make_results(results_host(parrot_module), tmp_path / "results", [(s, {}) for s in SYSTEMS], splits=(str(split),),
                 metrics=[("word-count", {})])
    return tmp_path / "results"


@pytest.fixture
def export(human, results, tmp_path) -> Path:
    out = tmp_path / "eval"
    status, _, _ = human("human", "export", "--results", results, "--split", "worries", "--n", 10, "--raters", 3,
                      "--seed", 7, "--out", out)
    assert status == 0
    return out
