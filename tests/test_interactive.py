"""Interactive evaluation (issue 18): `escbench interact` with a scripted simulator, judge and
system on 127.0.0.1, against two systems (the `chatgpt` system and the example plugin's parrot).

The scripted seeker's distress falls by one per supportive reply and stays when it is echoed;
the scripted judge gives hand-chosen scores per (card, system); so every expected number below
is worked out by hand from the script, not from escbench's code."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest

from conftest import REPO, run_cli
from scripted_openai import Reply, ScriptedServer, completion

WARM = "I hear you, that sounds really hard. What happened next?"
CARDS = [
    {"id": "c1", "scene": "Job Loss", "situation": "Laid off after ten years.", "opening": "I lost my job today.",
     "emotion": "anxiety", "intensity": 4},
    {"id": "c2", "scene": "Breakups or Divorce", "situation": "Partner moved out.", "opening": "She left last week."},
    {"id": "c3", "scene": "Academic Stress", "situation": "Exams soon; leaves early.", "opening": "Exams are killing me."},
]
# judge scores by (card, warm?) -> Helpfulness; the other dimensions are 3 (warm) or 1 (parrot)
HELPFULNESS = {("c1", True): 3, ("c2", True): 2, ("c3", True): 3, ("c1", False): 1, ("c2", False): 0, ("c3", False): 1}
DIMENSIONS = ["Informativeness", "Understanding", "Helpfulness", "Consistency", "Coherence"]


class Script:
    """Answers by the request's model: `sim` (seeker), `judge`, `warm` (the chatgpt system)."""

    def __init__(self, judge_override: dict | None = None, seeker_override: dict | None = None):
        self.kill: tuple[int, int] | None = None  # (request number, pid)
        self.judge_override = judge_override or {}
        self.seeker_override = seeker_override or {}
        self.cut_seeker = False

    def __call__(self, number: int, body: dict) -> Reply:
        if self.kill and number >= self.kill[0]:
            os.kill(self.kill[1], signal.SIGKILL)
            self.kill = None
            return Reply(status=503)
        model, messages = body["model"], body["messages"]
        if model == "warm":
            return Reply(content=WARM)
        if model == "sim":
            content = json.dumps({**self.seeker(messages), **self.seeker_override})
            if self.cut_seeker:  # valid JSON, but the server says it stopped at the token limit
                payload = completion(body, content)
                payload["choices"][0]["finish_reason"] = "length"
                return Reply(payload=payload)
            return Reply(content=content)
        text = messages[-1]["content"]
        card = next(c["id"] for c in CARDS if c["scene"] in text)
        warm = WARM in text
        scores = {d: (3 if warm else 1) for d in DIMENSIONS}
        scores["Helpfulness"] = HELPFULNESS[(card, warm)]
        scores.update(self.judge_override)
        return Reply(content=json.dumps(scores))

    @staticmethod
    def seeker(messages: list[dict]) -> dict:
        system = messages[0]["content"]
        own = [json.loads(m["content"]) for m in messages if m["role"] == "assistant"]
        supporter = [m["content"] for m in messages[1:] if m["role"] == "user"]
        distress = own[-1]["distress"] if own else 4
        if own and WARM in supporter[-1]:
            distress = max(1, distress - 1)
        closing = "about to close" in messages[-1]["content"]
        leaves = "leaves early" in system and len(own) == 1
        scene = re.search(r"Area of life: (.+)", system).group(1)
        return {"message": f"{scene}: message {len(own)}", "distress": distress, "end": closing or leaves}


@pytest.fixture
def cards_file(tmp_path):
    path = tmp_path / "cards.jsonl"
    path.write_text("".join(json.dumps(card) + "\n" for card in CARDS), encoding="utf-8")
    return path


def interact_args(url: str, cards_yaml, out, *extra: str) -> list[str]:
    return ["interact", "--split", str(cards_yaml), "--systems", "chatgpt,parrot",
            "--system-args", f"chatgpt:model=warm,base_url={url}/v1", "--simulator-model", "sim",
            "--simulator-base-url", f"{url}/v1", "--judge-model", "judge", "--max-turns", "2",
            "--out", str(out), *extra]


@pytest.fixture
def split_yaml(tmp_path, cards_file):
    path = tmp_path / "mini_interactive.yaml"
    path.write_text(f"split: mini_interactive\nkind: interactive\ncards: {cards_file.name}\nmax_turns: 3\n")
    return path


@pytest.fixture
def env(installed_plugins):
    return {"PYTHONPATH": str(installed_plugins), "OPENAI_API_KEY": ""}


def records(out) -> dict[str, dict]:
    found = {}
    for path in out.glob("*.json"):
        record = json.loads(path.read_text())
        found[record["system"]["name"]] = record
    return found


def samples(out, record) -> dict[str, dict]:
    lines = (out / record["samples_file"]).read_text().splitlines()
    return {row["id"]: row for row in map(json.loads, lines)}


def test_two_systems_talk_with_the_simulator_and_are_judged(tmp_path, split_yaml, env):
    out = tmp_path / "results"
    with ScriptedServer(Script(), models=("warm", "sim", "judge")) as server:
        result = run_cli(*interact_args(server.url, split_yaml, out), env=env)
    assert result.returncode == 0, result.stderr
    found = records(out)
    assert set(found) == {"chatgpt", "parrot"}
    warm, parrot = samples(out, found["chatgpt"]), samples(out, found["parrot"])
    # c1 with the warm system: seeker, system, seeker, system, closing seeker (max 2 replies)
    assert [(t["role"], t["text"]) for t in warm["c1"]["turns"]] == [
        ("user", "Job Loss: message 0"), ("ai", WARM), ("user", "Job Loss: message 1"), ("ai", WARM),
        ("user", "Job Loss: message 2")]
    assert [t["distress"] for t in warm["c1"]["turns"] if t["role"] == "user"] == [4, 3, 2]
    # c3's seeker leaves after the first reply; the parrot echoes the seeker's message
    assert [t["role"] for t in warm["c3"]["turns"]] == ["user", "ai", "user"]
    assert parrot["c1"]["turns"][1]["text"] == "Job Loss: message 0"
    # judge scores: hand-chosen per card, means over the three conversations
    assert found["chatgpt"]["scores"]["J-Hel."] == pytest.approx((3 + 2 + 3) / 3)
    assert found["parrot"]["scores"]["J-Hel."] == pytest.approx((1 + 0 + 1) / 3)
    assert found["chatgpt"]["scores"]["J-Inf."] == 3 and found["parrot"]["scores"]["J-Coh."] == 1
    # distress: warm 4->2 (c1, c2) and 4->3 (c3 leaves early); echoed: no change
    assert found["chatgpt"]["scores"]["Distress-drop"] == pytest.approx((2 + 2 + 1) / 3)
    assert found["parrot"]["scores"]["Distress-drop"] == 0
    # the warm system says the same thing every turn: c1 and c2 repeat 1 of 2 replies, c3 none
    assert found["chatgpt"]["scores"]["Rep"] == pytest.approx((50 + 50 + 0) / 3)
    assert found["chatgpt"]["scores"]["Len"] == len(WARM.split())
    assert "Strat-div" not in found["chatgpt"]["scores"]  # neither system predicts strategies


def test_leaderboard_shows_interactive_columns_intervals_and_conversations(tmp_path, split_yaml, env):
    out = tmp_path / "results"
    with ScriptedServer(Script(), models=("warm", "sim", "judge")) as server:
        assert run_cli(*interact_args(server.url, split_yaml, out), env=env).returncode == 0
    board = run_cli("leaderboard", str(out), "--format", "json", "--columns", "all", "--ci", "--significance",
                    "--resamples", "200", env=env)
    assert board.returncode == 0, board.stderr
    table = json.loads(board.stdout)
    text = json.dumps(table)
    assert "J-Hel." in text and "Distress-drop" in text
    rows = {row["system"]: row for row in table["rows"] if row["column"] == "J-Hel."}
    low, high = rows["ChatGPT"]["low"], rows["ChatGPT"]["high"]
    # a percentile bootstrap of the mean of (3, 2, 3) lies between the smallest and largest value
    assert 2 <= low <= (3 + 2 + 3) / 3 <= high <= 3 and low < high
    # paired over conversations: warm - parrot is 2 on every card, so every resample's delta is 2;
    # centred on their mean none is as far from 0 as 2, so p = 1 / 201 and the best is marked
    assert rows["ChatGPT"]["best"] and rows["ChatGPT"]["mark"] == "†"
    assert not any("No interval" in note for note in table["tables"][0]["notes"])
    for fmt in ("md", "latex", "csv"):
        rendered = run_cli("leaderboard", str(out), "--format", fmt, env=env)
        assert rendered.returncode == 0 and "J-Hel." in rendered.stdout and "Distress" in rendered.stdout, fmt
    html = tmp_path / "board.html"
    assert run_cli("leaderboard", str(out), "--format", "html", "--out", str(html), env=env).returncode == 0
    page = html.read_text()
    assert "Job Loss: message 2" in page and "Role card c1" in page  # a conversation read in full


def test_killed_run_resumes_without_resending_finished_turns(tmp_path, split_yaml, env):
    clean, resumed = tmp_path / "clean", tmp_path / "resumed"
    full_env = {**os.environ, **env}
    one_at_a_time = ("--batch-size", "1", "--concurrency", "1")
    with ScriptedServer(Script(), models=("warm", "sim", "judge"), max_requests=500) as server:
        assert run_cli(*interact_args(server.url, split_yaml, clean, *one_at_a_time), env=env).returncode == 0
        needed = server.requests
        script = Script()
        server.script = script
        before = server.requests
        process = subprocess.Popen([sys.executable, "-m", "escbench.harness.cli",
                                    *interact_args(server.url, split_yaml, resumed, *one_at_a_time)],
                                   env=full_env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        script.kill = (before + 7, process.pid)
        process.communicate(timeout=300)
        assert process.returncode == -signal.SIGKILL
        cached = sum(len(p.read_text().splitlines()) for p in (resumed / "interactive" / "conversations").glob("*.jsonl"))
        assert cached == 7  # seven requests answered before the kill, each turn appended at once
        restart = server.requests
        again = run_cli(*interact_args(server.url, split_yaml, resumed, *one_at_a_time), env=env)
        assert again.returncode == 0, again.stderr
        sent_after = server.requests - restart
    assert sent_after == needed - cached
    assert {n: r["scores"] for n, r in records(resumed).items()} == {n: r["scores"] for n, r in records(clean).items()}


def test_rerun_sends_nothing(tmp_path, split_yaml, env):
    out = tmp_path / "results"
    with ScriptedServer(Script(), models=("warm", "sim", "judge")) as server:
        assert run_cli(*interact_args(server.url, split_yaml, out), env=env).returncode == 0
        first = server.requests
        assert run_cli(*interact_args(server.url, split_yaml, out), env=env).returncode == 0
        assert server.requests == first


def test_judge_answer_out_of_range_is_a_clear_error(tmp_path, split_yaml, env):
    out = tmp_path / "results"
    with ScriptedServer(Script(judge_override={"Helpfulness": 5}), models=("warm", "sim", "judge")) as server:
        result = run_cli(*interact_args(server.url, split_yaml, out), env=env)
    assert result.returncode == 1
    assert "judge rated 'Helpfulness' 5, not one of [0, 1, 2, 3]" in result.stderr
    assert "conversation 'c1'" in result.stderr and "Traceback" not in result.stderr


def test_simulator_answer_off_the_scale_is_a_clear_error(tmp_path, split_yaml, env):
    with ScriptedServer(Script(seeker_override={"distress": 9}), models=("warm", "sim", "judge")) as server:
        result = run_cli(*interact_args(server.url, split_yaml, tmp_path / "results"), env=env)
    assert result.returncode == 1
    assert "conversation 'c1', seeker turn 0" in result.stderr
    assert "'distress' is 9, not a whole number from 1 to 5" in result.stderr and "Traceback" not in result.stderr


def test_simulator_answer_cut_at_the_token_limit_is_never_used(tmp_path, split_yaml, env):
    script = Script()
    script.cut_seeker = True
    with ScriptedServer(script, models=("warm", "sim", "judge")) as server:
        result = run_cli(*interact_args(server.url, split_yaml, tmp_path / "results"), env=env)
    assert result.returncode == 1
    assert "cut at the token limit (finish_reason length): raise --simulator-max-tokens" in result.stderr
    assert not list((tmp_path / "results").glob("*.json"))


@pytest.mark.parametrize("line, problem", [
    ('{"id": "x", "scene": "Job Loss"}', "field 'opening'"),
    ('{"id": "x", "opening": "hi", "intensity": 7}', "field 'intensity' must be a whole number from 1 to 5"),
    ('{"id": "x", "opening": "hi", "persona": "p"}', "unknown field(s) ['persona']"),
    ('{"opening": "hi"}', "field 'id'"),
    ('not json', "not valid JSON"),
])
def test_bad_role_card_names_file_line_and_field(tmp_path, line, problem):
    cards = tmp_path / "cards.jsonl"
    cards.write_text(json.dumps(CARDS[0]) + "\n" + line + "\n")
    split = tmp_path / "bad.yaml"
    split.write_text("split: bad\nkind: interactive\ncards: cards.jsonl\n")
    result = run_cli("interact", "--split", str(split), "--simulator-model", "sim", "--out", str(tmp_path / "o"))
    assert result.returncode != 0
    assert f"{cards}, line 2" in result.stderr and problem in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_duplicate_card_ids_are_refused(tmp_path):
    from escbench.plugins.interactive.cards import CardError, read_cards

    cards = tmp_path / "cards.jsonl"
    cards.write_text(json.dumps(CARDS[0]) + "\n" + json.dumps(CARDS[0]) + "\n")
    with pytest.raises(CardError, match="card id 'c1' already used on line 1"):
        read_cards(cards)


def test_human_export_of_conversations_and_kappa_with_the_judge(tmp_path, split_yaml, env):
    import csv

    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

    out, sheets = tmp_path / "results", tmp_path / "sheets"
    with ScriptedServer(Script(), models=("warm", "sim", "judge")) as server:
        assert run_cli(*interact_args(server.url, split_yaml, out), env=env).returncode == 0
    exported = run_cli("human", "export", "--results", str(out), "--conversations", "mini_interactive", "--n", "3",
                       "--raters", "2", "--out", str(sheets), env=env)
    assert exported.returncode == 0, exported.stderr
    key = json.loads((sheets / "key.json").read_text())
    assert key["mode"] == "dialogues" and len(key["units"]) == 6  # 3 cards x 2 systems
    units = [json.loads(line) for line in (sheets / "units.jsonl").read_text().splitlines()]
    assert all(u["context"][0]["role"] == "user" and u["reply"] is None for u in units)

    def read(name):
        with open(sheets / name, newline="") as handle:
            return list(csv.DictReader(handle))

    judge = {row["id"]: row for row in read("judge-interactive.csv")}
    for k, changed in ((1, {}), (2, {"Helpfulness": "2"})):  # rater 2 gives every conversation 2 for Helpfulness
        rows = read(f"rater-{k}.csv")
        for row in rows:
            row.update({d: judge[row["id"]][d] for d in DIMENSIONS}, **changed)
        with open(sheets / f"rater-{k}.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    imported = run_cli("human", "import", str(sheets), "--judge", "judge-interactive.csv", env=env)
    assert imported.returncode == 0, imported.stderr
    summary = json.loads((sheets / "summary.json").read_text())
    with_judge = summary["fleiss_kappa_with"]["judge-interactive"]
    assert with_judge["Informativeness"] == pytest.approx(1.0)  # all three agree on every unit
    second = {row["id"]: row for row in read("rater-2.csv")}
    table = [[int(row["Helpfulness"]), int(second[row["id"]]["Helpfulness"]), int(judge[row["id"]]["Helpfulness"])]
             for row in read("rater-1.csv")]  # units x (rater 1, rater 2, judge), categories 0-3
    expected = fleiss_kappa(aggregate_raters(table, n_cat=4)[0])
    assert with_judge["Helpfulness"] == pytest.approx(expected)


@pytest.mark.slow
def test_embedded_smollm2_as_the_system_under_test(tmp_path, split_yaml):
    out = tmp_path / "results"
    script = Script()
    with ScriptedServer(script, models=("sim", "judge")) as server:
        result = run_cli("interact", "--split", str(split_yaml), "--systems", "llama", "--limit", "1",
                         "--max-turns", "1", "--max-new-tokens", "24", "--simulator-model", "sim",
                         "--simulator-base-url", f"{server.url}/v1", "--judge-model", "judge", "--out", str(out))
        judged = [b for b in server.bodies if b["model"] == "judge"]
    assert result.returncode == 0, result.stderr
    record = json.loads((out / "llama__mini_interactive.json").read_text())
    conversation = samples(out, record)["c1"]["turns"]
    assert [t["role"] for t in conversation] == ["user", "ai", "user"]
    reply = conversation[1]["text"]
    assert reply.strip()
    assert len(judged) == 1 and f"Supporter: {reply}" in judged[0]["messages"][-1]["content"]


def test_escbench_run_runs_an_interactive_split_with_the_yamls_simulator_and_judge(tmp_path, cards_file, env):
    out = tmp_path / "results"
    with ScriptedServer(Script(), models=("warm", "sim", "judge")) as server:
        split = tmp_path / "run_interactive.yaml"
        split.write_text(f"split: run_interactive\nkind: interactive\ncards: {cards_file.name}\nmax_turns: 2\n"
                         f"simulator: {{model: sim, base_url: '{server.url}/v1'}}\n"
                         f"judge: {{model: judge, base_url: '{server.url}/v1'}}\n")
        result = run_cli("run", "--splits", str(split), "--systems", "chatgpt,parrot", "--system-args",
                         f"chatgpt:model=warm,base_url={server.url}/v1", "--max-new-tokens", "128", "--out", str(out),
                         env=env)
    assert result.returncode == 0, result.stderr
    found = records(out)
    assert found["chatgpt"]["scores"]["J-Hel."] == pytest.approx((3 + 2 + 3) / 3)
    assert found["parrot"]["scores"]["Distress-drop"] == 0
    assert "J-Hel." in result.stdout  # the run prints the interactive table like any other


def test_escbench_run_names_what_an_interactive_split_lacks(tmp_path, cards_file):
    split = tmp_path / "no_simulator.yaml"
    split.write_text(f"split: no_simulator\nkind: interactive\ncards: {cards_file.name}\n")
    result = run_cli("run", "--splits", str(split), "--systems", "chatgpt", "--out", str(tmp_path / "o"))
    assert result.returncode == 1
    assert f"{split}: `escbench run` needs 'simulator: {{model: ..., base_url: ...}}'" in result.stderr
    odd = tmp_path / "odd.yaml"
    odd.write_text("split: odd\nkind: telepathic\n")
    result = run_cli("run", "--splits", str(odd), "--systems", "chatgpt", "--out", str(tmp_path / "o"))
    assert result.returncode == 1 and "no plugin runs splits of kind 'telepathic'" in result.stderr
