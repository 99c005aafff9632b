"""Token usage totals and their estimated cost from a price table (``tasks/teacher/prices.yaml``).

The table maps model names to prices per ``per_tokens`` prompt and completion tokens; a model
is matched exactly, else by the longest listed name its name starts with. An unlisted model
has no estimate (``cost`` is None) rather than a guessed one.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from escbench.harness.errors import ConfigError
from escbench.harness.paths import TASKS_DIR

DEFAULT_PRICES = TASKS_DIR / "teacher" / "prices.yaml"


@dataclass(frozen=True)
class Price:
    prompt: float
    completion: float


class PriceTable:
    """Prices per ``per_tokens`` tokens, by model name (see module doc)."""

    def __init__(self, prices: dict[str, Price], per_tokens: float = 1e6, currency: str = "USD", source: str = ""):
        self.prices, self.per_tokens, self.currency, self.source = prices, per_tokens, currency, source

    @classmethod
    def load(cls, path: str | Path | None = None) -> "PriceTable":
        """Read a price YAML; ConfigError naming the file and entry when it is malformed."""
        path = Path(path) if path else DEFAULT_PRICES
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            raise ConfigError(f"{path}: cannot read the price table: {error}") from None
        prices = {}
        for model, entry in (raw.get("models") or {}).items():
            try:
                prices[str(model)] = Price(float(entry["prompt"]), float(entry["completion"]))
            except (TypeError, KeyError, ValueError):
                raise ConfigError(f"{path}: model {model!r} needs numeric 'prompt' and 'completion' "
                                  f"prices, got {entry!r}") from None
        per_tokens = float(raw.get("per_tokens", 1e6))
        if per_tokens <= 0:
            raise ConfigError(f"{path}: per_tokens must be > 0, got {per_tokens!r}")
        return cls(prices, per_tokens, str(raw.get("currency", "USD")), str(path))

    def price_of(self, model: str) -> Price | None:
        if model in self.prices:
            return self.prices[model]
        prefixes = [name for name in self.prices if model.startswith(name)]
        return self.prices[max(prefixes, key=len)] if prefixes else None

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
        price = self.price_of(model)
        if price is None:
            return None
        return (prompt_tokens * price.prompt + completion_tokens * price.completion) / self.per_tokens


@dataclass
class Usage:
    """What a run spent: HTTP requests sent (retries included), results taken from the journal,
    requests that failed for good, tokens, and the estimated cost (None: model not priced).
    ``unknown_usage`` counts answers whose token counts the server did not give as numbers:
    their tokens are unknown (not 0), so ``tokens`` and ``cost`` are then lower bounds."""

    requests_sent: int = 0
    retries: int = 0
    from_journal: int = 0
    completed: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = 0.0
    currency: str = "USD"
    unknown_usage: int = 0

    def add_tokens(self, usage: dict) -> None:
        counts = [usage.get("prompt_tokens"), usage.get("completion_tokens")]
        if not all(isinstance(count, int) and not isinstance(count, bool) for count in counts):
            self.unknown_usage += 1
        self.prompt_tokens += counts[0] if isinstance(counts[0], int) else 0
        self.completion_tokens += counts[1] if isinstance(counts[1], int) else 0

    def price(self, table: PriceTable, model: str) -> None:
        self.cost = table.cost(model, self.prompt_tokens, self.completion_tokens)
        self.currency = table.currency

    def merged(self, other: "Usage") -> "Usage":
        total = Usage(**{name: getattr(self, name) + getattr(other, name)
                         for name in ("requests_sent", "retries", "from_journal", "completed", "failed",
                                      "prompt_tokens", "completion_tokens", "unknown_usage")})
        total.cost = None if self.cost is None or other.cost is None else self.cost + other.cost
        total.currency = self.currency
        return total

    def to_dict(self) -> dict:
        return asdict(self)
