"""METEOR 1.5, the original Java program (``-l en -norm``), as the COCO caption tools run it.

The jar and its English paraphrase table ship in the PyPI package ``pycocoevalcap``; Java
must be on PATH. One ``java -jar meteor-1.5.jar - - -stdio -l en -norm`` process is started
per Python process and reused. Each response is scored with a ``SCORE ||| reference |||
hypothesis`` line (METEOR's own tokenizer and lower-casing, ``-norm``); the corpus value is
METEOR's aggregate over all segments' statistics (``EVAL``), not the mean of segment scores.
Reported x100.
"""
from __future__ import annotations

import atexit
import importlib.util
import shutil
import subprocess
import threading
from pathlib import Path
from typing import ClassVar, Sequence

import numpy as np

from escbench.harness.errors import MetricUnavailableError
from escbench.harness.registry import Sample
from escbench.harness.resampling import CorpusScores

from .base import CorpusMetric

NAME = "meteor-1.5"
_lock = threading.Lock()
_process: subprocess.Popen | None = None


def meteor_jar() -> Path:
    """Path of pycocoevalcap's meteor-1.5.jar; MetricUnavailableError when absent."""
    spec = importlib.util.find_spec("pycocoevalcap")
    jar = (Path(spec.submodule_search_locations[0]) / "meteor" / "meteor-1.5.jar"
           if spec and spec.submodule_search_locations else None)
    if jar is None or not jar.is_file():
        raise MetricUnavailableError(NAME, "the METEOR 1.5 jar comes with the PyPI package "
                                           "pycocoevalcap: pip install --no-deps pycocoevalcap")
    return jar


def _server() -> subprocess.Popen:
    global _process
    if _process is not None and _process.poll() is None:
        return _process
    java = shutil.which("java")
    if java is None:
        raise MetricUnavailableError(NAME, "needs Java on PATH "
                                           "(apt-get install -y default-jre-headless)")
    jar = meteor_jar()
    _process = subprocess.Popen([java, "-Xmx2G", "-jar", str(jar), "-", "-", "-stdio",
                                 "-l", "en", "-norm"], cwd=str(jar.parent),
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True, encoding="utf-8")
    atexit.register(_stop)
    return _process


def _stop() -> None:
    global _process
    if _process is not None:
        try:
            _process.stdin.close()
            _process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            _process.kill()
        _process = None


def _clean(text: str) -> str:
    """One line without METEOR's field separator."""
    return " ".join(text.replace("|||", " ").split())


def _ask(process: subprocess.Popen, line: str, answers: int) -> list[str]:
    process.stdin.write(line + "\n")
    process.stdin.flush()
    replies = [process.stdout.readline() for _ in range(answers)]
    if any(not reply for reply in replies):
        raise MetricUnavailableError(NAME, "the METEOR 1.5 Java process stopped "
                                           "(does `java -jar meteor-1.5.jar` run here?)")
    return [reply.strip() for reply in replies]


def segment_statistics(pairs: Sequence[tuple[str, str]]) -> list[str]:
    """METEOR's statistics line for each (hypothesis, reference)."""
    with _lock:
        process = _server()
        return [_ask(process, f"SCORE ||| {_clean(ref)} ||| {_clean(hyp)}", 1)[0]
                for hyp, ref in pairs]


def evaluate(statistics: Sequence[str]) -> tuple[list[float], float]:
    """(segment scores, corpus score) for statistics lines, both 0..1."""
    with _lock:
        replies = _ask(_server(), "EVAL ||| " + " ||| ".join(statistics), len(statistics) + 1)
    return [float(r) for r in replies[:-1]], float(replies[-1])


class Meteor15Scores(CorpusScores):
    """Segment statistics kept, so a resample is re-aggregated by METEOR itself."""

    def __init__(self, statistics: list[str], segments: list[float], corpus_value: float,
                 scale: float = 100.0):
        self.columns = ("METEOR-1.5",)
        self._statistics, self._corpus, self.scale = statistics, corpus_value, scale
        self.per_sample = {"METEOR-1.5": [value * scale for value in segments]}

    def corpus(self, indices: np.ndarray | None = None) -> dict[str, float]:
        if indices is None:
            return {"METEOR-1.5": self._corpus * self.scale}
        _, value = evaluate([self._statistics[i] for i in indices.tolist()])
        return {"METEOR-1.5": value * self.scale}


class Meteor15(CorpusMetric):
    """Java METEOR 1.5 (-l en -norm), corpus aggregate x100."""

    name: ClassVar[str] = NAME
    description: ClassVar[str] = ("METEOR 1.5 (original Java, -l en -norm, from pycocoevalcap; "
                                  "needs Java), corpus aggregate x100")
    columns: ClassVar[Sequence[str]] = ("METEOR-1.5",)
    default: ClassVar[bool] = False

    def score(self, samples: Sequence[Sample]) -> Meteor15Scores:
        statistics = segment_statistics([(s.prediction, s.reference) for s in samples])
        segments, corpus_value = evaluate(statistics)
        return Meteor15Scores(statistics, segments, corpus_value)
