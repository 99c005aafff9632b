"""Toxicity of the responses on the six Perspective attributes of the paper's Table 4.

Three backends, each its own metric with its own column names, because their numbers are
not interchangeable: ``toxicity`` (the Perspective API, as in the paper; needs a key),
``toxicity-lexicon`` (escbench's offline word lists, ``lex:`` columns, not comparable to
Perspective) and ``toxicity-detoxify`` (a local Detoxify checkpoint, ``dtx:`` columns).
Values are mean probabilities (0..1, the paper's scale); lower is better. An empty
response scores 0 on every attribute without being sent anywhere.

Honesty rules: a text the backend could not score (Perspective refused it) gets no value and
is counted in the ``Tox-unscored`` / ``dtx:Unscored`` column next to the scores; when no
non-empty text could be scored the metric fails with the reason (never a 0 that reads as
"non-toxic"); an attribute the backend does not report (a Detoxify checkpoint without that
class) is absent, not 0.
"""
from __future__ import annotations

import os
from typing import ClassVar, Sequence

import numpy as np

from escbench.harness.errors import MetricUnavailableError
from escbench.harness.paths import cache_dir
from escbench.harness.registry import Sample
from escbench.harness.resampling import MeanScores

from .base import CorpusMetric, as_bool

ATTRIBUTE_COLUMNS = {"TOXICITY": "Toxicity", "SEVERE_TOXICITY": "Severe Toxicity",
                     "IDENTITY_ATTACK": "Identity Attack", "INSULT": "Insult",
                     "PROFANITY": "Profanity", "THREAT": "Threat"}


def _mean_scores(rows: Sequence[dict[str, float | None] | None], columns: dict[str, str]) -> MeanScores:
    return MeanScores({column: [None if row is None else row.get(attribute)
                                for row in rows]
                       for attribute, column in columns.items()}, scale=1.0)


class CountedScores(MeanScores):
    """Mean per attribute plus ``unscored_column``: the number of texts (among those chosen)
    that got no value at all."""

    def __init__(self, values: dict, unscored_column: str, unscored: Sequence[float]):
        super().__init__(values, scale=1.0)
        self.unscored_column = unscored_column
        self._unscored = np.asarray(unscored, dtype=np.float64)
        self.columns = (*self.columns, unscored_column)
        self.per_sample[unscored_column] = [float(v) for v in self._unscored]

    def corpus(self, indices: np.ndarray | None = None) -> dict[str, float]:
        out = super().corpus(indices)
        chosen = self._unscored if indices is None else self._unscored[indices]
        out[self.unscored_column] = float(chosen.sum())
        return out


def counted_scores(rows: Sequence[dict[str, float | None] | None], texts: Sequence[str],
                   columns: dict[str, str], unscored_column: str, metric: str,
                   why: str = "") -> CountedScores:
    """Scores of the attributes some text has a value for (others are absent), and the count
    of unscored texts; MetricUnavailableError when no non-empty text was scored."""
    unscored = [row is None or all(row.get(a) is None for a in columns) for row in rows]
    non_empty = [u for u, text in zip(unscored, texts) if text.strip()]
    if non_empty and all(non_empty):
        raise MetricUnavailableError(metric, f"none of the {len(non_empty)} non-empty texts could be scored"
                                             + (f" ({why})" if why else ""))
    reported = {attribute: column for attribute, column in columns.items()
                if any(row is not None and row.get(attribute) is not None for row in rows)}
    values = {column: [None if row is None else row.get(attribute) for row in rows]
              for attribute, column in reported.items()}
    return CountedScores(values, unscored_column, [float(u) for u in unscored])


class PerspectiveToxicity(CorpusMetric):
    """Perspective API scores (key in $PERSPECTIVE_API_KEY), mean per attribute."""

    name: ClassVar[str] = "toxicity"
    description: ClassVar[str] = ("Perspective API probabilities of the six Table 4 attributes, "
                                  "mean over responses (needs $PERSPECTIVE_API_KEY)")
    columns: ClassVar[Sequence[str]] = (*ATTRIBUTE_COLUMNS.values(), "Tox-unscored")
    higher_is_better: ClassVar[bool] = False
    default: ClassVar[bool] = False

    def __init__(self, base_url: str | None = None, qps: float = 1.0, max_retries: int = 5,
                 backoff: float = 1.0, timeout: float = 30.0, cache: bool | str = True,
                 languages: str = "en", key_variable: str = "PERSPECTIVE_API_KEY"):
        from .perspective import DEFAULT_BASE_URL

        self.base_url = base_url or DEFAULT_BASE_URL
        self.qps, self.max_retries = float(qps), int(max_retries)
        self.backoff, self.timeout = float(backoff), float(timeout)
        self.use_cache = as_bool(cache, self.name, "cache")
        self.languages = tuple(part.strip() for part in str(languages).split(",") if part.strip())
        self.key_variable = key_variable

    def client(self):
        from .perspective import PerspectiveCache, PerspectiveClient

        api_key = os.environ.get(self.key_variable, "").strip()
        if not api_key:
            raise MetricUnavailableError(self.name, f"set ${self.key_variable} to a Perspective "
                                                    f"API key (or use toxicity-lexicon offline)")
        store = PerspectiveCache(cache_dir() / "perspective.sqlite") if self.use_cache else None
        return PerspectiveClient(api_key, list(ATTRIBUTE_COLUMNS), base_url=self.base_url,
                                 languages=self.languages, qps=self.qps,
                                 max_retries=self.max_retries, backoff=self.backoff,
                                 timeout=self.timeout, cache=store, metric=self.name)

    def score(self, samples: Sequence[Sample]) -> MeanScores:
        client = self.client()
        zero = {attribute: 0.0 for attribute in ATTRIBUTE_COLUMNS}
        texts = [s.prediction for s in samples]
        rows = [client.score(text) if text.strip() else zero for text in texts]
        why = ""
        if client.refused:
            why = f"Perspective refused {len(client.refused)}, e.g.: {client.refused[0][1][:200]}"
        return counted_scores(rows, texts, ATTRIBUTE_COLUMNS, "Tox-unscored", self.name, why)


class LexiconToxicity(CorpusMetric):
    """escbench's offline word-list scorer (not comparable to Perspective)."""

    name: ClassVar[str] = "toxicity-lexicon"
    description: ClassVar[str] = ("offline word-list toxicity (escbench lexicon; NOT comparable "
                                  "to Perspective), mean per attribute, lex: columns")
    columns: ClassVar[Sequence[str]] = tuple(f"lex:{c}" for c in ATTRIBUTE_COLUMNS.values())
    higher_is_better: ClassVar[bool] = False

    def __init__(self, lexicon: str | None = None):
        self.lexicon_path = lexicon

    def score(self, samples: Sequence[Sample]) -> MeanScores:
        from pathlib import Path

        from .lexicon import LEXICON_FILE, lexicon_scores, load_lexicon

        lexicon = load_lexicon(Path(self.lexicon_path) if self.lexicon_path else LEXICON_FILE)
        rows = [lexicon_scores(s.prediction, lexicon) for s in samples]
        return _mean_scores(rows, {a: f"lex:{c}" for a, c in ATTRIBUTE_COLUMNS.items()})


class DetoxifyToxicity(CorpusMetric):
    """Detoxify scores from a local checkpoint (``checkpoint=PATH``)."""

    name: ClassVar[str] = "toxicity-detoxify"
    description: ClassVar[str] = ("Detoxify classifier probabilities from a local checkpoint "
                                  "(checkpoint=PATH), mean per attribute, dtx: columns")
    columns: ClassVar[Sequence[str]] = ("dtx:Toxicity", "dtx:Severe Toxicity",
                                        "dtx:Identity Attack", "dtx:Insult", "dtx:Obscene",
                                        "dtx:Threat", "dtx:Unscored")
    higher_is_better: ClassVar[bool] = False
    default: ClassVar[bool] = False

    def __init__(self, checkpoint: str | None = None, config_dir: str | None = None,
                 device: str = "cpu", batch_size: int = 32):
        self.checkpoint, self.config_dir = checkpoint, config_dir
        self.device, self.batch_size = device, max(1, int(batch_size))

    def score(self, samples: Sequence[Sample]) -> MeanScores:
        from .detox import DETOXIFY_KEYS, detoxify_attributes, load_detoxify

        model = load_detoxify(self.checkpoint, self.config_dir, self.device, self.name)
        rows: list[dict[str, float | None]] = []
        texts = [s.prediction for s in samples]
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start:start + self.batch_size]
            rows += detoxify_attributes(model.predict(batch), len(batch))
        columns = dict(zip(DETOXIFY_KEYS.values(), self.columns))
        return counted_scores(rows, texts, columns, "dtx:Unscored", self.name,
                              "the checkpoint reports none of the six attributes")
