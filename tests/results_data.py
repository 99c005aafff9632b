"""Results for the leaderboard and human-evaluation tests: a small ExTES-format split, in-process
systems with known quality (oracle > half > parrot), a plugin host with them, and helpers that
read what the leaderboard renders. A helper module (not a test module): tests import it."""
from __future__ import annotations

import json
from pathlib import Path

from escbench.harness import hookimpl
from escbench.harness.collect import collect_records
from escbench.harness.plugins import PluginHost
from escbench.harness.registry import Generation, GenerationSettings
from escbench.harness.runner import RunConfig, run

PAPER_METRICS = [("bleu", {}), ("rouge-l", {}), ("distinct", {}), ("word-count", {})]
ONLY_LEADERBOARD = {"ESCBENCH_PLUGINS": "leaderboard"}

SEEKER_LINES = [
    "My sister stopped answering my calls after our argument about the wedding.",
    "I failed the driving test for the third time and everyone keeps asking about it.",
    "Since the night shifts started I barely see my kids awake.",
    "My landlord wants us out by the end of the month and I have nowhere lined up.",
    "I keep replaying the presentation where my mind went blank.",
    "Our dog is getting old and the vet talked about his kidneys.",
    "I moved cities for this job and I have not made a single friend yet.",
    "My best friend forgot my birthday and I feel silly for minding.",
]
SUPPORTER_LINES = [
    "That silence after a fight with someone close can feel heavier than the fight itself.",
    "It makes sense that the questions sting when you are already disappointed.",
    "Missing those moments with your children sounds really painful.",
    "Having a deadline with no plan yet would make anyone anxious.",
    "Going blank in front of people is a common stress response, not a sign you are incapable.",
    "Hearing worrying news about a companion you love is hard to carry.",
    "Building a new circle takes time, and the first months are often the loneliest.",
    "Wanting to be remembered by a close friend is not silly at all.",
]


def write_split(folder: Path, name: str, dialogues: int, offset: int = 0) -> Path:
    """An ExTES-format file of ``dialogues`` two-exchange dialogues and a split YAML for it."""
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for index in range(dialogues):
        a, b = (index + offset) % len(SEEKER_LINES), (index + offset + 3) % len(SEEKER_LINES)
        records.append({"id": f"{name}-{index}", "scene": "Everyday worries", "content": [
            {"User": SEEKER_LINES[a]}, {"AI": SUPPORTER_LINES[a]},
            {"User": f"Also, {SEEKER_LINES[b][0].lower()}{SEEKER_LINES[b][1:]}"}, {"AI": SUPPORTER_LINES[b]},
        ]})
    (folder / f"{name}.json").write_text(json.dumps(records), encoding="utf-8")
    spec = folder / f"{name}.yaml"
    spec.write_text(f"split: {name}\nsource:\n  path: {name}.json\n  format: extes\nexamples:\n  min_context_turns: 1\n")
    return spec


class Oracle:
    """Replies with the reference (the ceiling)."""

    name = "oracle"
    description = "returns the reference reply"

    def config(self):
        return {"model": "reference-copy", "prompt_sha256": "0f1e2d3c"}

    def prepare(self):
        pass

    def generate(self, examples, settings):
        return [Generation(text=example.reference) for example in examples]


class Half:
    """Replies with the first half of the reference's words (between echo and oracle)."""

    name = "half"
    description = "first half of the reference"

    def __init__(self, extra_word_on: str = ""):
        self.extra_word_on = extra_word_on

    def config(self):
        return {"extra_word_on": self.extra_word_on}

    def prepare(self):
        pass

    def generate(self, examples, settings):
        replies = []
        for example in examples:
            words = example.reference.split()
            text = " ".join(words[: max(1, len(words) // 2)])
            replies.append(Generation(text=text + (" indeed" if example.id == self.extra_word_on else "")))
        return replies


class HalfPlus(Half):
    """``half`` with one extra word on a single example (mean length differs by 1/40)."""

    name = "half-plus"
    description = "half, one word longer on one example"

    def __init__(self):
        super().__init__(extra_word_on="worries-0:3")


class Knob:
    """Keeps ``k`` + 2 words of the reference; its config records ``dri_k`` (for sweeps)."""

    name = "knob"
    description = "reference prefix whose length grows with k"

    def __init__(self, k: int = 0):
        self.k = k

    def config(self):
        return {"dri_k": self.k}

    def prepare(self):
        pass

    def generate(self, examples, settings):
        return [Generation(text=" ".join(e.reference.split()[: self.k + 2])) for e in examples]


class Hostile:
    """Replies with markup that would run code if a page inserted it unescaped."""

    name = "hostile"
    description = "emits script and img-onerror markup"
    PAYLOAD = ("<script>document.body.setAttribute('data-pwned','script')</script>"
               "<img src=x onerror=\"document.body.setAttribute('data-pwned','img')\"> & </pre>")

    def config(self):
        return {"model": "<b>bold-model</b>"}

    def prepare(self):
        pass

    def generate(self, examples, settings):
        return [Generation(text=self.PAYLOAD) for _ in examples]


class TestSystems:
    @hookimpl
    def register_systems(self):
        return [Oracle, Half, HalfPlus, Knob, Hostile]


def results_host(parrot_module) -> PluginHost:
    """Built-in metrics and renderers plus the example plugin and the systems above."""
    import escbench.leaderboard.plugin
    import escbench.plugins.metrics

    host = PluginHost(load_entry_points=False)
    host.register(parrot_module, name="parrot")
    host.register(TestSystems(), name="test-systems")
    host.register(escbench.plugins.metrics, name="metrics")
    host.register(escbench.leaderboard.plugin, name="leaderboard")
    return host


def make_results(host: PluginHost, out: Path, systems, splits=("parrot_mini",), metrics=PAPER_METRICS,
                 limit: int | None = None) -> list[dict]:
    outcome = run(RunConfig(systems=list(systems), splits=list(splits), metrics=list(metrics),
                            settings=GenerationSettings(batch_size=8), out=out, limit=limit), host)
    assert outcome.errors == []
    return outcome.records


def records_in(folder: Path) -> tuple[list[dict], list[Path]]:
    return collect_records([folder])


def markdown_cells(text: str) -> dict[str, dict[str, str]]:
    """``{row label: {column header: cell text}}`` of a Markdown table."""
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in lines[0].strip("|").split(" | ")]
    out = {}
    for line in lines[1:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        out[cells[0]] = dict(zip(header[1:], cells[1:]))
    return out
