"""Hook calls go through pluggy one plugin at a time: pluggy's order, per-plugin isolation,
wrappers refused, results that are not lists reported by plugin name."""
from __future__ import annotations

import pytest

from escbench.harness import hookimpl
from escbench.harness.plugins import PluginHost


def _recorder(label, calls, **marker):
    class Plugin:
        @hookimpl(**marker)
        def setup_resources(self, force):
            calls.append(label)
            return [(label, "done")]
    return Plugin()


def test_hooks_run_in_pluggys_documented_order_tryfirst_first_trylast_last():
    calls: list[str] = []
    host = PluginHost(load_entry_points=False)
    host.register(_recorder("late", calls, trylast=True), name="late")
    host.register(_recorder("plain-1", calls), name="plain-1")
    host.register(_recorder("early", calls, tryfirst=True), name="early")
    host.register(_recorder("plain-2", calls), name="plain-2")
    host.pm.hook.setup_resources(force=False)  # pluggy's own call: the reference order
    reference, calls[:] = list(calls), []
    order = [plugin for plugin, _ in host.call_each("setup_resources", force=False)]
    assert order == reference == calls
    assert order[0] == "early" and order[-1] == "late"  # as pluggy documents tryfirst/trylast


def test_a_raising_hook_does_not_stop_the_others_and_is_named():
    calls: list[str] = []

    class Raising:
        @hookimpl(tryfirst=True)
        def setup_resources(self, force):
            raise OSError("disk full")

    host = PluginHost(load_entry_points=False)
    host.register(_recorder("ok", calls), name="ok")
    host.register(Raising(), name="raising")
    assert [p for p, _ in host.call_each("setup_resources", force=True)] == ["ok"]
    assert [(f.plugin, f.stage, f.error) for f in host.failures] == [("raising", "setup_resources", "OSError: disk full")]
    assert "Traceback" in host.failures[0].traceback


@pytest.mark.parametrize("option", ["wrapper", "hookwrapper"])
def test_wrapper_implementations_are_refused_by_plugin_name(option):
    class Wrapping:
        @hookimpl(**{option: True})
        def register_metrics(self):
            yield

    host = PluginHost(load_entry_points=False)
    host.register(Wrapping(), name="wrapping")
    assert "wrapping" not in host.infos and not host.pm.has_plugin("wrapping")
    assert host.failures[0].plugin == "wrapping" and "wrapper" in host.failures[0].error


def test_a_hook_returning_a_class_or_a_bad_entry_is_reported_and_the_rest_registered(parrot_module):
    class Sloppy:
        @hookimpl
        def register_metrics(self):
            return parrot_module.WordCount  # forgot the list

        @hookimpl
        def register_systems(self):
            return [object, parrot_module.Parrot]  # one good entry, one without a name

    host = PluginHost(load_entry_points=False)
    host.register(Sloppy(), name="sloppy")
    assert host.systems.names() == ["parrot"] and len(host.metrics) == 0
    errors = {f.stage: f.error for f in host.failures}
    assert errors["register_metrics"].startswith("returned type") and "not a list" in errors["register_metrics"]
    assert "has no string 'name'" in errors["register_systems"]


def test_builtin_names_win_whatever_the_registration_order(parrot_module):
    class Impostor:
        @hookimpl
        def register_systems(self):
            return [parrot_module.Parrot]

    for impostor_first in (True, False):
        host = PluginHost(load_entry_points=False)
        if impostor_first:
            host.register(Impostor(), name="impostor")
        host.register(parrot_module, name="parrot", distribution="escbench", builtin=True)
        if not impostor_first:
            host.register(Impostor(), name="impostor")
        assert host.systems.plugin_of("parrot") == "parrot"
        assert [f.plugin for f in host.failures] == ["impostor"]
        assert "cannot be replaced" in host.failures[0].error
