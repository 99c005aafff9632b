"""A plugin whose register_metrics hook raises."""
from harness import hookimpl


@hookimpl
def register_metrics():
    raise RuntimeError("hook exploded on purpose")
