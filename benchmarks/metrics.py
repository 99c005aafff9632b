"""Benchmark: escbench's offline metrics against straightforward implementations.

Scores N (default 10,000) synthetic (hypothesis, reference) pairs of 20-30 tokens with
both, in the same process, and prints per-metric times, the speed ratio and the largest
absolute difference of corpus and per-sample values. Resources (WordNet, GloVe) are loaded
once before timing; escbench's own memo tables start empty.

    .venv/bin/python benchmarks/metrics.py [--pairs 10000] [--seed 0]

Exits 1 when a value differs by more than 1e-9 or the overall speed-up is below --target.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.registry import Sample  # noqa: E402
from plugins.metrics import meteor as fast_meteor_module  # noqa: E402
from plugins.metrics import reference, tokenize  # noqa: E402
from plugins.metrics.bleu import Bleu  # noqa: E402
from plugins.metrics.distinct import Distinct  # noqa: E402
from plugins.metrics.extrema import Extrema  # noqa: E402
from plugins.metrics.meteor import Meteor  # noqa: E402
from plugins.metrics.rouge import RougeL  # noqa: E402
from plugins.metrics.synthetic import reply_pairs  # noqa: E402
from plugins.metrics.vectors import load_vectors  # noqa: E402
from plugins.metrics.wordnet import load_wordnet  # noqa: E402


def timed(function, *args):
    """(result, CPU seconds of this process): steadier than wall time on a shared machine."""
    start = time.process_time()
    result = function(*args)
    return result, time.process_time() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", type=float, default=10.0, help="required overall speed-up")
    args = parser.parse_args(argv)

    pairs = reply_pairs(args.pairs, seed=args.seed)
    samples = [Sample(str(i), hyp, ref) for i, (hyp, ref) in enumerate(pairs)]
    wordnet, vectors = load_wordnet(), load_vectors()
    wordnet.synsets("warm")  # NLTK finishes loading lazily on first use

    # Straightforward pipeline: tokenize every text once, then each metric.
    slow_times, slow_values = {}, {}
    (hyps, refs), slow_times["tokenize"] = timed(
        lambda: ([tokenize.reference_tokenize(h) for h, _ in pairs],
                 [tokenize.reference_tokenize(r) for _, r in pairs]))
    lengths = [len(t) for t in hyps + refs]
    slow_values["METEOR"], slow_times["meteor"] = timed(reference.meteor, hyps, refs, wordnet)
    slow_values["B-4"], slow_times["bleu"] = timed(reference.bleu, hyps, refs)
    slow_values["R-L"], slow_times["rouge-l"] = timed(reference.rouge_l, hyps, refs)
    slow_values["Extrema"], slow_times["extrema"] = timed(reference.extrema, hyps, refs, vectors)
    distinct_slow, slow_times["distinct"] = timed(
        lambda: {f"D-{n}": reference.distinct(hyps, n) for n in (1, 2, 3)})
    slow_values.update(distinct_slow)

    # escbench: metrics as the runner calls them; tokenization is shared through the memo.
    tokenize._memo.clear()
    fast_meteor_module._stems.clear()
    fast_meteor_module._synonyms.clear()
    fast_times, fast_results = {}, {}
    for name, metric in (("meteor", Meteor()), ("bleu", Bleu()), ("rouge-l", RougeL()),
                         ("extrema", Extrema()), ("distinct", Distinct())):
        fast_results[name], fast_times[name] = timed(metric.compute, samples)

    print(f"{args.pairs} pairs, tokens per text: median {statistics.median(lengths):.0f}, "
          f"mean {statistics.mean(lengths):.1f}")
    print(f"{'CPU seconds':<16}{'reference':>6}{'escbench':>12}{'ratio':>8}   max |diff| "
          f"corpus / per-sample")
    worst = 0.0
    columns = {"meteor": ["METEOR"], "bleu": ["B-4"], "rouge-l": ["R-L"], "extrema": ["Extrema"],
               "distinct": ["D-1", "D-2", "D-3"]}
    for name, names in columns.items():
        corpus_diff = sample_diff = 0.0
        for column in names:
            slow_corpus, slow_per_sample = slow_values[column]
            result = fast_results[name]
            corpus_diff = max(corpus_diff, abs(slow_corpus - result.scores[column]))
            if slow_per_sample is not None:
                sample_diff = max(sample_diff, max(abs(a * 100 - b) for a, b in
                                                   zip(slow_per_sample, result.per_sample[column])))
        worst = max(worst, corpus_diff, sample_diff)
        slow = slow_times[name] + (slow_times["tokenize"] if name == "meteor" else 0.0)
        label = name + (" (+tok)" if name == "meteor" else "")
        print(f"{label:<16}{slow:>6.2f}{fast_times[name]:>12.2f}{slow / fast_times[name]:>8.1f}"
              f"   {corpus_diff:.1e} / {sample_diff:.1e}")
    total_slow, total_fast = sum(slow_times.values()), sum(fast_times.values())
    ratio = total_slow / total_fast
    print(f"{'overall':<16}{total_slow:>6.2f}{total_fast:>12.2f}{ratio:>8.1f}   {worst:.1e}")
    print("(tokenization is counted once on each side: with the first metric, meteor)")
    for column in ("METEOR", "B-4", "R-L", "Extrema", "D-1", "D-2", "D-3"):
        owner = next(n for n, cols in columns.items() if column in cols)
        print(f"  {column:<8} {fast_results[owner].scores[column]:.4f}")
    ok = worst <= 1e-9 and ratio >= args.target
    print("PASS" if ok else f"FAIL (need max |diff| <= 1e-9 and ratio >= {args.target})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
