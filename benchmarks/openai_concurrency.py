"""OpenAI-compatible backend throughput: concurrency 1 against higher, in one run.

The scripted chat-completions server of the tests (tests/scripted_openai.py) answers every
request after a fixed delay (100 ms by default). The backend sends the same N requests at each concurrency; the
server counts what it receives per request so duplicates (a request sent twice) show up.
Prints requests/s, the speed-up over concurrency 1, and the duplicate count. Nothing is
asserted: ratios are against the baseline measured in the same run.

    .venv/bin/python benchmarks/openai_concurrency.py --requests 200 --concurrency 1,16
"""
from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", default="1,16")
    parser.add_argument("--delay-ms", type=float, default=100.0)
    args = parser.parse_args(argv)

    from escbench.harness.backends.openai import OpenAIBackend
    from escbench.harness.registry import GenerationSettings
    from scripted_openai import Reply, ScriptedServer

    def delayed(number: int, body: dict) -> Reply:
        return Reply(delay_s=args.delay_ms / 1000, content=f"ok {body['messages'][-1]['content']}")

    levels = [int(c) for c in args.concurrency.split(",")]
    server = ScriptedServer(delayed, models=None, max_requests=args.requests * len(levels)).__enter__()
    print(f"{args.requests} requests to a local server answering after {args.delay_ms:.0f} ms")
    print(f"{'concurrency':>11} {'seconds':>8} {'requests/s':>11} {'speed-up':>9} {'received':>9} {'duplicates':>11} {'replies ok':>10}")
    baseline = None
    for level in levels:
        first = server.requests
        tag = f"c{level}"
        conversations = [[{"role": "user", "content": f"{tag}-{i}"}] for i in range(args.requests)]
        backend = OpenAIBackend(model="stub", base_url=server.url, concurrency=level, max_retries=0)
        started = time.perf_counter()
        generations = backend.generate(conversations, GenerationSettings())
        seconds = time.perf_counter() - started
        rate = args.requests / seconds
        baseline = baseline or rate
        received = collections.Counter(body["messages"][-1]["content"] for body in server.bodies[first:])
        duplicates = sum(count - 1 for count in received.values() if count > 1)
        ok = sum(g.text == f"ok {c[-1]['content']}" for g, c in zip(generations, conversations))
        print(f"{level:>11} {seconds:>8.2f} {rate:>11.1f} {rate / baseline:>8.1f}x "
              f"{sum(received.values()):>9} {duplicates:>11} {ok:>10}")
    server.__exit__(None, None, None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
