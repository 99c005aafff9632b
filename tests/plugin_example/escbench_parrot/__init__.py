"""A complete escbench plugin: one system, one metric, one split."""
from pathlib import Path

from escbench import hookimpl, Generation, MetricResult

HERE = Path(__file__).parent


class Parrot:
    """Answers by echoing the seeker's last message (a floor any real model should beat)."""

    name = "parrot"
    description = "echoes the seeker's last utterance"

    def __init__(self, prefix: str = ""):
        self.prefix = prefix

    def config(self):
        return {"prefix": self.prefix}

    def prepare(self):
        pass

    def generate(self, examples, settings):
        replies = []
        for example in examples:
            last_user = next((t.text for t in reversed(example.context) if t.role == "user"), "")
            replies.append(Generation(text=f"{self.prefix}{last_user}".strip()))
        return replies


class WordCount:
    """Mean number of whitespace-separated words per prediction."""

    name = "word-count"
    description = "mean words per generated response"
    columns = ["Words"]
    higher_is_better = True
    default = False

    def compute(self, samples):
        counts = [len(s.prediction.split()) for s in samples]
        return MetricResult(scores={"Words": sum(counts) / max(1, len(counts))},
                            per_sample={"Words": counts})


@hookimpl
def register_systems():
    return [Parrot]


@hookimpl
def register_metrics():
    return [WordCount]


@hookimpl
def register_splits():
    return [HERE / "parrot_mini.yaml"]
