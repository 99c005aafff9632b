"""A plugin whose register_metrics hook raises."""
from escbench import hookimpl


@hookimpl
def register_metrics():
    raise RuntimeError("hook exploded on purpose")


@hookimpl
def register_commands(commands):
    def configure(parser):
        raise ValueError("configure broke on purpose")

    commands.add("broken-cmd", "never added", configure, lambda args: 0)
