"""METEOR as NLTK computes it, per response, averaged (the ESC papers' METEOR column).

Per response: NLTK ``meteor_score([reference_tokens], hypothesis_tokens)`` with its defaults
(alpha 0.9, beta 3, gamma 0.5): words are aligned by exact match, then Porter stem, then
WordNet synonym (each stage on the words the previous one left), F-mean
``P*R / (alpha*P + (1-alpha)*R)`` times ``1 - gamma*(chunks/matches)**beta``; 0 when nothing
matches or either side is empty. Corpus value: the mean, x100.

The alignment below repeats NLTK 3.10's algorithm step for step (tests compare the values
on hundreds of pairs) but looks each word's stem and synonyms up once per process instead
of once per occurrence, which is where NLTK spends its time. The metric takes stems and
synonyms from tables compiled once from NLTK (:mod:`.wordnet_tables`, memory-mapped), so
it neither loads NLTK's WordNet reader nor, for known words, imports NLTK; :func:`meteor`
also accepts NLTK's reader (``wordnet=``), as ``meteor_score`` does.
"""
from __future__ import annotations

from typing import ClassVar, Sequence

from escbench.harness.registry import Sample
from escbench.harness.resampling import MeanScores

from .base import CorpusMetric
from .tokenize import tokenize
from .wordnet_tables import WordNetTables, load_tables

_stems: dict[str, str] = {}
_synonyms: dict[str, frozenset[str]] = {}
_stemmer = None


def _stem(word: str) -> str:
    global _stemmer
    stem = _stems.get(word)
    if stem is None:
        if _stemmer is None:
            from nltk.stem.porter import PorterStemmer

            _stemmer = PorterStemmer()
        stem = _stems[word] = _stemmer.stem(word)
    return stem


def _synonyms_of(word: str, wordnet) -> frozenset[str]:
    """WordNet lemma names (without multi-word ones) of every synset of ``word``, plus it;
    ``wordnet``: NLTK's reader or compiled :class:`~.wordnet_tables.WordNetTables`."""
    synonyms = _synonyms.get(word)
    if synonyms is None:
        if isinstance(wordnet, WordNetTables):
            names = wordnet.synonyms(word)
        else:
            names = {lemma.name() for synset in wordnet.synsets(word) for lemma in synset.lemmas()}
        synonyms = _synonyms[word] = frozenset(n for n in names if "_" not in n) | {word}
    return synonyms


def remember_stems(words, tables) -> None:
    """Fill the stem memo for ``words`` from the compiled tables in one batch."""
    missing = sorted({word for word in words if word not in _stems})
    if missing:
        _stems.update(zip(missing, tables.stems(missing)))


def meteor(hypothesis: Sequence[str], reference: Sequence[str], wordnet,
           alpha: float = 0.9, beta: float = 3.0, gamma: float = 0.5,
           lowered: bool = False) -> float:
    """METEOR of one tokenized hypothesis against one tokenized reference (0..1), equal to
    ``nltk.translate.meteor_score.meteor_score([reference], hypothesis, wordnet=wordnet)``.

    Three stages, each on the words the previous ones left free: exact words, Porter stems,
    then WordNet synonyms of the stems. In each, hypothesis words are visited right to left
    and take the right-most free reference word that qualifies (as NLTK 3.10 does).
    ``lowered=True`` skips NLTK's ``str.lower`` of each token, for tokens cut from
    lower-cased text (lower-casing twice changes no character, so the value is the same).
    """
    hyp = hypothesis if lowered else [word.lower() for word in hypothesis]
    ref = reference if lowered else [word.lower() for word in reference]
    if not hyp or not ref:
        return 0.0
    matches: list[tuple[int, int]] = []

    free_ref: dict[str, list[int]] = {}
    for j, word in enumerate(ref):
        free_ref.setdefault(word, []).append(j)
    free_hyp = []
    for i in range(len(hyp) - 1, -1, -1):
        slots = free_ref.get(hyp[i])
        if slots:
            matches.append((i, slots.pop()))
        else:
            free_hyp.append(i)  # right to left

    if free_hyp:
        stems = _stems
        left_ref = sorted(j for slots in free_ref.values() for j in slots)
        free_ref = {}
        for j in left_ref:
            word = ref[j]
            free_ref.setdefault(stems.get(word) or _stem(word), []).append(j)
        stem_of_hyp = {}
        still_free = []
        for i in free_hyp:
            word = hyp[i]
            stem = stem_of_hyp[i] = stems.get(word) or _stem(word)
            slots = free_ref.get(stem)
            if slots:
                matches.append((i, slots.pop()))
            else:
                still_free.append(i)

        if still_free and any(free_ref.values()):
            for i in still_free:
                allowed = _synonyms.get(stem_of_hyp[i]) or _synonyms_of(stem_of_hyp[i], wordnet)
                best, best_word = -1, None
                for candidate in allowed.intersection(free_ref):
                    slots = free_ref[candidate]
                    if slots and slots[-1] > best:
                        best, best_word = slots[-1], candidate
                if best_word is not None:
                    matches.append((i, free_ref[best_word].pop()))

    matched = len(matches)
    if matched == 0:
        return 0.0
    matches.sort()
    precision = float(matched) / len(hyp)
    recall = float(matched) / len(ref)
    fmean = (precision * recall) / (alpha * precision + (1 - alpha) * recall)
    chunks = 1
    previous_i, previous_j = matches[0]
    for i, j in matches[1:]:
        if not (i == previous_i + 1 and j == previous_j + 1):
            chunks += 1
        previous_i, previous_j = i, j
    penalty = gamma * (float(chunks) / matched) ** beta
    return (1 - penalty) * fmean


class Meteor(CorpusMetric):
    """METEOR (NLTK, WordNet 3.0): per-response score, mean x100."""

    name: ClassVar[str] = "meteor"
    description: ClassVar[str] = ("METEOR (NLTK meteor_score: exact/stem/WordNet-synonym "
                                  "alignment, alpha=0.9 beta=3 gamma=0.5) per response, mean x100")
    columns: ClassVar[Sequence[str]] = ("METEOR",)

    def __init__(self, alpha: float = 0.9, beta: float = 3.0, gamma: float = 0.5):
        self.alpha, self.beta, self.gamma = float(alpha), float(beta), float(gamma)

    def score(self, samples: Sequence[Sample]) -> MeanScores:
        tables = load_tables()
        pairs = [(tokenize(s.prediction), tokenize(s.reference)) for s in samples]
        remember_stems({word for pair in pairs for tokens in pair for word in tokens}, tables)
        values = [meteor(hypothesis, reference, tables, self.alpha, self.beta, self.gamma,
                         lowered=True) for hypothesis, reference in pairs]
        return MeanScores({"METEOR": values})
