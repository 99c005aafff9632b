"""Strategy and scene catalogs from ``tasks/catalogs`` and name normalisation against them.

A catalog accepts a name, its abbreviation or any listed alias, ignoring case, spacing,
punctuation and ``&``/``and``; anything else raises :class:`UnknownStrategyError`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from .errors import ConfigError, UnknownStrategyError
from .paths import CATALOGS_DIR


def _key(name: str) -> str:
    lowered = name.lower().replace("&", " and ")
    return re.sub(r"[^a-z0-9+]+", "", lowered)


@dataclass(frozen=True)
class Strategy:
    name: str
    abbreviation: str
    definition: str
    aliases: tuple[str, ...] = ()


class StrategyCatalog:
    """An ordered set of strategies with tolerant lookup."""

    def __init__(self, name: str, strategies: list[Strategy], source: str = ""):
        self.name = name
        self.strategies = strategies
        self.source = source
        self._lookup: dict[str, str] = {}
        for strategy in strategies:
            for spelling in (strategy.name, strategy.abbreviation, *strategy.aliases):
                self._lookup.setdefault(_key(spelling), strategy.name)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.strategies]

    def abbreviation(self, name: str) -> str:
        return self[name].abbreviation

    def __getitem__(self, name: str) -> Strategy:
        canonical = self.normalize(name)
        return next(s for s in self.strategies if s.name == canonical)

    def __contains__(self, name: str) -> bool:
        return _key(name) in self._lookup

    def normalize(self, name: str) -> str:
        """Canonical name for ``name``; raises :class:`UnknownStrategyError` if none matches."""
        try:
            return self._lookup[_key(name)]
        except KeyError:
            raise UnknownStrategyError(
                f"unknown strategy {name!r} (catalog {self.name!r} knows: {', '.join(self.names)})"
            ) from None


def _read_yaml(path: Path) -> dict:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: cannot read catalog: {error}") from None


@cache
def load_strategy_catalog(name_or_path: str = "extes") -> StrategyCatalog:
    """Load ``tasks/catalogs/strategies-NAME.yaml`` (``extes`` or ``esconv``) or a YAML path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = CATALOGS_DIR / f"strategies-{name_or_path}.yaml"
    if not path.exists():
        raise ConfigError(f"strategy catalog {name_or_path!r} not found (looked for {path})")
    raw = _read_yaml(path)
    strategies = [
        Strategy(
            name=item["name"],
            abbreviation=item.get("abbreviation", item["name"]),
            definition=item.get("definition", ""),
            aliases=tuple(item.get("aliases", ())),
        )
        for item in raw["strategies"]
    ]
    return StrategyCatalog(raw.get("catalog", path.stem), strategies, str(path))


@dataclass(frozen=True)
class Scene:
    name: str
    description: str
    dialogues: int = 0


@cache
def load_scenes(path: str | None = None) -> tuple[Scene, ...]:
    """The 36 ExTES scenes (or those of another scene catalog YAML)."""
    catalog_path = Path(path) if path else CATALOGS_DIR / "scenes-extes.yaml"
    raw = _read_yaml(catalog_path)
    return tuple(
        Scene(item["name"], item.get("description", ""), int(item.get("dialogues", 0)))
        for item in raw["scenes"]
    )


def normalize_scene(name: str, scenes: tuple[Scene, ...] | None = None) -> str | None:
    """Canonical scene name for ``name`` (case/punctuation-insensitive), or None if unknown."""
    wanted = _key(name)
    for scene in scenes or load_scenes():
        if _key(scene.name) == wanted:
            return scene.name
    return None


@cache
def esconv_covered_scenes() -> dict[str, str]:
    """ESConv problem type -> the ExTES scene it corresponds to (``esconv-topics.yaml``)."""
    raw = _read_yaml(CATALOGS_DIR / "esconv-topics.yaml")
    return dict(raw["esconv_problem_types"])
