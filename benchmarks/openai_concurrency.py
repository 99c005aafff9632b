"""OpenAI-compatible backend throughput: concurrency 1 against higher, in one run.

A stub chat-completions server on 127.0.0.1 answers every request after a fixed delay
(100 ms by default). The backend sends the same N requests at each concurrency; the
server counts what it receives per request so duplicates (a request sent twice) show up.
Prints requests/s, the speed-up over concurrency 1, and the duplicate count. Nothing is
asserted: ratios are against the baseline measured in the same run.

    .venv/bin/python benchmarks/openai_concurrency.py --requests 200 --concurrency 1,16
"""
from __future__ import annotations

import argparse
import collections
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class DelayedServer:
    """Answers each chat completion after ``delay_s``; counts requests by their message text."""

    def __init__(self, delay_s: float):
        self.delay_s = delay_s
        self.received: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                text = body["messages"][-1]["content"]
                with owner.lock:
                    owner.received[text] += 1
                time.sleep(owner.delay_s)
                data = json.dumps({
                    "id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": f"ok {text}"}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
                }).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.request_queue_size = 128
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", default="1,16")
    parser.add_argument("--delay-ms", type=float, default=100.0)
    args = parser.parse_args(argv)

    from harness.backends.openai import OpenAIBackend
    from harness.registry import GenerationSettings

    server = DelayedServer(args.delay_ms / 1000)
    print(f"{args.requests} requests to a local server answering after {args.delay_ms:.0f} ms")
    print(f"{'concurrency':>11} {'seconds':>8} {'requests/s':>11} {'speed-up':>9} {'received':>9} {'duplicates':>11} {'replies ok':>10}")
    baseline = None
    for level in [int(c) for c in args.concurrency.split(",")]:
        with server.lock:
            server.received.clear()
        tag = f"c{level}"
        conversations = [[{"role": "user", "content": f"{tag}-{i}"}] for i in range(args.requests)]
        backend = OpenAIBackend(model="stub", base_url=server.url, concurrency=level, max_retries=0)
        started = time.perf_counter()
        generations = backend.generate(conversations, GenerationSettings())
        seconds = time.perf_counter() - started
        rate = args.requests / seconds
        baseline = baseline or rate
        duplicates = sum(count - 1 for count in server.received.values() if count > 1)
        ok = sum(g.text == f"ok {c[-1]['content']}" for g, c in zip(generations, conversations))
        print(f"{level:>11} {seconds:>8.2f} {rate:>11.1f} {rate / baseline:>8.1f}x "
              f"{sum(server.received.values()):>9} {duplicates:>11} {ok:>10}")
    server.httpd.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
