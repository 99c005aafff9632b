"""escbench run refuses bad settings before any work, holds its output folder, survives a
corrupt cache line, counts rejected dialogues, and writes strict JSON."""
from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap

import pytest

from escbench.harness.cli import build_parser, build_run_config
from escbench.harness.errors import ConfigError
from escbench.harness.plugins import PluginHost
from escbench.harness.registry import GenerationSettings
from escbench.harness.runner import RunConfig, run
from escbench.harness.strict_json import dumps_strict, non_finite_paths

from conftest import REPO, run_cli


def _settings(*argv: str):
    return build_run_config(build_parser(with_plugins=False).parse_args(["run", *argv]))


@pytest.mark.parametrize("argv, named", [
    (["--max-new-tokens", "0"], "--max-new-tokens must be at least 1"),
    (["--batch-size", "-2"], "--batch-size must be at least 1"),
    (["--limit", "0"], "--limit must be at least 1"),
    (["--sample", "--temperature", "0"], "--temperature must be greater than 0 with --sample"),
    (["--top-p", "0"], "--top-p must be in (0, 1]"),
    (["--top-p", "1.5"], "--top-p must be in (0, 1]"),
])
def test_bad_flags_are_refused_naming_the_flag(argv, named):
    with pytest.raises(ConfigError) as caught:
        _settings(*argv)
    assert named in str(caught.value)


def test_greedy_with_temperature_zero_and_top_p_one_are_fine():
    config = _settings("--temperature", "0", "--top-p", "1", "--limit", "1")
    assert config.settings.top_p == 1 and config.limit == 1


@pytest.mark.parametrize("body, named", [
    ("generation: {max_new_tokens: ten}\n", "generation.max_new_tokens must be an integer, got 'ten'"),
    ("generation: {batch_size: 0}\n", "generation.batch_size must be at least 1"),
    ("generation: {top_p: 2}\n", "generation.top_p must be in (0, 1]"),
    ("generation: {temprature: 0.7}\n", "unknown key generation.temprature"),
    ("limit: 0\n", "limit must be at least 1"),
    ("limit: '5'\n", "limit must be an integer"),
    ("splits: seed\n", "splits must be a list"),
    ("- llama\n", "a run file is a mapping"),
])
def test_bad_run_files_are_refused_naming_the_file_and_key(tmp_path, body, named):
    path = tmp_path / "run.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError) as caught:
        _settings("--config", str(path))
    assert named in str(caught.value) and str(path) in str(caught.value)


def test_a_flag_overrides_a_bad_file_value_and_is_what_gets_checked(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("generation: {batch_size: 4}\n")
    with pytest.raises(ConfigError, match="^--batch-size must be at least 1"):
        _settings("--config", str(path), "--batch-size", "0")


def test_bad_settings_fail_before_any_output_is_written(tmp_path):
    out = tmp_path / "never"
    result = run_cli("run", "--systems", "llama", "--max-new-tokens", "0", "--out", str(out))
    assert result.returncode == 2 and "--max-new-tokens must be at least 1" in result.stderr
    assert not out.exists()


def test_a_second_run_on_the_same_folder_is_refused_naming_folder_and_process(tmp_path):
    out = tmp_path / "busy"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from escbench.harness.folder_lock import FolderLock
            with FolderLock({str(out)!r}, "escbench run --out busy (the first one)"):
                print("held", flush=True)
                sys.stdin.readline()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "held"
        result = run_cli("run", "--systems", "llama", "--splits", "seed", "--limit", "1", "--out", str(out))
    finally:
        holder.communicate("\n", timeout=60)
    assert result.returncode == 2
    assert str(out) in result.stderr and f"pid {holder.pid}" in result.stderr
    assert "the first one" in result.stderr
    assert not list(out.glob("*.json"))


def test_a_corrupt_line_in_the_middle_of_the_cache_is_skipped_with_a_note_and_regenerated(parrot_module, tmp_path):
    host = PluginHost(load_entry_points=False)
    host.register(parrot_module, name="parrot")
    config = RunConfig(systems=[("parrot", {})], splits=[str(REPO / "tests/plugin_example/escbench_parrot/parrot_mini.yaml")],
                       metrics=[("word-count", {})], settings=GenerationSettings(batch_size=1), out=tmp_path)
    first = run(config, host)
    assert first.errors == []
    cache_file = next((tmp_path / "cache").glob("parrot-*.jsonl"))
    lines = cache_file.read_text().splitlines()
    lines[1] = lines[1][: len(lines[1]) // 2]  # a torn line that is not the last one
    cache_file.write_text("\n".join(lines) + "\n")
    second = run(config, host)
    assert second.errors == []
    assert any(str(cache_file) in note and "line 2" in note for note in second.notes)
    assert second.records[0]["counts"]["cached"] == 2 and second.records[0]["counts"]["generated"] == 1
    assert second.records[0]["scores"] == first.records[0]["scores"]


def test_lenient_rejects_are_counted_in_the_record_and_reported(parrot_module, tmp_path, bad_split_yaml):
    host = PluginHost(load_entry_points=False)
    host.register(parrot_module, name="parrot")
    config = RunConfig(systems=[("parrot", {})], splits=[bad_split_yaml],
                       metrics=[("word-count", {})], out=tmp_path / "out", lenient=True)
    outcome = run(config, host)
    record = outcome.records[0]
    assert record["counts"]["rejected_dialogues"] == 1 and record["split"]["rejected_dialogues"] == 1
    assert record["split"]["rejects_file"] == "rejects/mine.jsonl"
    assert any("1 malformed dialogue(s) rejected" in note for note in outcome.notes)
    assert (tmp_path / "out" / record["split"]["rejects_file"]).is_file()


def test_dumps_strict_writes_null_for_non_finite_values_and_loads_in_a_strict_parser():
    value = {"a": math.nan, "b": [1.5, math.inf, -math.inf], "c": {"d": 2}}
    assert non_finite_paths(value) == ["a", "b[1]", "b[2]"]
    text = dumps_strict(value)
    assert text == '{"a": null, "b": [1.5, null, null], "c": {"d": 2}}'
    assert json.loads(text, parse_constant=lambda token: pytest.fail(token)) == {"a": None, "b": [1.5, None, None], "c": {"d": 2}}
    assert "NaN" in json.dumps(value)  # what the standard library would have written


def test_a_new_version_of_a_third_party_system_does_not_reuse_old_generations(parrot_module, tmp_path):
    def outcome(version):
        host = PluginHost(load_entry_points=False)
        host.register(parrot_module, name="parrot", distribution="escbench-parrot", version=version)
        config = RunConfig(systems=[("parrot", {})], splits=[str(REPO / "tests/plugin_example/escbench_parrot/parrot_mini.yaml")],
                           metrics=[("word-count", {})], out=tmp_path)
        return run(config, host).records[0]

    assert outcome("0.3.0")["counts"]["generated"] == 3
    assert outcome("0.3.0")["counts"]["cached"] == 3
    upgraded = outcome("0.4.0")
    assert upgraded["counts"]["generated"] == 3 and upgraded["system"]["version"] == "0.4.0"
