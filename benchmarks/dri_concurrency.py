"""DRI teacher throughput at several concurrency levels against a scripted server with fixed latency.

    .venv/bin/python benchmarks/dri_concurrency.py                 # 500 requests, 100 ms, c = 1 and 32
    .venv/bin/python benchmarks/dri_concurrency.py --concurrency 1,8,32 --rpm 6000
    .venv/bin/python benchmarks/dri_concurrency.py --transport httpx   # the SDK's default HTTP layer

The scripted OpenAI-compatible server (tests/fake_openai_server.py) runs in its own process
and answers every request after ``--latency`` seconds. Each level sends the same real DRI
prompts (built from the seed dialogues) through :class:`escbench.plugins.chatpal.teacher.Teacher` with
a fresh journal. The table gives throughput, the ratio to the concurrency-1 run measured in
this same run, and the target min(rpm/60, concurrency/latency) with the measured share of it
(the issue asks for 90% or more).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def dri_requests(count: int, k: int = 4):
    from escbench.harness.loaders import load_dialogues
    from escbench.plugins.chatpal.dri import choose_turns
    from escbench.plugins.chatpal.prompts import load_template, transcript
    from escbench.plugins.chatpal.teacher import TeacherRequest

    template = load_template("tasks/prompts/dri")
    turns = choose_turns(load_dialogues(REPO / "tasks/seed/seed_dialogues.json").dialogues, 1.0, seed=0)
    if len(turns) < count:
        turns = (turns * (count // len(turns) + 1))
    return [TeacherRequest(template.messages(k=str(k), dialogue=transcript(d.turns, masked_index=i)), sample=n)
            for n, (d, i) in enumerate(turns[:count])]


def measure(url: str, requests, concurrency: int, rpm: float | None, transport: str = "auto") -> tuple[float, int]:
    """Seconds for ``requests`` at ``concurrency`` (fresh journal; one warm-up request first)."""
    from escbench.harness.backends.openai import OpenAIBackend
    from escbench.plugins.chatpal.journal import Journal
    from escbench.plugins.chatpal.teacher import Teacher, TeacherRequest, TeacherSettings

    with tempfile.TemporaryDirectory() as folder, Journal(Path(folder) / "journal.jsonl") as journal:
        teacher = Teacher(OpenAIBackend("teacher", base_url=url, concurrency=concurrency, max_retries=3,
                                       transport=transport),
                          journal, TeacherSettings(max_tokens=256), rpm=rpm)
        teacher.run([TeacherRequest([{"role": "user", "content": "warm-up"}], sample="warm-up")])
        started = time.perf_counter()
        replies = teacher.run(requests)
        elapsed = time.perf_counter() - started
    return elapsed, sum(1 for reply in replies if reply.error is None and reply.text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.1, help="server latency in seconds (default: 0.1)")
    parser.add_argument("--concurrency", default="1,32", help="comma-separated levels; 1 is the baseline (default: 1,32)")
    parser.add_argument("--rpm", type=float, help="requests-per-minute limit for every level (default: none)")
    parser.add_argument("--transport", default="auto", choices=["auto", "aiohttp", "httpx"],
                        help="the openai SDK's HTTP layer (default: auto, i.e. aiohttp when installed)")
    options = parser.parse_args()
    levels = sorted({int(c) for c in options.concurrency.split(",")} | {1})
    server = subprocess.Popen([sys.executable, str(REPO / "tests" / "fake_openai_server.py"),
                               "--latency", str(options.latency)], stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().strip()
        requests = dri_requests(options.requests)
        print(f"{len(requests)} DRI requests, server latency {options.latency * 1000:.0f} ms, "
              f"rpm limit {options.rpm or 'none'}, transport {options.transport}")
        print(f"{'concurrency':>11} {'seconds':>8} {'req/s':>8} {'vs c=1':>7} {'target':>8} {'of target':>9} {'answered':>9}")
        baseline = None
        for level in levels:
            elapsed, answered = measure(url, requests, level, options.rpm, options.transport)
            rate = len(requests) / elapsed
            baseline = baseline or rate
            target = min(level / options.latency, options.rpm / 60 if options.rpm else float("inf"))
            print(f"{level:>11} {elapsed:>8.2f} {rate:>8.1f} {rate / baseline:>6.1f}x {target:>8.1f} "
                  f"{100 * rate / target:>8.0f}% {answered:>9}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
