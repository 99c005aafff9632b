"""Plugin discovery, allow/deny switches, and isolation of failing plugins."""
from __future__ import annotations

import json
import os

import pytest

from escbench.harness import hookimpl
from escbench.harness.errors import ConfigError, UnknownNameError
from escbench.harness.plugins import PluginHost

from conftest import run_cli

BUILTINS = {"splits", "systems", "metrics", "leaderboard"}


def test_builtin_plugins_load_through_the_entry_point_group():
    host = PluginHost()
    infos = {info.name: info for info in host.plugin_infos()}
    assert BUILTINS <= set(infos)
    assert all(infos[name].builtin and infos[name].distribution == "escbench" for name in BUILTINS)
    assert "seed" in infos["splits"].provides["splits"]
    assert {"terminal", "md", "csv", "json"} <= set(infos["leaderboard"].provides["renderers"])


def test_plugin_raising_in_a_hook_is_reported_and_others_keep_working():
    class Exploding:
        @hookimpl
        def register_metrics(self):
            raise RuntimeError("boom while registering")

    host = PluginHost()
    host.register(Exploding(), name="exploding")
    assert "terminal" in host.renderers
    assert "seed" in {p.stem for p in host.split_files}
    failures = [(f.plugin, f.stage) for f in host.failures]
    assert ("exploding", "register_metrics") in failures
    assert "boom while registering" in host.failures[0].error


def test_misspelt_hook_is_rejected_with_the_plugin_name():
    class Misspelt:
        @hookimpl
        def register_sytems(self):
            return []

    host = PluginHost(load_entry_points=False)
    host.register(Misspelt(), name="misspelt")
    assert [f.plugin for f in host.failures] == ["misspelt"]
    assert "register_sytems" in host.failures[0].error
    assert "misspelt" not in host.infos


def test_two_third_party_plugins_claiming_one_name_lose_it_both_and_are_named(parrot_module):
    class Impostor:
        @hookimpl
        def register_systems(self):
            return [parrot_module.Parrot]

    host = PluginHost(load_entry_points=False)
    host.register(parrot_module, name="parrot")
    host.register(Impostor(), name="impostor")
    assert "parrot" not in host.systems
    named = {f.plugin for f in host.failures if "both register system 'parrot'" in f.error}
    assert named == {"parrot", "impostor"}
    assert all("ESCBENCH_BLOCK_PLUGINS=" in f.error for f in host.failures)
    with pytest.raises(ConfigError, match="neither is used"):
        host.systems.get("parrot")


def test_unknown_system_suggests_close_names(parrot_module):
    host = PluginHost(load_entry_points=False)
    host.register(parrot_module, name="parrot")
    with pytest.raises(UnknownNameError) as caught:
        host.systems.get("parot")
    assert "Did you mean 'parrot'?" in str(caught.value)


def test_installed_third_party_plugin_is_listed_and_its_failing_neighbour_reported(installed_plugins):
    env = {"PYTHONPATH": str(installed_plugins)}
    listing = run_cli("plugins", "--json", env=env)
    rows = json.loads(listing.stdout)
    by_name = {row["name"]: row for row in rows}
    assert by_name["parrot"]["distribution"] == "escbench-parrot"
    assert by_name["parrot"]["version"] == "0.3.0"
    assert by_name["parrot"]["provides"] == {"systems": ["parrot"], "metrics": ["word-count"], "splits": ["parrot_mini"]}
    assert by_name["broken"]["failed"] == "import"
    assert "deliberate test failure" in by_name["broken"]["error"]
    assert listing.returncode == 1  # something failed, and the exit status says so


def test_third_party_system_split_and_metric_are_usable_from_run(installed_plugins, tmp_path):
    env = {"PYTHONPATH": str(installed_plugins), "ESCBENCH_BLOCK_PLUGINS": "broken"}
    result = run_cli("run", "--systems", "parrot", "--splits", "parrot_mini", "--metrics", "word-count",
                     "--out", str(tmp_path), "--format", "csv", env=env)
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "parrot__parrot_mini.json").read_text())
    # Examples: the two supporter turns of pm-1 and the one of pm-2; parrot echoes the last user turn.
    expected_words = [len("My cat Miso died on Tuesday and the flat feels empty.".split()),
                      len("I keep looking for her on the windowsill.".split()),
                      len("I have three exams in five days and I froze last night.".split())]
    assert record["scores"]["Words"] == pytest.approx(sum(expected_words) / 3)
    assert record["system"]["plugin"] == "parrot"
    assert "parrot_mini,parrot,Words," in result.stdout and result.stdout.startswith("split,system,column,value")


def test_disable_autoload_keeps_builtins_and_drops_third_party(installed_plugins):
    env = {"PYTHONPATH": str(installed_plugins), "ESCBENCH_DISABLE_PLUGIN_AUTOLOAD": "1"}
    rows = json.loads(run_cli("plugins", "--json", env=env).stdout)
    names = {row["name"] for row in rows}
    assert BUILTINS <= names and not names & {"parrot", "broken"}
