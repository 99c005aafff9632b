"""Contained failures (issue 13): a package of deliberately broken plugins
(tests/plugin_broken) installed next to a healthy one (tests/plugin_example) takes down nothing.
"""
from __future__ import annotations

import json

import pytest

from conftest import run_cli

BROKEN = {"broken", "hook_raises", "not_a_list", "wrapper", "takeover", "twin_a", "twin_b"}


def strict_load(text: str):
    """json.loads that rejects NaN/Infinity like JavaScript's JSON.parse does."""
    def refuse(token):
        raise ValueError(f"non-strict JSON token {token}")
    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def env(installed_plugins):
    return {"PYTHONPATH": str(installed_plugins)}


def test_plugins_command_lists_the_healthy_and_names_every_broken_plugin(env):
    result = run_cli("plugins", "--json", env=env)
    rows = json.loads(result.stdout)
    loaded = {row["name"]: row for row in rows if "provides" in row}
    failed = {row["name"]: row for row in rows if "failed" in row}
    assert BROKEN <= set(failed), failed
    assert failed["broken"]["failed"] == "import" and "deliberate test failure" in failed["broken"]["error"]
    hook_raises = " | ".join(row["error"] for row in rows if row.get("name") == "hook_raises" and "failed" in row)
    assert "RuntimeError: hook exploded on purpose" in hook_raises
    assert "command 'broken-cmd': configure raised ValueError: configure broke on purpose" in hook_raises
    assert "returned type" in failed["not_a_list"]["error"] and "not a list" in failed["not_a_list"]["error"]
    assert "wrapper" in failed["wrapper"]["error"]
    takeover = " | ".join(row["error"] for row in rows if row.get("name") == "takeover" and "failed" in row)
    for kind, name in (("system", "llama"), ("renderer", "md"), ("split", "seed"), ("command", "run")):
        assert f"{kind} {name!r} is provided by escbench's built-in plugin" in takeover
    twins = [row for row in rows if row.get("name") in ("twin_a", "twin_b") and "failed" in row]
    assert len(twins) == 2 and all("neither is used" in row["error"] for row in twins)
    assert all(row["distribution"].startswith("escbench-broken") for row in failed.values())
    # the healthy plugin and the built-ins are untouched
    assert loaded["parrot"]["provides"]["systems"] == ["parrot"]
    assert "llama" in loaded["systems"]["provides"]["systems"]
    assert "md" in loaded["leaderboard"]["provides"]["renderers"]
    assert "seed" in loaded["splits"]["provides"]["splits"]
    assert set(loaded["faulty"]["provides"]["systems"]) == {"oom", "flaky", "stringy", "none-text"}
    assert result.returncode == 1  # `plugins` is the health check: broken plugins fail it


def test_help_works_and_a_command_whose_configure_raises_is_left_out(env):
    result = run_cli("--help", env=env)
    assert result.returncode == 0 and "broken-cmd" not in result.stdout and "leaderboard" in result.stdout


def test_list_works_and_warns_about_every_broken_plugin(env):
    systems = run_cli("list", "systems", env=env)
    assert systems.returncode == 0, systems.stderr
    lines = {line.split()[0]: line for line in systems.stdout.splitlines()}
    assert lines["llama"].endswith("[systems]") and lines["parrot"].endswith("[parrot]")
    assert "twin" not in lines and "lonely" not in lines
    for name in BROKEN:
        assert f"plugin {name!r}" in systems.stderr
    splits = run_cli("list", "splits", env=env)
    assert [line.split()[0] for line in splits.stdout.splitlines()].count("seed") == 1
    assert splits.stdout.count("[splits]") >= 1 and "impostor" not in splits.stdout


def test_run_with_raising_systems_and_metrics_writes_the_healthy_records_and_names_each_failure(env, tmp_path):
    out = tmp_path / "out"
    result = run_cli("run", "--systems", "parrot,oom,flaky,stringy,none-text,llama", "--splits", "parrot_mini",
                     "--metrics", "word-count,zero-div,nan-metric,short-per-sample", "--batch-size", "1",
                     "--system-args", "llama:model=/nonexistent/model/folder",
                     "--out", str(out), "--format", "md", env=env)
    assert result.returncode == 1
    err = result.stderr
    assert "system 'oom' (plugin 'faulty' (escbench-broken 0.0.1)) failed in prepare: RuntimeError: CUDA out of memory" in err
    assert "system 'flaky' (plugin 'faulty' (escbench-broken 0.0.1)) failed in generate: ConnectionError: " \
           "connection reset by peer; the 1 generated before stay cached" in err
    assert "system 'stringy'" in err and "returned str 'a plain string' at position 0" in err
    assert "system 'none-text'" in err and "text None (NoneType), not str" in err
    assert "metric 'zero-div' (plugin 'faulty' (escbench-broken 0.0.1)) failed: ZeroDivisionError" in err
    assert "metric 'nan-metric'" in err and "'NaNny' is nan" in err
    assert "metric 'short-per-sample'" in err and "has 2 values for 3 samples" in err
    assert "system 'llama'" in err and "/nonexistent/model/folder" in err  # the built-in, not the impostor
    assert "HIJACKED" not in result.stdout and "| parrot" in result.stdout  # built-in md renderer
    # healthy records are written, strict JSON, with null plus an error for the non-finite score
    record = strict_load((out / "parrot__parrot_mini.json").read_text())
    assert record["scores"]["NaNny"] is None and record["scores"]["Fine"] == 2.5
    assert record["scores"]["Words"] == pytest.approx((11 + 8 + 12) / 3)  # words of the three last seeker turns
    assert set(record["metric_errors"]) == {"zero-div", "nan-metric", "short-per-sample"}
    assert "Short" not in record["scores"]
    for line in (out / "parrot__parrot_mini.samples.jsonl").read_text().splitlines():
        assert set(strict_load(line)["scores"]) == {"Words"}
    written = sorted(p.name for p in out.glob("*.json"))
    assert written == ["parrot__parrot_mini.json"]
    # the flaky system's first generation stays cached; a rerun reuses it
    flaky_cache = [p for p in (out / "cache").glob("flaky-*.jsonl")]
    assert len(flaky_cache) == 1
    assert [strict_load(line)["text"] for line in flaky_cache[0].read_text().splitlines()] == ["reply to pm-1:1"]


def test_traceback_flag_shows_the_full_traceback_of_a_plugin_exception(env, tmp_path):
    args = ("run", "--systems", "oom", "--splits", "parrot_mini", "--metrics", "word-count", "--out", str(tmp_path))
    plain = run_cli(*args, env=env)
    assert "Traceback (most recent call last)" not in plain.stderr
    verbose = run_cli(*args, "--traceback", env=env)
    assert "Traceback (most recent call last)" in verbose.stderr and "faulty.py" in verbose.stderr
    debug = run_cli(*args, env={**env, "ESCBENCH_DEBUG": "1"})
    assert "Traceback (most recent call last)" in debug.stderr
    assert plain.returncode == verbose.returncode == debug.returncode == 1


def test_a_healthy_run_exits_0_although_an_unrelated_plugin_is_broken(env, tmp_path):
    result = run_cli("run", "--systems", "parrot", "--splits", "parrot_mini", "--metrics", "word-count",
                     "--out", str(tmp_path), "--format", "csv", env=env)
    assert result.returncode == 0, result.stderr
    assert "warning: plugin 'broken'" in result.stderr
    assert "parrot on parrot_mini: 0 of 3 generations from the cache, 3 generated" in result.stderr
    again = run_cli("run", "--systems", "parrot", "--splits", "parrot_mini", "--metrics", "word-count",
                    "--out", str(tmp_path), "--format", "csv", env=env)
    assert "parrot on parrot_mini: 3 of 3 generations from the cache, 0 generated" in again.stderr
    fresh = run_cli("run", "--systems", "parrot", "--splits", "parrot_mini", "--metrics", "word-count",
                    "--out", str(tmp_path), "--format", "csv", "--no-cache", env=env)
    assert "parrot on parrot_mini: 0 of 3 generations from the cache, 3 generated" in fresh.stderr


def test_a_refused_name_says_why_when_used(env, tmp_path):
    result = run_cli("run", "--systems", "twin", "--splits", "parrot_mini", "--out", str(tmp_path), env=env)
    assert result.returncode == 2
    assert "system 'twin' cannot be used" in result.stderr and "ESCBENCH_BLOCK_PLUGINS=" in result.stderr
    blocked = run_cli("run", "--systems", "twin", "--splits", "parrot_mini", "--metrics", "word-count",
                      "--out", str(tmp_path), "--format", "csv", env={**env, "ESCBENCH_BLOCK_PLUGINS": "twin_b"})
    assert blocked.returncode == 0, blocked.stderr
    assert strict_load((tmp_path / "twin__parrot_mini.json").read_text())["system"]["plugin"] == "twin_a"


def test_switches_select_third_party_plugins_keep_builtins_and_warn_about_unknown_names(env):
    result = run_cli("plugins", "--json", env={**env, "ESCBENCH_PLUGINS": "parrot,parot",
                                               "ESCBENCH_BLOCK_PLUGINS": "lmeval,escbench-brokn"})
    rows = json.loads(result.stdout)
    names = {row["name"] for row in rows if "name" in row}
    assert "parrot" in names and {"systems", "splits", "metrics", "leaderboard"} <= names
    assert not names & (BROKEN | {"faulty", "lmeval"})
    warnings = " | ".join(row["warning"] for row in rows if "warning" in row)
    assert "ESCBENCH_PLUGINS names 'parot'" in warnings and "ESCBENCH_BLOCK_PLUGINS names 'escbench-brokn'" in warnings
    assert result.returncode == 0
    by_dist = run_cli("plugins", "--json", env={**env, "ESCBENCH_BLOCK_PLUGINS": "escbench-broken"})
    names = {row.get("name") for row in json.loads(by_dist.stdout)}
    assert "parrot" in names and not names & (BROKEN | {"faulty"})
    assert by_dist.returncode == 0


def test_an_unknown_name_points_at_the_plugins_that_failed_to_load(env, tmp_path):
    result = run_cli("run", "--systems", "from-the-broken-one", "--splits", "parrot_mini", "--out", str(tmp_path), env=env)
    assert result.returncode == 2
    assert "unknown system 'from-the-broken-one'" in result.stderr
    assert "plugins that failed to load and may provide it: broken, wrapper" in result.stderr


def test_the_plugins_table_shows_every_failure(env):
    result = run_cli("plugins", env={**env, "COLUMNS": "250"})
    assert result.returncode == 1
    for name in BROKEN:
        assert name in result.stdout
    assert "FAILED in import" in result.stdout and "RuntimeError: hook exploded on purpose" in result.stdout
