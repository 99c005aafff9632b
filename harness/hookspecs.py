"""The escbench plugin API.

A plugin is a module (or object) with functions named after the hooks below, each marked
``@harness.hookimpl``. It is found through the ``escbench`` entry-point group::

    [project.entry-points.escbench]
    my_plugin = "my_package.plugin"

Built-in systems, splits, metrics and renderers are plugins loaded the same way.
``register_*`` hooks take no arguments and return a list; every plugin's list is collected
(a plugin that raises, or returns anything but a list, is reported by name; the others still
load). Each plugin's implementation is called through pluggy on its own, in pluggy's order
(``tryfirst``/``trylast`` honoured); ``wrapper``/``hookwrapper`` implementations are refused.
A third-party plugin can never replace a built-in name. The contract for plugin authors, with
a complete example, is ``docs/plugins.md``.
"""
from __future__ import annotations

from escbench.harness import hookspec


@hookspec
def register_systems():
    """Return a list of System classes (see :class:`escbench.harness.registry.System`)."""


@hookspec
def register_metrics():
    """Return a list of Metric classes (see :class:`escbench.harness.registry.Metric`)."""


@hookspec
def register_splits():
    """Return a list of split YAML files (paths) or folders of them (see ``tasks/splits``)."""


@hookspec
def register_renderers():
    """Return a list of table renderer classes with ``name`` and ``render(table) -> str``
    (see :class:`escbench.harness.table.Table`)."""


@hookspec
def register_commands(commands):
    """Add CLI sub-commands: call ``commands.add(name, help, configure, run)`` where
    ``configure(parser)`` adds argparse arguments and ``run(args) -> int`` executes."""


@hookspec
def setup_resources(force):
    """Prepare offline resources once (convert a model into the cache, arrange a data
    folder...). Return a list of ``(resource, message)`` pairs describing what was done or
    found; raise :class:`escbench.harness.errors.EscbenchError` with the fix when it cannot be done.
    ``escbench setup`` calls every plugin's implementation."""


@hookspec
def read_foreign_results(path):
    """Return a list of escbench results records converted from ``path``, a JSON file written
    by another tool (e.g. lm-evaluation-harness), or None when the file is not in a format this
    plugin reads. ``escbench leaderboard`` calls it for JSON files that are not escbench records;
    raise :class:`escbench.harness.errors.DataError` for a file of the right tool that cannot be used."""
