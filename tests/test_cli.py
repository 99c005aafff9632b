"""Command-line parsing and start-up cost."""
from __future__ import annotations

import subprocess
import sys

import pytest

from escbench.harness.cli import build_parser, build_run_config, parse_assignments
from escbench.harness.errors import ConfigError


def test_help_lists_plugin_commands_without_importing_heavy_libraries():
    code = ("import sys, escbench.harness.cli as c\n"
            "try:\n    c.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('torch', 'transformers', 'nltk', 'gensim', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
    for command in ("run", "score", "leaderboard", "plugins", "setup"):
        assert f"    {command}" in out


def test_assignments_apply_to_one_or_all_items():
    parsed = parse_assignments(["llama:model=/m,dtype=bfloat16", "max_context_turns=4"], ["llama", "chatpal"], "--system-args")
    assert parsed == {"llama": {"model": "/m", "dtype": "bfloat16", "max_context_turns": 4},
                      "chatpal": {"max_context_turns": 4}}


def test_assignment_to_a_system_not_in_the_run_is_an_error():
    with pytest.raises(ConfigError, match="'ghost' is not among"):
        parse_assignments(["ghost:x=1"], ["llama"], "--system-args")


def test_run_file_and_flags_combine_with_flags_winning(tmp_path):
    run_file = tmp_path / "run.yaml"
    run_file.write_text(
        "systems: [llama, {name: parrot, args: {prefix: 'P: '}}]\n"
        "splits: [seed]\nmetrics: [bleu]\ngeneration: {max_new_tokens: 20, seed: 3}\nlimit: 5\n"
    )
    args = build_parser(False).parse_args(["run", "--config", str(run_file), "--seed", "9", "--sample", "--limit", "2"])
    config = build_run_config(args)
    assert config.systems == [("llama", {}), ("parrot", {"prefix": "P: "})]
    assert config.metrics == [("bleu", {})]
    assert (config.settings.max_new_tokens, config.settings.seed, config.settings.do_sample) == (20, 9, True)
    assert config.limit == 2


def test_a_system_named_twice_in_one_run_is_refused():
    args = build_parser(False).parse_args(["run", "--systems", "llama,llama"])
    with pytest.raises(ConfigError, match="each system may appear once"):
        build_run_config(args)
