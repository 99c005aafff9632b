"""Built-in systems, registered through the ``escbench`` entry-point group like any plugin."""
from __future__ import annotations

import time

from escbench.harness import hookimpl

from .commands import register_commands  # noqa: F401  (the `escbench serve` command)

EMBEDDED_RESOURCE = "SmolLM2-135M-Instruct"


@hookimpl
def register_systems():
    from .ask_expert import AskExpertSystem
    from .chatgpt import ChatGPTSystem
    from .llama import LlamaSystem
    return [LlamaSystem, ChatGPTSystem, AskExpertSystem]


@hookimpl
def setup_resources(force):
    """Convert the embedded SmolLM2 GGUF into the model cache (once; again with ``force``)."""
    from escbench.harness.models import embedded_gguf, embedded_model_dir, is_converted, resolve_model

    present = not force and is_converted(embedded_model_dir(), embedded_gguf())
    started = time.perf_counter()
    path = resolve_model("smollm2", force=force)
    how = "already present" if present else f"converted in {time.perf_counter() - started:.1f} s"
    return [(EMBEDDED_RESOURCE, f"{path} ({how})")]
