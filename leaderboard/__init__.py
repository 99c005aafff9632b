"""Leaderboard tables, renderers, page and plots, installed as ``escbench.leaderboard``: a
built-in plugin that imports only ``escbench.harness``.

escbench-rename: keep (hand-written: the old-name redirect below must keep saying ``leaderboard``)
"""
if __name__ == "leaderboard":  # the pre-0.2 name, found in a checkout on sys.path: use escbench.leaderboard
    import importlib as _importlib

    _importlib.import_module("escbench._legacy_names").redirect(__name__)
