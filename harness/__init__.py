"""escbench's engine, installed as ``escbench.harness``: plugin host and hook specs, data model,
loaders, splits, runner, results, CLI, backends and the helpers plugins share.

Plugins implement hooks from :mod:`escbench.harness.hookspecs` and mark them with
:data:`hookimpl`; the public API is importable from the top package::

    from escbench import hookimpl

    @hookimpl
    def register_metrics():
        return [MyMetric]

escbench-rename: keep (hand-written: the old-name redirect below must keep saying ``harness``)
"""
if __name__ == "harness":  # the pre-0.2 name, found in a checkout on sys.path: use escbench.harness
    import importlib as _importlib

    _importlib.import_module("escbench._legacy_names").redirect(__name__)

import pluggy

__version__ = "0.1.0"

PROJECT = "escbench"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = ["hookimpl", "hookspec", "__version__", "PROJECT"]
