"""LLM-as-judge against a local OpenAI-compatible server: the judge fills a sheet in the
raters' format, and judge-vs-human agreement is one ``import --judge`` away."""
from __future__ import annotations

import json
import re

import pytest

from escbench.harness.errors import DataError
from local_http import Answer, JSONServer, Request
from scripted_openai import completion

from human_sheets import fill, read_rows


class FakeJudge:
    """Chat completions: scores from the reply's length; every other answer (the first of
    each pair) is prose without JSON, so the judge must retry; ``always_prose`` never gives JSON."""

    def __init__(self):
        self.requests: list[dict] = []
        self.always_prose = False

    def __call__(self, request: Request) -> Answer:
        body = request.json()
        self.requests.append(body)
        user = body["messages"][-1]["content"]
        reply = user.split("Supporter reply to rate:\n", 1)[-1]
        names = re.findall(r'"(\w+)"', body["messages"][0]["content"].split("the keys", 1)[1])
        if self.always_prose or len(self.requests) % 2 == 1:
            content = "Let me think about this reply carefully."
        else:
            score = min(3, len(reply.split()) // 4)
            content = "Scores: " + json.dumps({name: score for name in names})
        return Answer(200, completion(body, content, prompt_tokens=1, completion_tokens=1))


@pytest.fixture
def judge():
    fake = FakeJudge()
    with JSONServer(fake) as server:
        fake.url = server.url + "/v1"
        yield fake


def test_judge_writes_a_sheet_and_import_reports_kappa_with_it(human, export, judge):  # noqa: F811
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

    humans = fill(export)
    status, _, err = human("human", "judge", export, "--model", "fake-judge", "--base-url", judge.url)
    assert status == 0, err
    assert len(judge.requests) == 2 * 30  # one unreadable answer, then a good one, per reply
    header, rows = read_rows(export / "judge-fake-judge.csv")
    key = json.loads((export / "key.json").read_text())
    units = {json.loads(line)["id"]: json.loads(line) for line in (export / "units.jsonl").read_text().splitlines()}
    judged = {row[0]: int(row[header.index("Helpfulness")]) for row in rows}
    assert judged == {unit: min(3, len(units[unit]["reply"].split()) // 4) for unit in key["units"]}

    status, _, _ = human("human", "import", export, "--judge", "judge-fake-judge.csv", "--format", "md")
    summary = json.loads((export / "summary.json").read_text())
    for dimension in ("Informativeness", "Overall"):
        matrix = [[humans[s][unit][dimension] for s in key["sheets"]]
                  + [int(next(r for r in rows if r[0] == unit)[header.index(dimension)])] for unit in key["units"]]
        expected = fleiss_kappa(aggregate_raters(matrix, n_cat=4)[0], method="fleiss")
        assert summary["fleiss_kappa_with"]["judge-fake-judge"][dimension] == pytest.approx(expected, abs=1e-12)


def test_judge_sees_no_system_names(human, export, judge):  # noqa: F811
    human("human", "judge", export, "--model", "fake-judge", "--base-url", judge.url)
    sent = json.dumps(judge.requests)
    assert judge.requests and not re.search(r"\b(oracle|half|hostile)\b", sent)
    assert "Rating emotional-support conversations" in judge.requests[0]["messages"][0]["content"]


def test_interrupted_judge_resumes_from_its_log(human, export, judge):  # noqa: F811
    human("human", "judge", export, "--model", "fake-judge", "--base-url", judge.url)
    (export / "judge-fake-judge.csv").unlink()
    before = len(judge.requests)
    status, _, _ = human("human", "judge", export, "--model", "fake-judge", "--base-url", judge.url)
    assert status == 0 and len(judge.requests) == before
    assert len(read_rows(export / "judge-fake-judge.csv")[1]) == 30


def test_unreadable_answers_are_an_error_naming_the_unit(export, judge):  # noqa: F811
    from escbench.plugins.human.analysis import read_key
    from escbench.harness.guideline import read_guideline
    from escbench.plugins.human.judge import openai_chat, run_judge

    judge.always_prose = True
    chat = openai_chat("fake-judge", judge.url, "not-needed", 0.0, 50)
    first = json.loads((export / "units.jsonl").read_text().splitlines()[0])["id"]
    with pytest.raises(DataError, match=rf"judge answer for unit {first} unreadable after 2 tries \(no JSON object"):
        run_judge(export, read_key(export), read_guideline(), chat, "judge.csv", retries=1)
    assert len(judge.requests) == 2


def test_unreachable_judge_names_the_url(human, export):  # noqa: F811
    status, _, err = human("human", "judge", export, "--model", "m", "--base-url", "http://127.0.0.1:9/v1")
    assert status == 2 and "cannot reach http://127.0.0.1:9/v1" in err


def test_a_judge_answer_cut_at_max_tokens_is_never_used(export, judge):  # noqa: F811  (issue #17)
    from escbench.plugins.human.analysis import read_key
    from escbench.harness.guideline import read_guideline
    from escbench.plugins.human.judge import openai_chat, run_judge

    def cut(request: Request) -> Answer:  # the scores came before the cut, but the answer is cut
        body = request.json()
        names = re.findall(r'"(\w+)"', body["messages"][0]["content"].split("the keys", 1)[1])
        payload = completion(body, json.dumps({name: 2 for name in names}) + " Because the reply is kind and")
        payload["choices"][0]["finish_reason"] = "length"
        return Answer(200, payload)

    with JSONServer(cut) as server:
        chat = openai_chat("fake-judge", server.url + "/v1", "not-needed", 0.0, 50)
        with pytest.raises(DataError, match="cut at --max-tokens"):
            run_judge(export, read_key(export), read_guideline(), chat, "judge.csv", retries=1)
    assert not (export / "judge.jsonl").exists() or (export / "judge.jsonl").read_text() == ""
