"""escbench's built-in plugins, installed as ``escbench.plugins``: each sub-package registers
through the ``escbench`` entry-point group and imports only ``escbench.harness``.

escbench-rename: keep (hand-written: the old-name redirect below must keep saying ``plugins``)
"""
if __name__ == "plugins":  # the pre-0.2 name, found in a checkout on sys.path: use escbench.plugins
    import importlib as _importlib

    _importlib.import_module("escbench._legacy_names").redirect(__name__)
