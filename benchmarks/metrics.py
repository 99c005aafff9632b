"""Benchmark: escbench's offline metrics against straightforward implementations.

1. In process: scores N (default 10,000) synthetic (hypothesis, reference) pairs of 20-30
   tokens with both, and prints per-metric CPU times, the speed ratio and the largest
   absolute difference of corpus and per-sample values. Resources (WordNet, GloVe) are
   loaded once before timing; escbench's own memo tables start empty.
2. End to end, as a user runs it: ``escbench score FILE --metrics
   meteor,bleu,rouge-l,extrema,distinct`` on M (default 2,775, ESConv's test set) pairs,
   as a subprocess, against ``benchmarks/plain_metrics.py`` (NLTK/numpy/gensim as shipped)
   as a subprocess on the same file: best wall time of R runs each (interleaved), the
   ratio, and each side's peak RSS. escbench's compiled caches are built by an untimed
   first run, as ``escbench setup`` would have.

    .venv/bin/python benchmarks/metrics.py [--pairs 10000] [--e2e-pairs 2775] [--repeats 3]

Exits 1 when a value differs by more than 1e-9, the in-process speed-up is below
--target, or the end-to-end one below --e2e-target, or escbench's peak RSS exceeds the
plain script's.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from escbench.harness.registry import Sample  # noqa: E402
from escbench.plugins.metrics import meteor as fast_meteor_module  # noqa: E402
from escbench.plugins.metrics import reference, tokenize  # noqa: E402
from escbench.plugins.metrics.bleu import Bleu  # noqa: E402
from escbench.plugins.metrics.distinct import Distinct  # noqa: E402
from escbench.plugins.metrics.extrema import Extrema  # noqa: E402
from escbench.plugins.metrics.meteor import Meteor  # noqa: E402
from escbench.plugins.metrics.rouge import RougeL  # noqa: E402
from escbench.plugins.metrics.synthetic import reply_pairs  # noqa: E402
from escbench.plugins.metrics.vectors import load_vectors  # noqa: E402
from escbench.plugins.metrics.wordnet import load_wordnet  # noqa: E402


def timed(function, *args):
    """(result, CPU seconds of this process): steadier than wall time on a shared machine."""
    start = time.process_time()
    result = function(*args)
    return result, time.process_time() - start


ROOT = Path(__file__).resolve().parent.parent
E2E_METRICS = "meteor,bleu,rouge-l,extrema,distinct"


def run_measured(command: list[str]) -> tuple[float, int]:
    """(wall seconds, peak RSS in MB) of one subprocess; raises when it fails."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    error = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{error}")
    return elapsed, usage.ru_maxrss // 1024


def end_to_end(pairs_count: int, seed: int, repeats: int, target: float) -> bool:
    """Time `escbench score` and the plain script as processes; print and check."""
    escbench = str(Path(sys.executable).with_name("escbench"))
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "pairs.jsonl"
        with data.open("w", encoding="utf-8") as handle:
            for i, (hyp, ref) in enumerate(reply_pairs(pairs_count, seed=seed)):
                handle.write(json.dumps({"id": i, "prediction": hyp, "reference": ref}) + "\n")
        ours_out, plain_out = Path(folder) / "ours.json", Path(folder) / "plain.json"
        ours = [escbench, "score", str(data), "--metrics", E2E_METRICS, "--out", str(ours_out)]
        plain = [sys.executable, str(ROOT / "benchmarks" / "plain_metrics.py"), str(data),
                 str(plain_out)]
        run_measured(ours)  # builds the compiled caches if missing (escbench setup's job)
        times = {"escbench": [], "plain": []}
        peaks = {"escbench": 0, "plain": 0}
        for _ in range(repeats):
            for name, command in (("plain", plain), ("escbench", ours)):
                elapsed, peak = run_measured(command)
                times[name].append(elapsed)
                peaks[name] = max(peaks[name], peak)
        ours_scores = json.loads(ours_out.read_text())["scores"]
        plain_scores = json.loads(plain_out.read_text())
    diff = max(abs(ours_scores[k] - plain_scores[k]) for k in plain_scores)
    best_ours, best_plain = min(times["escbench"]), min(times["plain"])
    ratio = best_plain / best_ours
    print(f"end to end, {pairs_count} pairs, {E2E_METRICS} (wall seconds, best of {repeats}; "
          f"load average {os.getloadavg()[0]:.1f})")
    print(f"  plain NLTK/numpy script  {best_plain:6.2f} s  peak RSS {peaks['plain']:5d} MB  "
          f"(runs: {', '.join(f'{t:.2f}' for t in times['plain'])})")
    print(f"  escbench score           {best_ours:6.2f} s  peak RSS {peaks['escbench']:5d} MB  "
          f"(runs: {', '.join(f'{t:.2f}' for t in times['escbench'])})")
    print(f"  end-to-end speed-up {ratio:.1f}x, max |corpus diff| {diff:.1e}\n")
    return diff <= 1e-9 and ratio >= target and peaks["escbench"] <= peaks["plain"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", type=float, default=10.0, help="required overall speed-up")
    parser.add_argument("--e2e-pairs", type=int, default=2775)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--e2e-target", type=float, default=10.0,
                        help="required end-to-end speed-up")
    parser.add_argument("--only", choices=("in-process", "end-to-end"))
    args = parser.parse_args(argv)
    e2e_ok = True
    if args.only != "in-process":
        # First, while this process is small: a child's peak RSS counts the memory it
        # shared with this process between fork and exec.
        e2e_ok = end_to_end(args.e2e_pairs, args.seed, args.repeats, args.e2e_target)
    in_process_ok = True
    if args.only != "end-to-end":
        in_process_ok = in_process(args)
    ok = in_process_ok and e2e_ok
    print("PASS" if ok else f"FAIL (need max |diff| <= 1e-9, ratios >= {args.target} / "
                            f"{args.e2e_target} and escbench's peak RSS <= the plain script's)")
    return 0 if ok else 1


def in_process(args) -> bool:

    pairs = reply_pairs(args.pairs, seed=args.seed)
    samples = [Sample(str(i), hyp, ref) for i, (hyp, ref) in enumerate(pairs)]
    wordnet, vectors = load_wordnet(), load_vectors()
    wordnet.synsets("warm")  # NLTK finishes loading lazily on first use
    vectors.keyed  # noqa: B018  (the plain side's gensim vectors, built before timing)

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
    return worst <= 1e-9 and ratio >= args.target


if __name__ == "__main__":
    sys.exit(main())
