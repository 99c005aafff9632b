"""escbench: a plugin-based benchmark harness for emotional-support conversation models.

Plugins implement hooks from :mod:`harness.hookspecs` and mark them with :data:`hookimpl`::

    from harness import hookimpl

    @hookimpl
    def register_metrics():
        return [MyMetric]
"""
import pluggy

__version__ = "0.1.0"

PROJECT = "escbench"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = ["hookimpl", "hookspec", "__version__", "PROJECT"]
