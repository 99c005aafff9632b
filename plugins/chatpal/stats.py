"""Dataset analyses of the ChatPal paper for any dialogue file escbench reads (``escbench stats``).

- Table 1: how often each strategy labels a supporter turn, and its share of labelled turns.
- Table 2: dialogues, utterances, utterances per dialogue, words per utterance (whitespace
  tokens), strategies used, scenarios present.
- Table 10: dialogues per scene and their share.
- Table 9: the most frequent strategy transitions of 3, 4 and 5 hops. Per dialogue, the
  labelled supporter turns' strategies are taken in order and runs of the same strategy merged
  into one; every window of h consecutive strategies is one h-hop transition, and a
  transition's proportion is its count over all h-hop windows in the dataset.
- Figure 3: for a dialogue with N supporter turns, turn k (from 1) is in phase ceil(4k/N) of
  four; the table gives, per phase, each strategy's share of the labelled turns in it.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

from escbench.harness.catalogs import StrategyCatalog
from escbench.harness.data import Dialogue

from .tables import SimpleTable

HOPS = (3, 4, 5)
PHASES = 4


@dataclass
class DatasetStats:
    dialogues: int = 0
    utterances: int = 0
    words: int = 0
    strategy_counts: Counter = field(default_factory=Counter)
    scene_counts: Counter = field(default_factory=Counter)
    transitions: dict[int, Counter] = field(default_factory=dict)
    phases: list[Counter] = field(default_factory=list)


def merged_strategies(dialogue: Dialogue) -> list[str]:
    """Strategies of the labelled supporter turns, in order, with adjacent repeats merged."""
    merged: list[str] = []
    for turn in dialogue.turns:
        if turn.role == "ai" and turn.strategy and (not merged or merged[-1] != turn.strategy):
            merged.append(turn.strategy)
    return merged


def phase_of(k: int, n: int, phases: int = PHASES) -> int:
    """Phase (0-based) of the k-th of n supporter turns (k from 1): ceil(phases * k / n) - 1."""
    return min(phases, math.ceil(phases * k / n)) - 1


def compute_stats(dialogues: Sequence[Dialogue], hops: Sequence[int] = HOPS, phases: int = PHASES) -> DatasetStats:
    stats = DatasetStats(transitions={h: Counter() for h in hops}, phases=[Counter() for _ in range(phases)])
    for dialogue in dialogues:
        stats.dialogues += 1
        stats.utterances += len(dialogue.turns)
        stats.words += sum(len(turn.text.split()) for turn in dialogue.turns)
        stats.scene_counts[dialogue.scene or "(no scene)"] += 1
        supporter = [turn for turn in dialogue.turns if turn.role == "ai"]
        for k, turn in enumerate(supporter, start=1):
            if turn.strategy:
                stats.strategy_counts[turn.strategy] += 1
                stats.phases[phase_of(k, len(supporter), phases)][turn.strategy] += 1
        sequence = merged_strategies(dialogue)
        for h in hops:
            stats.transitions[h].update(tuple(sequence[i:i + h]) for i in range(len(sequence) - h + 1))
    return stats


class Abbreviations:
    """Strategy name -> abbreviation from the first catalog that knows it (else the name)."""

    def __init__(self, catalogs: Sequence[StrategyCatalog]):
        self.catalogs = catalogs

    def __call__(self, name: str) -> str:
        for catalog in self.catalogs:
            if name in catalog:
                return catalog.abbreviation(name)
        return name

    def order(self, names: Sequence[str]) -> list[str]:
        """Catalog order for known names (the catalog that knows most of them), then the rest."""
        best = max(self.catalogs, key=lambda c: sum(n in c.names for n in names), default=None)
        known = [n for n in (best.names if best else []) if n in names]
        return known + sorted(n for n in names if n not in known)


def _percent(count: int, total: int) -> float:
    return 100.0 * count / total if total else 0.0


def strategy_table(stats: DatasetStats, abbreviate: Abbreviations) -> SimpleTable:
    total = sum(stats.strategy_counts.values())
    names = abbreviate.order(list(stats.strategy_counts))
    rows = [[f"{n} ({abbreviate(n)})", stats.strategy_counts[n], _percent(stats.strategy_counts[n], total)] for n in names]
    rows.append(["Overall", total, 100.0 if total else 0.0])
    return SimpleTable("table1", "Table 1: support strategies", ["Strategy", "Responses", "Proportion (%)"], rows, 1)


def overview_table(stats: DatasetStats) -> SimpleTable:
    rows = [["Dialogues", stats.dialogues], ["Utterances", stats.utterances],
            ["Avg. utterances per dialogue", stats.utterances / stats.dialogues if stats.dialogues else 0.0],
            ["Avg. words per utterance", stats.words / stats.utterances if stats.utterances else 0.0],
            ["Num. of support strategies", len(stats.strategy_counts)],
            ["Num. of scenarios", len([s for s in stats.scene_counts if s != "(no scene)"])]]
    return SimpleTable("table2", "Table 2: dataset overview", ["Category", "Value"], rows, 1,
                       note="Words are whitespace-separated tokens.")


def scene_table(stats: DatasetStats, scene_order: Sequence[str] = ()) -> SimpleTable:
    names = [s for s in scene_order if s in stats.scene_counts]
    names += sorted((s for s in stats.scene_counts if s not in names), key=lambda s: (-stats.scene_counts[s], s))
    rows = [[s, stats.scene_counts[s], _percent(stats.scene_counts[s], stats.dialogues)] for s in names]
    return SimpleTable("table10", "Table 10: dialogues per scene", ["Scene", "Dialogues", "Proportion (%)"], rows, 1)


def transition_table(stats: DatasetStats, abbreviate: Abbreviations, top: int = 5) -> SimpleTable:
    rows = []
    for h, counts in stats.transitions.items():
        total = sum(counts.values())
        for sequence, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]:
            rows.append([f"{h}-hop", " → ".join(abbreviate(s) for s in sequence), count, _percent(count, total)])
    return SimpleTable("table9", f"Table 9: top-{top} strategy transitions (adjacent repeats merged)",
                       ["Hops", "Transition", "Count", "Proportion (%)"], rows,
                       note="Proportion: count over all windows of that many hops.")


def phase_table(stats: DatasetStats, abbreviate: Abbreviations) -> SimpleTable:
    names = abbreviate.order(list(stats.strategy_counts))
    totals = [sum(counter.values()) for counter in stats.phases]
    n = len(stats.phases)
    columns = ["Strategy"] + [f"phase {p + 1} ({100 * p // n}-{100 * (p + 1) // n}%)" for p in range(n)]
    rows = [[abbreviate(name)] + [_percent(stats.phases[p][name], totals[p]) for p in range(n)] for name in names]
    return SimpleTable("figure3", "Figure 3: strategy shares (%) by conversation phase k/N", columns, rows, 1)


def all_tables(stats: DatasetStats, abbreviate: Abbreviations, scene_order: Sequence[str] = (), top: int = 5) -> list[SimpleTable]:
    return [strategy_table(stats, abbreviate), overview_table(stats), scene_table(stats, scene_order),
            transition_table(stats, abbreviate, top), phase_table(stats, abbreviate)]
