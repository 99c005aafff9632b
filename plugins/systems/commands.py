"""``escbench serve``: any registered system (or a local model) behind an OpenAI-compatible
``/v1/chat/completions`` endpoint on localhost, via the ``register_commands`` hook.

Examples::

    escbench serve --system llama --port 8011            # the embedded SmolLM2 as "llama"
    escbench serve --system chatpal --system-args adapter=runs/chatpal-lora
    escbench serve --model smollm2 --served-name teacher  # a raw model: messages as sent

Then point ``chatgpt``/``ask-expert`` (or the teacher pipeline, or lm-eval's
``local-chat-completions``) at ``http://127.0.0.1:8011/v1`` with ``model`` set to the served
name. The first line on stdout is ``escbench serve: NAME at URL`` once the server listens.
"""
from __future__ import annotations

import argparse
import ipaddress
import signal
import sys

from escbench.harness import hookimpl


@hookimpl
def register_commands(commands):
    commands.add("serve", "serve a system or local model through an OpenAI-compatible /v1/chat/completions endpoint",
                 configure_serve, run_serve)


def configure_serve(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--system", help="registered system to serve (see `escbench list systems`)")
    what.add_argument("--model", help="local model to serve as is: smollm2, a model folder or a .gguf file")
    parser.add_argument("--system-args", action="append", default=[], metavar="K=V[,K=V]",
                        help="keyword arguments for the system (as in `escbench run`)")
    parser.add_argument("--adapter", help="with --model: a PEFT adapter folder to apply")
    parser.add_argument("--served-name", help="model name clients must send (default: the system or model name)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8011, help="port (default: 8011; 0 picks a free one)")
    parser.add_argument("--max-batch", type=int, default=8, help="most requests answered in one batch (default: 8)")
    parser.add_argument("--batch-wait-ms", type=float, default=10.0,
                        help="how long to wait for more requests to batch with the first (default: 10)")
    parser.add_argument("--max-tokens", type=int, default=64, help="reply length when a request sets none (default: 64)")
    parser.add_argument("--repetition-penalty", type=float, default=1.0,
                        help="with --model: transformers' repetition penalty on every reply (default 1.0: off; "
                        "e.g. 1.3 keeps a small model from looping inside a long answer)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")


def _responder_and_name(args: argparse.Namespace):
    from escbench.harness.errors import ConfigError
    from escbench.harness.serve import backend_responder, system_responder

    if args.model:
        from escbench.harness.backends.hf import HFBackend

        backend = HFBackend(model=args.model, adapter=args.adapter,
                            repetition_penalty=args.repetition_penalty).load()
        return backend_responder(backend), args.served_name or args.model
    if args.adapter:
        raise ConfigError("--adapter goes with --model; for a system pass --system-args adapter=PATH")
    if args.repetition_penalty != 1.0:
        raise ConfigError("--repetition-penalty goes with --model (a system decodes with its own settings)")
    from escbench.harness.cli import parse_assignments
    from escbench.harness.plugins import get_host

    cls = get_host().systems.get(args.system)
    kwargs = parse_assignments(args.system_args, [args.system], "--system-args")[args.system]
    try:
        system = cls(**kwargs)
    except TypeError as error:
        raise ConfigError(f"system {args.system!r}: bad --system-args {kwargs}: {error}") from None
    system.prepare()
    return system_responder(system), args.served_name or args.system


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def run_serve(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM; returns 0 then."""
    from escbench.harness.serve import ChatServer

    responder, served_name = _responder_and_name(args)
    if not _is_loopback(args.host):
        print(f"warning: listening on {args.host}: the endpoint has no authentication", file=sys.stderr)
    server = ChatServer(responder, served_name, host=args.host, port=args.port, max_batch=args.max_batch,
                        batch_wait_s=args.batch_wait_ms / 1000, default_max_tokens=args.max_tokens,
                        verbose=args.verbose)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(f"escbench serve: {served_name} at {server.url} (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    print("escbench serve: stopped", file=sys.stderr)
    return 0
