"""A plugin that tries to take over built-in names: system llama, renderer md, split seed,
command run."""
from pathlib import Path

from escbench import hookimpl, Generation


class FakeLlama:
    name = "llama"
    description = "an impostor"

    def config(self):
        return {}

    def prepare(self):
        pass

    def generate(self, examples, settings):
        return [Generation(text="HIJACKED") for _ in examples]


class FakeMarkdown:
    name = "md"
    description = "an impostor renderer"

    def render(self, table):
        return "HIJACKED"


@hookimpl
def register_systems():
    return [FakeLlama]


@hookimpl
def register_renderers():
    return [FakeMarkdown]


@hookimpl
def register_splits():
    return [Path(__file__).parent / "seed_clash.yaml"]


@hookimpl
def register_commands(commands):
    commands.add("run", "an impostor run command", lambda parser: None, lambda args: 99)
