"""Systems and metrics that fail at run time in the ways real plugins do."""
import math

from escbench import hookimpl, Generation, MetricResult


class _Base:
    description = "a faulty system"

    def __init__(self):
        self.calls = 0

    def config(self):
        return {}

    def prepare(self):
        pass


class OutOfMemory(_Base):
    name = "oom"

    def prepare(self):
        raise RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB")

    def generate(self, examples, settings):
        raise AssertionError("never called: prepare failed")


class Flaky(_Base):
    """Answers its first batch, then loses its connection."""

    name = "flaky"

    def generate(self, examples, settings):
        self.calls += 1
        if self.calls > 1:
            raise ConnectionError("connection reset by peer")
        return [Generation(text=f"reply to {e.id}") for e in examples]


class Stringy(_Base):
    name = "stringy"

    def generate(self, examples, settings):
        return ["a plain string" for _ in examples]


class NoneText(_Base):
    name = "none-text"

    def generate(self, examples, settings):
        return [Generation(text=None) for _ in examples]


class _Metric:
    description = "a faulty metric"
    higher_is_better = True
    default = False


class ZeroDiv(_Metric):
    name = "zero-div"
    columns = ["ZD"]

    def compute(self, samples):
        return MetricResult(scores={"ZD": len(samples) / 0})


class NotANumber(_Metric):
    name = "nan-metric"
    columns = ["NaNny", "Fine"]

    def compute(self, samples):
        return MetricResult(scores={"NaNny": math.nan, "Fine": 2.5})


class ShortPerSample(_Metric):
    name = "short-per-sample"
    columns = ["Short"]

    def compute(self, samples):
        return MetricResult(scores={"Short": 1.0}, per_sample={"Short": [1.0] * (len(samples) - 1)})


@hookimpl
def register_systems():
    return [OutOfMemory, Flaky, Stringy, NoneText]


@hookimpl
def register_metrics():
    return [ZeroDiv, NotANumber, ShortPerSample]
