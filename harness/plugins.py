"""The plugin manager: loads plugins from the ``escbench`` entry-point group, isolates failures.

Environment switches (datasette/pytest style):

* ``ESCBENCH_PLUGINS=a,b`` — allow-list: load only these entry-point names.
* ``ESCBENCH_BLOCK_PLUGINS=a,b`` — deny-list: never load these.
* ``ESCBENCH_DISABLE_PLUGIN_AUTOLOAD=1`` — load only escbench's own built-in plugins (entry
  points of the ``escbench`` distribution), not third-party packages.

A plugin that fails to import, or raises inside a ``register_*`` hook, is recorded in
:attr:`PluginHost.failures` (and reported by ``escbench plugins`` and the CLI's exit status);
every other plugin keeps working.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Iterable

import pluggy

from . import PROJECT, hookspecs
from .registry import Registry

ENTRY_POINT_GROUP = PROJECT
BUILTIN_DISTRIBUTION = PROJECT


@dataclass
class PluginInfo:
    """What ``escbench plugins`` shows for one loaded plugin."""

    name: str
    module: str
    distribution: str
    version: str
    builtin: bool
    hooks: list[str] = field(default_factory=list)
    provides: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class PluginFailure:
    plugin: str
    stage: str  # "import" or the hook name
    error: str


def _env_list(name: str) -> set[str] | None:
    raw = os.environ.get(name)
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


class PluginHost:
    """Loads plugins once and collects what they register.

    ``systems``, ``metrics`` and ``renderers`` are :class:`Registry` objects; ``split_files``
    maps split YAML paths to the plugin that registered them.
    """

    def __init__(self, load_entry_points: bool = True):
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self.failures: list[PluginFailure] = []
        self._collected = False
        if load_entry_points:
            self._load_entry_points()

    # -- loading ---------------------------------------------------------------
    def _load_entry_points(self) -> None:
        allow = _env_list("ESCBENCH_PLUGINS")
        block = _env_list("ESCBENCH_BLOCK_PLUGINS") or set()
        builtin_only = os.environ.get("ESCBENCH_DISABLE_PLUGIN_AUTOLOAD", "") not in ("", "0")
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.name if ep.dist else "?"
            version = ep.dist.version if ep.dist else "?"
            builtin = dist == BUILTIN_DISTRIBUTION
            if ep.name in block or (allow is not None and ep.name not in allow):
                continue
            if builtin_only and not builtin:
                continue
            if self.pm.get_plugin(ep.name) is not None:
                continue
            try:
                module = ep.load()
            except Exception as error:  # a broken plugin must not break unrelated runs
                self.failures.append(PluginFailure(ep.name, "import", f"{type(error).__name__}: {error}"))
                continue
            self.register(module, ep.name, distribution=dist, version=version, builtin=builtin)

    def register(
        self, plugin: Any, name: str, distribution: str = "(registered in code)",
        version: str = "", builtin: bool = False,
    ) -> None:
        """Register a plugin object/module (tests and embedding programs use this directly)."""
        if self.pm.get_plugin(name) is plugin:
            return
        try:
            self.pm.register(plugin, name=name)
            self.pm.check_pending()
        except Exception as error:
            if self.pm.is_registered(plugin):
                self.pm.unregister(plugin)
            self.failures.append(PluginFailure(name, "register", f"{type(error).__name__}: {error}"))
            return
        hooks = sorted(impl.name for impl in self.pm.get_hookcallers(plugin) or [])
        module_name = getattr(plugin, "__name__", type(plugin).__name__)
        self.infos[name] = PluginInfo(name, module_name, distribution, version, builtin, hooks)
        self._collected = False

    def unregister(self, name: str) -> None:
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin)
        self.infos.pop(name, None)
        self._collected = False

    # -- calling hooks with per-plugin isolation ---------------------------------
    def call_each(self, hook: str, **kwargs: Any) -> Iterable[tuple[str, Any]]:
        """Yield ``(plugin_name, result)`` for each implementation of ``hook``; a plugin that
        raises is recorded as a failure and skipped."""
        caller = getattr(self.pm.hook, hook)
        for impl in caller.get_hookimpls():  # registration order
            try:
                args = [kwargs[arg] for arg in impl.argnames]
                result = impl.function(*args)
            except Exception as error:
                self.failures.append(PluginFailure(impl.plugin_name, hook, f"{type(error).__name__}: {error}"))
                continue
            if result is not None:
                yield impl.plugin_name, result

    def _collect(self) -> None:
        if self._collected:
            return
        self._collected = True
        self._systems, self._metrics, self._renderers = Registry("system"), Registry("metric"), Registry("renderer")
        self._split_files: dict[Path, str] = {}
        for info in self.infos.values():
            info.provides = {}
        for hook, registry, kind in (
            ("register_systems", self._systems, "systems"),
            ("register_metrics", self._metrics, "metrics"),
            ("register_renderers", self._renderers, "renderers"),
        ):
            for plugin, items in self.call_each(hook):
                for item in items:
                    try:
                        registry.add(item, plugin)
                    except (TypeError, ValueError) as error:
                        self.failures.append(PluginFailure(plugin, hook, str(error)))
                        continue
                    self._provides(plugin, kind, item.name)
        for plugin, paths in self.call_each("register_splits"):
            for raw in paths:
                path = Path(raw)
                files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
                if not path.exists():
                    self.failures.append(PluginFailure(plugin, "register_splits", f"no such file: {path}"))
                for file in files:
                    self._split_files[file.resolve()] = plugin

    def _provides(self, plugin: str, kind: str, name: str) -> None:
        if plugin in self.infos:
            self.infos[plugin].provides.setdefault(kind, []).append(name)

    @property
    def systems(self) -> Registry:
        self._collect()
        return self._systems

    @property
    def metrics(self) -> Registry:
        self._collect()
        return self._metrics

    @property
    def renderers(self) -> Registry:
        self._collect()
        return self._renderers

    @property
    def split_files(self) -> dict[Path, str]:
        self._collect()
        return self._split_files

    def plugin_infos(self) -> list[PluginInfo]:
        self._collect()
        from .splits import split_name_of

        for path, plugin in self._split_files.items():
            if plugin in self.infos:
                name = split_name_of(path)
                provided = self.infos[plugin].provides.setdefault("splits", [])
                if name not in provided:
                    provided.append(name)
        return list(self.infos.values())


_host: PluginHost | None = None


def get_host() -> PluginHost:
    """The process-wide plugin host (created on first use)."""
    global _host
    if _host is None:
        _host = PluginHost()
    return _host


def reset_host() -> None:
    """Forget the process-wide host (tests; after installing a plugin package)."""
    global _host
    _host = None
