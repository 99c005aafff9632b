"""Errors a user can hit. Each message names what to fix (file, line, dialogue, plugin, setting).

Tracebacks are for bugs; everything raised from here is printed by the CLI as one clear message.
"""
from __future__ import annotations


class EscbenchError(Exception):
    """Base class of every user-facing escbench error."""


class DataError(EscbenchError):
    """Malformed or invalid input data.

    ``path`` is the file, ``where`` locates the problem inside it (``line 12``,
    ``dialogue 3 (id 'x')``, ``turn 5``), ``problem`` says what is wrong.
    """

    def __init__(self, problem: str, path: str | None = None, where: str | None = None):
        self.problem = problem
        self.path = path
        self.where = where
        location = ", ".join(part for part in (str(path) if path else None, where) if part)
        super().__init__(f"{location}: {problem}" if location else problem)


class UnknownStrategyError(DataError):
    """A strategy name that no alias in the catalog matches."""


class ConfigError(EscbenchError):
    """A bad setting: run file, split YAML, system or metric arguments."""


class UnknownNameError(ConfigError):
    """A system, split or metric name that is not registered; suggests close matches."""

    def __init__(self, kind: str, name: str, known: list[str]):
        import difflib

        self.kind, self.name, self.known = kind, name, known
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        listing = ", ".join(sorted(known)) or "(none registered)"
        super().__init__(f"unknown {kind} {name!r}.{hint} Known {kind}s: {listing}")


class PluginError(EscbenchError):
    """A plugin failed to import or raised while registering."""

    def __init__(self, plugin: str, error: BaseException | str):
        self.plugin = plugin
        self.error = error
        detail = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else error
        super().__init__(f"plugin {plugin!r} failed: {detail}")


class SystemUnavailableError(EscbenchError):
    """A system cannot run: missing model files, unreachable backend, bad arguments."""

    def __init__(self, system: str, problem: str):
        self.system = system
        super().__init__(f"system {system!r}: {problem}")


class MetricUnavailableError(EscbenchError):
    """A metric cannot run here (missing WordNet, vectors, Java, API key...)."""

    def __init__(self, metric: str, problem: str):
        self.metric = metric
        super().__init__(f"metric {metric!r}: {problem}")


class MetricNotApplicableError(EscbenchError):
    """A metric that does not apply to these outputs (e.g. strategy accuracy for a system
    that predicts no strategy). The run records it as skipped, not as a failure."""

    def __init__(self, metric: str, reason: str):
        self.metric = metric
        super().__init__(f"metric {metric!r} skipped: {reason}")


class PluginOutputError(EscbenchError):
    """A plugin's system or metric returned something that breaks its contract (wrong type,
    wrong count, non-finite score). The message names the system or metric and its plugin."""
