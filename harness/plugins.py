"""The plugin manager: loads plugins from the ``escbench`` entry-point group, isolates failures.

Environment switches (datasette/pytest style):

* ``ESCBENCH_PLUGINS=a,b`` — allow-list of *third-party* plugins (entry-point or distribution
  names); escbench's built-ins stay loaded unless blocked.
* ``ESCBENCH_BLOCK_PLUGINS=a,b`` — never load these (entry-point or distribution names,
  built-ins included).
* ``ESCBENCH_DISABLE_PLUGIN_AUTOLOAD=1`` — load only escbench's own built-in plugins.

A name in either list that matches no installed plugin is a warning naming it. Load order is
deterministic: built-ins first, then third-party plugins by distribution and entry-point name.

Any exception while importing a plugin, registering it or calling one of its hooks, and any
hook result that is not a list, is recorded in :attr:`PluginHost.failures` with the plugin's
name; every other plugin keeps working. Names are decided by :func:`registry.resolve_claims`:
a third-party plugin never replaces a built-in system, metric, split or renderer, and two
third-party plugins claiming one name both lose it. Hooks are called through pluggy one plugin
at a time in pluggy's order (``tryfirst``/``trylast`` honoured); wrapper implementations
(``wrapper=True``/``hookwrapper=True``) are refused at registration.
"""
from __future__ import annotations

import os
import re
import traceback as tb
import warnings
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Callable, Iterable

import pluggy

from . import PROJECT, hookspecs
from .contracts import check_registered
from .registry import Registry, resolve_claims

ENTRY_POINT_GROUP = PROJECT
BUILTIN_DISTRIBUTION = PROJECT
REGISTER_HOOKS = (("register_systems", "systems"), ("register_metrics", "metrics"),
                  ("register_renderers", "renderers"))


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
    """One thing a plugin got wrong: ``stage`` is "import", "register" or the hook name."""

    plugin: str
    stage: str
    error: str
    distribution: str = ""
    traceback: str = ""


def _env_list(name: str) -> set[str] | None:
    raw = os.environ.get(name)
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def _norm(name: str) -> str:
    """Distribution names compare like pip does (case, ``-``/``_``/``.`` alike)."""
    return re.sub(r"[-_.]+", "-", name).lower()


class PluginHost:
    """Loads plugins once and collects what they register.

    ``systems``, ``metrics`` and ``renderers`` are :class:`Registry` objects; ``split_files``
    maps split YAML paths to the plugin that registered them. ``warnings`` holds problems with
    the switches (unknown names).
    """

    def __init__(self, load_entry_points: bool = True):
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self.failures: list[PluginFailure] = []
        self.warnings: list[str] = []
        self._collected = False
        if load_entry_points:
            self._load_entry_points()

    # -- loading ---------------------------------------------------------------
    def _load_entry_points(self) -> None:
        allow = _env_list("ESCBENCH_PLUGINS")
        block = _env_list("ESCBENCH_BLOCK_PLUGINS") or set()
        builtin_only = os.environ.get("ESCBENCH_DISABLE_PLUGIN_AUTOLOAD", "") not in ("", "0")
        found = []
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.name if ep.dist else "?"
            version = ep.dist.version if ep.dist else "?"
            found.append((_norm(dist) != BUILTIN_DISTRIBUTION, _norm(dist), ep.name, ep, dist, version))
        found.sort(key=lambda row: row[:3])
        known = {row[2] for row in found} | {row[1] for row in found}
        for variable, names in (("ESCBENCH_PLUGINS", allow or set()), ("ESCBENCH_BLOCK_PLUGINS", block)):
            for unknown in sorted(n for n in names if n not in known and _norm(n) not in known):
                self.warnings.append(f"{variable} names {unknown!r}, which is no installed escbench plugin "
                                     f"(entry-point or distribution name)")
        for third_party, dist_key, name, ep, dist, version in found:
            matches = lambda names: name in names or dist_key in {_norm(n) for n in names}  # noqa: E731
            if matches(block) or (third_party and (builtin_only or (allow is not None and not matches(allow)))):
                continue
            if self.pm.has_plugin(name):
                self._fail(name, "import", f"entry-point name {name!r} of distribution {dist!r} is already "
                           f"used by {self.infos[name].distribution!r}; it is not loaded", dist)
                continue
            try:
                module = self._load_noting_old_imports(ep, name, dist)
            except Exception as error:  # a broken plugin must not break unrelated runs
                self._fail(name, "import", f"{type(error).__name__}: {error}", f"{dist} {version}", error)
                continue
            self.register(module, name, distribution=dist, version=version, builtin=not third_party)

    def _load_noting_old_imports(self, ep: Any, name: str, dist: str) -> Any:
        """``ep.load()``; a plugin that imports the pre-0.2 names (``from harness import ...``) gets
        a line in ``warnings`` (Python hides a DeprecationWarning raised in a library module)."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DeprecationWarning)
            module = ep.load()
        for warning in caught:
            if issubclass(warning.category, DeprecationWarning) and str(warning.message).startswith("importing '"):
                self.warnings.append(f"plugin {name!r} ({dist}): {warning.message}")
            else:
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
        return module

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
            wrappers = [impl.function.__name__ for caller in self.pm.get_hookcallers(plugin) or []
                        for impl in caller.get_hookimpls() if impl.plugin is plugin and (impl.wrapper or impl.hookwrapper)]
            if wrappers:
                raise TypeError(f"hook {', '.join(wrappers)} is marked wrapper/hookwrapper: escbench calls each "
                                "plugin's hooks separately and does not support wrappers (drop the option)")
        except Exception as error:
            if self.pm.is_registered(plugin):
                self.pm.unregister(plugin)
            self._fail(name, "register", f"{type(error).__name__}: {error}", f"{distribution} {version}".strip(), error)
            return
        hooks = sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or [])
        module_name = getattr(plugin, "__name__", type(plugin).__name__)
        self.infos[name] = PluginInfo(name, module_name, distribution, version, builtin, hooks)
        self._collected = False

    def unregister(self, name: str) -> None:
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin)
        self.infos.pop(name, None)
        self._collected = False

    def _fail(self, plugin: str, stage: str, error: str, distribution: str | None = None,
              exc: BaseException | None = None) -> None:
        if distribution is None:
            distribution = self.describe_distribution(plugin)
        trace = "".join(tb.format_exception(type(exc), exc, exc.__traceback__)) if exc else ""
        self.failures.append(PluginFailure(plugin, stage, error, distribution, trace))

    def describe_distribution(self, plugin: str) -> str:
        """``"dist version"`` of a loaded plugin ("" when unknown)."""
        info = self.infos.get(plugin)
        return f"{info.distribution} {info.version}".strip() if info else ""

    def describe(self, plugin: str) -> str:
        """``plugin 'x' (distribution version)`` for messages."""
        dist = self.describe_distribution(plugin)
        return f"plugin {plugin!r}" + (f" ({dist})" if dist else "")

    def failed_to_load(self) -> str:
        """A hint for an unknown name: the plugins that failed to import or register ("" if none)."""
        failed = sorted({f.plugin for f in self.failures if f.stage in ("import", "register")})
        return f" (plugins that failed to load and may provide it: {', '.join(failed)})" if failed else ""

    def is_builtin(self, plugin: str) -> bool:
        info = self.infos.get(plugin)
        return bool(info and info.builtin)

    # -- calling hooks with per-plugin isolation ---------------------------------
    def call_each(self, hook: str, *, on_start: Callable[[str], None] | None = None,
                  include_none: bool = False, **kwargs: Any) -> Iterable[tuple[str, Any]]:
        """Yield ``(plugin_name, result)`` for each plugin implementing ``hook``, called through
        pluggy one plugin at a time, in pluggy's order (``tryfirst`` first). A plugin that
        raises, or returns something other than a list (or None), is recorded as a failure and
        skipped. ``on_start(plugin)`` runs before each call."""
        caller = getattr(self.pm.hook, hook)
        for impl in reversed(caller.get_hookimpls()):  # pluggy calls the last-registered first
            others = [p for p in self.pm.get_plugins() if p is not impl.plugin]
            if on_start:
                on_start(impl.plugin_name)
            try:
                results = self.pm.subset_hook_caller(hook, remove_plugins=others)(**kwargs)
            except Exception as error:
                self._fail(impl.plugin_name, hook, f"{type(error).__name__}: {error}", exc=error)
                continue
            result = results[0] if results else None
            if result is not None and not isinstance(result, (list, tuple)):
                self._fail(impl.plugin_name, hook,
                           f"returned {type(result).__name__} {str(result)[:80]!r}, not a list")
                continue
            if result is not None or include_none:
                yield impl.plugin_name, result

    def _collect(self) -> None:
        if self._collected:
            return
        self._collected = True
        from .splits import split_name_of

        self._systems, self._metrics, self._renderers = Registry("system"), Registry("metric"), Registry("renderer")
        self._split_files: dict[Path, str] = {}
        for info in self.infos.values():
            info.provides = {}
        collecting = {hook for hook, _ in REGISTER_HOOKS} | {"register_splits"}
        self.failures = [f for f in self.failures if f.stage not in collecting]  # recollected below
        for hook, kind in REGISTER_HOOKS:
            claims: dict[str, list[tuple[Any, str]]] = {}
            for plugin, items in self.call_each(hook):
                for item in items:
                    problem = check_registered(kind, item)
                    if problem:
                        self._fail(plugin, hook, problem)
                    else:
                        claims.setdefault(item.name, []).append((item, plugin))
            registry = {"systems": self._systems, "metrics": self._metrics, "renderers": self._renderers}[kind]
            for name, (item, plugin) in self._resolve(kind[:-1], claims, hook).items():
                registry.add(item, plugin)
                self._provides(plugin, kind, name)
            for name, reason in self._last_refused.items():
                registry.refuse(name, reason)
        split_claims: dict[str, list[tuple[Any, str]]] = {}
        for plugin, paths in self.call_each("register_splits"):
            for raw in paths:
                path = Path(raw)
                if not path.exists():
                    self._fail(plugin, "register_splits", f"no such file: {path}")
                    continue
                for file in sorted(path.glob("*.yaml")) if path.is_dir() else [path]:
                    split_claims.setdefault(split_name_of(file), []).append((file.resolve(), plugin))
        for name, (file, plugin) in self._resolve("split", split_claims, "register_splits").items():
            self._split_files[file] = plugin
            self._provides(plugin, "splits", name)

    def _resolve(self, kind: str, claims: dict, hook: str) -> dict:
        decided = resolve_claims(kind, claims, self.is_builtin)
        for plugin, message in decided.problems:
            self._fail(plugin, hook, message)
        self._last_refused = decided.refused
        return decided.chosen

    def _provides(self, plugin: str, kind: str, name: str) -> None:
        if plugin in self.infos and name not in self.infos[plugin].provides.get(kind, []):
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
