"""Interactive splits: YAML files in ``tasks/interactive`` that name the role cards to play.

Schema (``split`` and one of ``cards`` / ``from_split`` are required)::

    split: seed_interactive        # the name given to `escbench interact --split`
    kind: interactive
    description: one line
    cards: cards/seed.jsonl        # role cards (JSONL, relative to this YAML), or
    from_split: seed               # any split's selected (test) dialogues become role cards
    max_turns: 4                   # system replies per conversation (default 4)
    limit: null                    # first N cards
    # only read by `escbench run` (escbench interact takes them as flags):
    simulator: {model: gpt-4o-mini, base_url: null, api_key_env: OPENAI_API_KEY, temperature: 0, max_tokens: 256}
    judge: {model: gpt-4o, base_url: null, api_key_env: OPENAI_API_KEY, max_tokens: 200}  # null: no judge

``--split`` may also name any ordinary split: its dialogues become cards, the split is called
``NAME-interactive``. ConfigError names the file and key for a bad spec.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from escbench.harness.errors import ConfigError
from escbench.harness.paths import TASKS_DIR

from .cards import RoleCard, cards_from_dialogues, read_cards

SPECS_DIR = TASKS_DIR / "interactive"
KEYS = {"split", "kind", "description", "cards", "from_split", "max_turns", "limit", "simulator", "judge"}
SIMULATOR_KEYS = {"model", "base_url", "api_key_env", "temperature", "max_tokens"}
JUDGE_KEYS = {"model", "base_url", "api_key_env", "max_tokens"}
DEFAULT_MAX_TURNS = 4


@dataclass
class InteractiveSpec:
    name: str
    path: Path | None
    description: str = ""
    cards: Path | None = None
    from_split: str | None = None
    max_turns: int = DEFAULT_MAX_TURNS
    limit: int | None = None
    simulator: dict | None = None
    judge: dict | None = None

    def to_dict(self) -> dict:
        return {"split": self.name, "kind": "interactive", "yaml": str(self.path) if self.path else None,
                "description": self.description, "cards": str(self.cards) if self.cards else None,
                "from_split": self.from_split, "max_turns": self.max_turns, "limit": self.limit,
                "simulator": self.simulator, "judge": self.judge}


def _positive(raw: dict, key: str, path: Path, default):
    value = raw.get(key, default)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ConfigError(f"{path}: {key} must be a whole number >= 1, got {value!r}")
    return value


def read_interactive_spec(path: Path) -> InteractiveSpec:
    import yaml

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: cannot read interactive split YAML: {error}") from None
    if not isinstance(raw, dict) or "split" not in raw:
        raise ConfigError(f"{path}: an interactive split YAML needs a 'split' key")
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {unknown}; allowed: {sorted(KEYS)}")
    if raw.get("kind", "interactive") != "interactive":
        raise ConfigError(f"{path}: kind must be 'interactive', got {raw['kind']!r}")
    if bool(raw.get("cards")) == bool(raw.get("from_split")):
        raise ConfigError(f"{path}: give exactly one of 'cards' (a role-card file) and 'from_split' (a split name)")
    for key, allowed in (("simulator", SIMULATOR_KEYS), ("judge", JUDGE_KEYS)):
        value = raw.get(key)
        if value is not None and (not isinstance(value, dict) or set(value) - allowed):
            raise ConfigError(f"{path}: {key} must be a mapping with keys among {sorted(allowed)}, got {value!r}")
    cards = Path(raw["cards"]) if raw.get("cards") else None
    if cards is not None and not cards.is_absolute():
        cards = path.parent / cards
    return InteractiveSpec(name=str(raw["split"]), path=path, description=str(raw.get("description") or ""),
                           cards=cards, from_split=raw.get("from_split"),
                           max_turns=_positive(raw, "max_turns", path, DEFAULT_MAX_TURNS),
                           limit=_positive(raw, "limit", path, None), simulator=raw.get("simulator"),
                           judge=raw.get("judge"))


def shipped_specs() -> dict[str, Path]:
    """Interactive split name -> YAML, for the files in :data:`SPECS_DIR`."""
    import yaml

    out = {}
    for path in sorted(SPECS_DIR.glob("*.yaml")):
        try:
            out[str((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("split") or path.stem)] = path
        except (OSError, yaml.YAMLError, AttributeError):
            out[path.stem] = path
    return out


def resolve_spec(name: str, host) -> InteractiveSpec:
    """The spec ``name`` means: a YAML path, a shipped interactive split, or an ordinary split."""
    as_path = Path(name)
    if as_path.suffix in (".yaml", ".yml") and as_path.exists():
        return read_interactive_spec(as_path)
    shipped = shipped_specs()
    if name in shipped:
        return read_interactive_spec(shipped[name])
    from escbench.harness.runner import find_split

    find_split(host, name)  # UnknownNameError listing the ordinary splits when it is none
    return InteractiveSpec(name=f"{name}-interactive", path=None, from_split=name)


def load_cards(spec: InteractiveSpec, host, limit: int | None = None) -> tuple[list[RoleCard], Path]:
    """The spec's cards (first ``limit``, else the spec's limit) and the file they came from."""
    if spec.cards is not None:
        cards, source = read_cards(spec.cards), spec.cards
    else:
        from escbench.harness.runner import find_split
        from escbench.harness.splits import load_split, read_split_spec

        data = load_split(read_split_spec(find_split(host, spec.from_split)))
        cards, source = cards_from_dialogues(data.dialogues), data.source_path
        if not cards:
            raise ConfigError(f"split {spec.from_split!r}: no dialogue opens with a seeker turn, so no role cards")
    cap = limit if limit is not None else spec.limit
    return (cards[:cap] if cap else cards), source
