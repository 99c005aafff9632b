"""Issue #17, the commands: a cut answer is never kept, the dry-run bound holds, permanent
failures are recorded once and block nothing, the output folder is locked, and the smaller
points (dry-run creates nothing, a mid-run 401 keeps what was received, copied turns, stats)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from fake_openai_server import Faults, FakeServer, FakeTeacher, fingerprint
from escbench.harness.cli import main
from escbench.harness.loaders import load_dialogues

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "tasks" / "seed" / "seed_dialogues.json"
FOUR_SCENES = "Academic Stress,Caregiver Support,Anxiety and Panic,Career Transitions"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def dri_args(server: FakeServer, out: Path, *extra: str) -> list[str]:
    return ["dri", "--data", str(SEEDS), "--limit", "1", "--k", "3", "--teacher-url", server.url,
            "--out", str(out), "--max-retries", "2", *extra]


def expand_args(server: FakeServer, out: Path, *extra: str) -> list[str]:
    return ["expand", "--teacher-url", server.url, "--out", str(out), "--scenes", FOUR_SCENES,
            "--distribution", "uniform", "--concurrency", "4", *extra]


# -- 1. a reply cut at max_tokens is never kept -----------------------------------------------------
class CuttingTeacher(FakeTeacher):
    """DRI answers: three complete replies and a fourth cut mid-word (finish_reason length);
    with ``only_cut``, a single cut reply."""

    def __init__(self, only_cut: bool = False):
        super().__init__()
        self.only_cut = only_cut

    def content(self, body: dict, fp: str) -> tuple[str, str]:
        if self.only_cut:
            return "1. You could try to take one calm moment at the", "length"
        return ("1. That sounds exhausting, and it makes sense you feel drained.\n"
                "2. What part of the week weighs on you the most right now?\n"
                "3. You have handled hard weeks before; what helped you then?\n"
                "4. Could you tell me a little more about wh"), "length"


def test_dri_drops_the_reply_cut_at_max_tokens_and_records_the_finish_reason(tmp_path):
    with FakeServer(CuttingTeacher()) as server:
        assert main(dri_args(server, tmp_path, "--k", "4")) == 0
    records = read_jsonl(tmp_path / "dri.jsonl")
    assert records and all(len(r["alternatives"]) == 3 for r in records)
    assert all(not a["text"].endswith("wh") for r in records for a in r["alternatives"])
    assert {r["teacher"]["finish_reason"] for r in records} == {"length"}
    report = json.loads((tmp_path / "report.json").read_text())
    rows = dict((row[0], row[1]) for row in report["tables"][0]["rows"])
    assert rows["dropped: truncated"] == len(records)


def test_dri_rejects_an_answer_with_no_complete_reply_as_truncated(tmp_path):
    with FakeServer(CuttingTeacher(only_cut=True)) as server:
        assert main(dri_args(server, tmp_path)) == 0
    assert (tmp_path / "dri.jsonl").read_text() == ""
    rejects = read_jsonl(tmp_path / "rejects.jsonl")
    assert rejects and {(r["reason"], r["finish_reason"]) for r in rejects} == {("truncated", "length")}


# -- 2. the dry-run bound covers the whole run --------------------------------------------------
COST = re.compile(r"largest possible cost ([\d.]+) USD")
BOUND = re.compile(r"at most (\d+) HTTP requests, (\d+) prompt \+ (\d+) completion tokens")


@pytest.mark.parametrize("extra, faults", [
    (("--iterations", "2"), Faults()),
    (("--refill-rounds", "2"), Faults(content={"truncated": 0.5})),
    (("--max-retries", "3"), Faults(first_attempt_500=0.5, burst_429=(1, 4), retry_after_ms=5)),
])
def test_the_dry_run_bound_is_never_below_what_the_run_spends(tmp_path, capsys, extra, faults):
    prices = tmp_path / "prices.yaml"
    prices.write_text("per_tokens: 1000000\nmodels:\n  teacher: {prompt: 2.0, completion: 10.0}\n")
    out = tmp_path / "out"
    args = ["--per-scene", "2", "--max-tokens", "400", "--prices", str(prices), *extra]
    with FakeServer(FakeTeacher(faults)) as server:
        assert main(expand_args(server, out, *args, "--dry-run")) == 0
        printed = capsys.readouterr().out
        main(expand_args(server, out, *args))
    spent = json.loads((out / "report.json").read_text())["usage"]["this_run"]
    assert spent["requests_sent"] == sum(server.received.values()) > 8  # more than iteration 1's first round
    assert 0 < spent["cost"] <= float(COST.search(printed)[1])
    requests, prompt, completion = map(int, BOUND.search(printed).groups())
    assert spent["requests_sent"] <= requests
    assert spent["prompt_tokens"] <= prompt and spent["completion_tokens"] <= completion


# -- 3. a permanent 400 is recorded once and blocks nothing ----------------------------------------
class ContextLimitTeacher(FakeTeacher):
    """Every expansion prompt for one scene is "too long": HTTP 400, as a real server answers it."""

    def answer(self, body: dict, attempt: int, arrival: int):
        if "Caregiver Support" in body["messages"][-1]["content"]:
            return 400, {"error": {"message": "This model's maximum context length is 8192 tokens",
                                   "type": "invalid_request_error", "code": "context_length_exceeded"}}, 0.0
        return super().answer(body, attempt, arrival)


def test_a_permanent_400_is_its_own_reason_is_not_resent_and_later_iterations_run(tmp_path):
    out = tmp_path / "out"
    teacher = ContextLimitTeacher()
    with FakeServer(teacher) as server:
        args = expand_args(server, out, "--per-scene", "1", "--iterations", "2", "--max-retries", "3")
        assert main(args) == 0
        first = dict(server.received)
        _dialogues, report = json.loads((out / "dialogues.json").read_text()), json.loads((out / "report.json").read_text())
        rejects = read_jsonl(out / "rejects.jsonl")
        assert [i["iteration"] for i in report["iterations"]] == [1, 2]  # not blocked
        assert Counter(r["reason"] for r in rejects) == {"request_rejected": 2}
        assert all("context length" in r["detail"] for r in rejects)
        refused = [fp for fp, n in first.items() if n == 1 and fp not in server.answered]
        assert len(refused) == 2  # each sent once: a 400 is not retried
        assert main(args) == 0  # a re-run sends nothing: answers and refusals are in the journal
        assert dict(server.received) == first
        assert Counter(r["reason"] for r in read_jsonl(out / "rejects.jsonl")) == {"request_rejected": 2}
        assert main(args + ["--retry-failed"]) == 0  # unless asked to
        assert all(server.received[fp] == 2 for fp in refused)


# -- 5. the output folder is locked for the whole run ----------------------------------------------
def test_a_second_run_into_the_same_folder_is_refused_naming_the_holder(tmp_path, capsys):
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from escbench.harness.folder_lock import FolderLock; "
         f"lock = FolderLock({str(out)!r}, 'escbench dri (the first run)').acquire(); print('held', flush=True); time.sleep(60)"],
        cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with FakeServer() as server:
            code = main(dri_args(server, out, "--journal", str(tmp_path / "other.jsonl")))
            assert sum(server.received.values()) == 0
    finally:
        holder.kill()
        holder.wait()
    assert code == 2
    message = capsys.readouterr().err
    assert str(out) in message and f"pid {holder.pid}" in message and "the first run" in message
    assert not (out / "dri.jsonl").exists() and not (tmp_path / "other.jsonl").exists()


# -- 9. smaller points -----------------------------------------------------------------------------
def test_dri_dry_run_creates_neither_journal_nor_lock_nor_folder(tmp_path, capsys):
    with FakeServer() as server:
        assert main(dri_args(server, tmp_path / "out", "--dry-run")) == 0
        assert sum(server.received.values()) == 0
    assert not (tmp_path / "out").exists()
    assert "largest possible cost" in capsys.readouterr().out


class RevokedKeyServer(FakeServer):
    """Answers the first ``good`` requests, then 401 (a key revoked mid-run)."""

    def __init__(self, good: int):
        self.good = good
        super().__init__(FakeTeacher())

    def handle(self, body: dict):
        if self.arrivals >= self.good:
            self.arrivals += 1
            return 401, {"error": {"message": "Incorrect API key provided"}}, 0.0, fingerprint(body)
        return super().handle(body)


def test_a_401_mid_run_keeps_the_answers_already_received(tmp_path, capsys):
    with RevokedKeyServer(good=3) as server:
        code = main(dri_args(server, tmp_path, "--concurrency", "1"))
    assert code == 2 and "--teacher-key-env" in capsys.readouterr().err
    records = read_jsonl(tmp_path / "dri.jsonl")
    assert len(records) == 3 and len(read_jsonl(tmp_path / "journal.jsonl")) == 3
    assert {r["reason"] for r in read_jsonl(tmp_path / "rejects.jsonl")} == {"not_sent"}


class CopyingTeacher(FakeTeacher):
    """The second reply repeats another supporter turn of the same dialogue."""

    def content(self, body: dict, fp: str) -> tuple[str, str]:
        prompt = body["messages"][-1]["content"]
        other = [line[4:] for line in prompt.splitlines() if line.startswith("AI: ") and "[New response]" not in line][0]
        return ("1. I hear how heavy this has been for you lately.\n"
                f"2. {other}\n3. Would it help to plan one small step for tomorrow?"), "stop"


def test_dri_drops_a_reply_copied_from_another_supporter_turn(tmp_path):
    with FakeServer(CopyingTeacher()) as server:
        assert main(dri_args(server, tmp_path)) == 0
    seed = load_dialogues(SEEDS).dialogues[0]
    others = {turn.text for turn in seed.turns if turn.role == "ai"}
    records = read_jsonl(tmp_path / "dri.jsonl")
    assert records and all(len(r["alternatives"]) == 2 for r in records)
    assert not any(a["text"] in others for r in records for a in r["alternatives"])


def test_stats_refuses_an_empty_file_and_warns_about_a_torn_line_plainly(tmp_path, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main(["stats", str(empty)]) == 2
    assert str(empty) in capsys.readouterr().err
    torn = tmp_path / "torn.jsonl"
    good = {"id": "d1", "turns": [{"role": "user", "text": "I feel low."}, {"role": "ai", "text": "I am here."}]}
    torn.write_text(json.dumps(good) + "\n" + json.dumps(good)[:20])
    assert main(["stats", str(torn)]) == 0
    err = capsys.readouterr().err
    assert "line 2" in err and "warnings.warn" not in err and "UserWarning" not in err


class CutAfterTheJSONTeacher(FakeTeacher):
    """A complete dialogue, then prose cut off at max_tokens."""

    def content(self, body: dict, fp: str) -> tuple[str, str]:
        text, _finish = super().content(body, fp)
        return text + "\n\nI hope this dialogue shows how the supporter can", "length"


def test_expand_never_keeps_an_answer_cut_at_max_tokens_even_after_complete_json(tmp_path):
    out = tmp_path / "out"
    with FakeServer(CutAfterTheJSONTeacher()) as server:
        assert main(expand_args(server, out, "--per-scene", "1")) == 0
    rejects = read_jsonl(out / "rejects.jsonl")
    assert json.loads((out / "dialogues.json").read_text()) == []
    assert len(rejects) == 4 and {(r["reason"], r["finish_reason"]) for r in rejects} == {("truncated", "length")}


class RefusingNullTeacher(FakeTeacher):
    """``content: null`` with a refusal, as OpenAI sends a declined request."""

    @staticmethod
    def _completion(body: dict, text: str, finish: str = "stop") -> dict:
        payload = FakeTeacher._completion(body, text, finish)
        payload["choices"][0]["message"] = {"role": "assistant", "content": None, "refusal": "I can't help with that."}
        return payload


def test_a_refusal_is_rejected_as_refused_not_as_unparseable(tmp_path):
    with FakeServer(RefusingNullTeacher()) as server:
        assert main(dri_args(server, tmp_path)) == 0
        assert sum(server.received.values()) == len(read_jsonl(tmp_path / "journal.jsonl"))  # not retried
    rejects = read_jsonl(tmp_path / "rejects.jsonl")
    assert rejects and {r["reason"] for r in rejects} == {"refused"}
    assert all("I can't help with that." in r["detail"] for r in rejects)
