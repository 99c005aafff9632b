"""What plugins register: the System and Metric contracts, and name lookup.

A plugin's ``register_systems`` / ``register_metrics`` hooks return *classes* (or other
callables) with a class attribute ``name``; the runner builds them with the keyword
arguments the user gave (``--system-args`` / ``--metric-args``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable, ClassVar, Protocol, Sequence, runtime_checkable

from .data import Example, Turn
from .errors import ConfigError, UnknownNameError


@dataclass(frozen=True)
class GenerationSettings:
    """Decoding settings shared by every system in a run; recorded in results."""

    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 64
    seed: int = 0
    batch_size: int = 8

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Generation:
    """A system's reply to one example.

    ``text`` is what metrics see; ``predicted_strategy`` is kept apart (students emit
    ``[Strategy] reply``); ``raw`` is the unparsed model output; ``usage`` holds token counts.
    """

    text: str
    predicted_strategy: str | None = None
    raw: str = ""
    usage: dict[str, int] = field(default_factory=dict)


@runtime_checkable
class System(Protocol):
    """A model under evaluation.

    Construction takes the user's keyword arguments and must be cheap; ``prepare`` loads
    models / checks backends and raises :class:`escbench.harness.errors.SystemUnavailableError`
    with the setting to fix; ``generate`` returns one Generation per example, in order.
    ``config`` is a JSON-able dict that identifies the outputs (used as cache key and
    recorded in results).
    """

    name: ClassVar[str]
    description: ClassVar[str]
    # Optional: ``display_name`` (the name tables show, e.g. "ChatPal w/o DRI") and
    # ``paper_order`` (row position in the paper's tables); see :func:`system_display`.

    def config(self) -> dict[str, Any]: ...

    def prepare(self) -> None: ...

    def generate(
        self, examples: Sequence[Example], settings: GenerationSettings
    ) -> list[Generation]: ...


def system_display(system: Any) -> dict[str, Any]:
    """``{"display_name", "paper_order"}`` a System class (or instance) declares; the name and
    None when it declares none. Recorded in results so leaderboards need no plugin import."""
    order = getattr(system, "paper_order", None)
    return {"display_name": getattr(system, "display_name", None) or system.name,
            "paper_order": order if isinstance(order, int) and not isinstance(order, bool) else None}


@dataclass(frozen=True)
class Sample:
    """One scored unit: a prediction next to its reference (and optional strategies)."""

    id: str
    prediction: str
    reference: str
    strategy: str | None = None
    predicted_strategy: str | None = None
    context: tuple[Turn, ...] = ()


@dataclass
class MetricResult:
    """Corpus-level scores (column name -> value, on the paper's scale, e.g. x100) and,
    optionally, per-sample values (column name -> list aligned with the samples)."""

    scores: dict[str, float]
    per_sample: dict[str, list[float | None]] = field(default_factory=dict)


@runtime_checkable
class Metric(Protocol):
    """A metric: ``compute`` scores a whole corpus of samples at once.

    ``columns`` lists the score names it reports (e.g. ``["D-2", "D-3"]``);
    ``higher_is_better`` applies to all of them. Raise
    :class:`escbench.harness.errors.MetricUnavailableError` when a resource is missing.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    columns: ClassVar[Sequence[str]]
    higher_is_better: ClassVar[bool]

    def compute(self, samples: Sequence[Sample]) -> MetricResult: ...


class Registry:
    """Name -> (class, plugin name) for one kind of thing; lookup suggests close names.

    ``refuse(name, reason)`` marks a name no plugin may provide (e.g. two third-party plugins
    claimed it); looking it up raises :class:`ConfigError` with that reason."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, tuple[Any, str]] = {}
        self._refused: dict[str, str] = {}

    def add(self, item: Any, plugin: str) -> None:
        name = getattr(item, "name", None)
        if not isinstance(name, str) or not name:
            raise TypeError(f"{self.kind} {item!r} from plugin {plugin!r} has no 'name'")
        if name in self._entries and self._entries[name][1] != plugin:
            raise ValueError(
                f"{self.kind} {name!r} from plugin {plugin!r} is already registered by "
                f"plugin {self._entries[name][1]!r}"
            )
        self._entries[name] = (item, plugin)

    def refuse(self, name: str, reason: str) -> None:
        self._refused[name] = reason

    def get(self, name: str) -> Any:
        try:
            return self._entries[name][0]
        except KeyError:
            if name in self._refused:
                raise ConfigError(f"{self.kind} {name!r} cannot be used: {self._refused[name]}") from None
            raise UnknownNameError(self.kind, name, list(self._entries)) from None

    def plugin_of(self, name: str) -> str:
        return self._entries[name][1]

    def names(self) -> list[str]:
        return list(self._entries)

    def items(self) -> list[tuple[str, Any, str]]:
        return [(name, item, plugin) for name, (item, plugin) in self._entries.items()]

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)


@dataclass
class Resolution:
    """What :func:`resolve_claims` decided: ``chosen`` name -> (item, plugin); ``problems``
    (plugin, message) for every refused claim; ``refused`` name -> reason for names nobody gets."""

    chosen: dict[str, tuple[Any, str]] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


def resolve_claims(
    kind: str, claims: dict[str, list[tuple[Any, str]]], is_builtin: Callable[[str], bool],
) -> Resolution:
    """Decide who gets each name, independent of load order.

    A built-in plugin's name can never be taken over: a third-party claim on it is refused and
    named, the built-in kept. Two or more third-party plugins claiming one name: none is used,
    each is named with the fix (block one). A plugin claiming a name twice counts once.
    """
    out = Resolution()
    for name, entries in claims.items():
        seen: dict[str, Any] = {}
        for item, plugin in entries:
            seen.setdefault(plugin, item)
        builtins = [p for p in seen if is_builtin(p)]
        others = [p for p in seen if not is_builtin(p)]
        if builtins:
            owner = builtins[0]
            out.chosen[name] = (seen[owner], owner)
            for plugin in builtins[1:] + others:
                out.problems.append((plugin, (
                    f"{kind} {name!r} is provided by escbench's built-in plugin {owner!r} and cannot "
                    f"be replaced: the {kind} {name!r} of plugin {plugin!r} is ignored (give it another name)")))
        elif len(others) == 1:
            out.chosen[name] = (seen[others[0]], others[0])
        else:
            ordered = sorted(others)
            listing = " and ".join(repr(p) for p in ordered)
            reason = (f"plugins {listing} both register {kind} {name!r}, so neither is used: block one, "
                      f"e.g. ESCBENCH_BLOCK_PLUGINS={ordered[-1]}")
            out.refused[name] = reason
            out.problems.extend((plugin, reason) for plugin in others)
    return out
