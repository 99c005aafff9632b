"""Commands that plugins add (``register_commands``), with the same name rules as systems:
a built-in command cannot be replaced, two third-party plugins claiming one name both lose it,
and a plugin whose ``configure`` raises is reported and left out, without breaking the others."""
from __future__ import annotations

import argparse
from typing import Any, Callable


class _CommandClaims:
    """Stands in for the CLI's registrar while plugins register commands: records who claims
    which name, so names can be decided before anything is added to the parser."""

    def __init__(self):
        self.plugin = ""
        self.claims: dict[str, list[tuple[Any, str]]] = {}

    def add(self, name: str, help: str, configure: Callable, run: Callable[[argparse.Namespace], int]) -> None:
        self.claims.setdefault(name, []).append(((help, configure, run), self.plugin))


def add_plugin_commands(host: Any, commands: Any) -> None:
    """Call every plugin's ``register_commands`` and add the commands that may be added to
    ``commands`` (a :class:`escbench.harness.cli.CommandRegistrar` already holding the core commands)."""
    from .registry import resolve_claims

    claims = _CommandClaims()
    for name in commands.subparsers.choices:  # the core commands belong to escbench itself
        claims.claims[name] = [(None, "escbench")]

    def started(plugin: str) -> None:
        claims.plugin = plugin

    for _ in host.call_each("register_commands", commands=claims, on_start=started, include_none=True):
        pass
    decided = resolve_claims("command", claims.claims, lambda p: p == "escbench" or host.is_builtin(p))
    for plugin, message in decided.problems:
        host._fail(plugin, "register_commands", message)
    for name, (spec, plugin) in decided.chosen.items():
        if spec is None:
            continue
        help, configure, run = spec
        try:
            configure(argparse.ArgumentParser(prog=name))  # a configure that raises must not half-add it
        except Exception as error:
            host._fail(plugin, "register_commands", f"command {name!r}: configure raised {type(error).__name__}: {error}")
            continue
        commands.add(name, help, configure, run)
