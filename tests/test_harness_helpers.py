"""The helpers several plugins share, each with one implementation in the harness (issue 15):
template filling, stop trimming, project-path lookup and atomic writes. Expected values are
worked out by hand."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest

from escbench.harness.jsonl import write_atomic, write_jsonl_atomic
from escbench.harness.models import file_sha256
from escbench.harness.paths import TASKS_DIR, resolve_project_path
from escbench.harness.prompts import fill_placeholders, fill_system_prompt
from escbench.harness.stops import trim_at_stops


def test_filling_a_prompt_drops_lines_whose_placeholders_are_empty_and_keeps_other_braces():
    template = 'Be kind.\nScene: {scene}.\nAbout: {description}\nReply as {"text": ...}'
    assert fill_system_prompt(template, "Job Loss", "  ") == 'Be kind.\nScene: Job Loss.\nReply as {"text": ...}'


def test_filling_a_pipeline_template_inserts_values_as_given_in_one_pass():
    # a value that itself holds a placeholder is not filled again; spacing and empty values are kept
    template = "Dialogue:\n{dialogue}\nScene: {scene}\n"
    filled = fill_placeholders(template, {"dialogue": "  User: {scene}?", "scene": ""}, drop_empty_lines=False)
    assert filled == "Dialogue:\n  User: {scene}?\nScene: \n"


def test_stop_trimming_cuts_at_the_earliest_stop_and_ignores_empty_ones():
    assert trim_at_stops("Sure.\nUser: hi\nAssistant: x", ["Assistant:", "\nUser:"]) == "Sure."
    assert trim_at_stops("no stop here", ["", "###"]) == "no stop here"
    assert trim_at_stops("", ["x"]) == ""


def test_project_paths_are_found_from_any_working_directory(tmp_path):
    script = ("from escbench.harness.paths import resolve_project_path as r; "
              "print(r('tasks/prompts/llama/system.txt')); print(r('mine.txt'))")
    (tmp_path / "mine.txt").write_text("x")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True)
    shipped, local = done.stdout.splitlines()
    assert shipped == str(TASKS_DIR / "prompts" / "llama" / "system.txt")
    assert local == str(tmp_path / "mine.txt")  # a file in the current folder wins
    assert resolve_project_path(tmp_path / "absent.txt") == tmp_path / "absent.txt"


def test_atomic_writes_replace_the_whole_file_and_leave_nothing_behind_on_failure(tmp_path):
    target = tmp_path / "deep" / "out.jsonl"
    write_jsonl_atomic(target, [{"a": 1}, {"b": "é"}])
    assert target.read_text(encoding="utf-8") == '{"a": 1}\n{"b": "é"}\n'
    assert file_sha256(target) == hashlib.sha256(target.read_bytes()).hexdigest()
    with pytest.raises(TypeError):  # not JSON-able: refused before the old content is touched
        write_jsonl_atomic(target, [{"a": 2}, {"b": object()}])
    assert target.read_text(encoding="utf-8") == '{"a": 1}\n{"b": "é"}\n'
    write_atomic(target, "new\n")
    assert target.read_text() == "new\n" and sorted(os.listdir(target.parent)) == ["out.jsonl"]
