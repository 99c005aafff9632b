"""``dri`` (Diverse Response Inpainting) and ``augment`` (AugESC recipe) against the scripted teacher."""
from __future__ import annotations

import json
from pathlib import Path

from fake_openai_server import Faults, FakeServer, FakeTeacher
from escbench.harness.catalogs import load_strategy_catalog
from escbench.harness.loaders import load_dialogues
from escbench.plugins.chatpal.augment import load_posts
from escbench.plugins.chatpal.dri import choose_turns
from escbench.harness.cli import main

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "tasks" / "seed" / "seed_dialogues.json"
DRI_KEYS = {"dialogue_id", "turn_index", "original", "alternatives", "teacher", "k"}


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_dri_writes_one_record_per_supporter_turn_in_the_agreed_schema(tmp_path):
    out = tmp_path / "dri"
    with FakeServer() as server:
        assert main(["dri", "--data", str(SEEDS), "--limit", "2", "--k", "3", "--teacher-url", server.url,
                     "--out", str(out)]) == 0
    records = read_jsonl(out / "dri.jsonl")
    seeds = load_dialogues(SEEDS).dialogues[:2]
    expected = [(d.id, i) for d in seeds for i in d.supporter_turn_indices()]
    assert [(r["dialogue_id"], r["turn_index"]) for r in records] == expected
    first, seed = records[0], seeds[0]
    assert set(first) == DRI_KEYS
    assert first["original"] == {"text": seed.turns[first["turn_index"]].text,
                                 "strategy": seed.turns[first["turn_index"]].strategy}
    assert first["k"] == 3 and len(first["alternatives"]) == 3
    # Labelled by default, in the same request: every alternative carries its own catalog name.
    catalog = load_strategy_catalog("extes")
    assert all(set(a) == {"text", "strategy"} and catalog.normalize(a["strategy"]) == a["strategy"]
               for a in first["alternatives"])
    assert first["teacher"]["model"] == "teacher" and len(first["teacher"]["request_keys"]) == 1
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["expansion factor"] == 4.0


def test_dri_prompt_masks_exactly_the_inpainted_turn(tmp_path):
    with FakeServer() as server:
        assert main(["dri", "--data", str(SEEDS), "--limit", "1", "--teacher-url", server.url,
                     "--out", str(tmp_path)]) == 0
    journal = read_jsonl(tmp_path / "journal.jsonl")
    seed = load_dialogues(SEEDS).dialogues[0]
    for record in journal:
        prompt = record["messages"][-1]["content"]
        index = record["tag"]["turn_index"]
        assert prompt.count("AI: [New response]") == 1
        assert seed.turns[index].text not in prompt
        assert all(t.text in prompt for i, t in enumerate(seed.turns) if i != index)


def test_no_label_strategies_asks_for_bare_replies(tmp_path):
    with FakeServer() as server:
        assert main(["dri", "--data", str(SEEDS), "--limit", "1", "--k", "2", "--no-label-strategies",
                     "--teacher-url", server.url, "--out", str(tmp_path)]) == 0
    records = read_jsonl(tmp_path / "dri.jsonl")
    assert records and all(a["strategy"] is None for r in records for a in r["alternatives"])
    journal = read_jsonl(tmp_path / "journal.jsonl")
    assert all("[<strategy>]" not in j["messages"][-1]["content"] for j in journal)


def test_dri_drops_repeated_replies_and_labels_strategies_by_default(tmp_path):
    teacher = FakeTeacher(Faults(content={"duplicate": 0.5}))
    with FakeServer(teacher) as server:
        assert main(["dri", "--data", str(SEEDS), "--limit", "3", "--k", "4",
                     "--teacher-url", server.url, "--out", str(tmp_path)]) == 0
    records = read_jsonl(tmp_path / "dri.jsonl")
    sizes = [len(r["alternatives"]) for r in records]
    duplicated = sum(1 for fault in teacher.content_faults.values() if fault == "duplicate")
    assert sizes.count(3) == duplicated > 0 and sizes.count(4) == len(records) - duplicated
    assert all(a["strategy"] for r in records for a in r["alternatives"])  # catalog names, normalised


def test_dri_fraction_picks_the_same_turns_every_time():
    dialogues = load_dialogues(SEEDS).dialogues[:20]
    half = choose_turns(dialogues, 0.5, seed=3)
    assert half == choose_turns(dialogues, 0.5, seed=3)
    total = sum(len(d.supporter_turn_indices()) for d in dialogues)
    assert 0.35 * total < len(half) < 0.65 * total
    assert choose_turns(dialogues, 0.5, seed=4) != half


class RefusingTeacher(FakeTeacher):
    def content(self, body: dict, fp: str) -> tuple[str, str]:
        return "I would rather not answer that.", "stop"


def test_dri_unparseable_answers_are_rejected_with_a_reason(tmp_path):
    with FakeServer(RefusingTeacher()) as server:
        assert main(["dri", "--data", str(SEEDS), "--limit", "1", "--teacher-url", server.url,
                     "--out", str(tmp_path)]) == 0
    rejects = read_jsonl(tmp_path / "rejects.jsonl")
    assert (tmp_path / "dri.jsonl").read_text() == ""
    assert {r["reason"] for r in rejects} == {"unparseable"}
    assert len(rejects) == len(load_dialogues(SEEDS).dialogues[0].supporter_turn_indices())


def test_augment_completes_dialogues_from_posts_without_strategies(tmp_path):
    posts = tmp_path / "posts.txt"
    posts.write_text("I failed my driving test for the third time.\n\nMy best friend moved abroad.\n")
    out = tmp_path / "aug"
    with FakeServer() as server:
        assert main(["augment", "--posts", str(posts), "--per-post", "2", "--teacher-url", server.url,
                     "--out", str(out)]) == 0
    dialogues = json.loads((out / "dialogues.json").read_text())
    assert len(dialogues) == 4
    assert [d["provenance"]["situation"] for d in dialogues] == ["I failed my driving test for the third time."] * 2 + [
        "My best friend moved abroad."] * 2
    assert all("AI Strategy" not in turn for d in dialogues for turn in d["content"])
    assert len(load_dialogues(out / "dialogues.json").dialogues) == 4


def test_posts_come_from_dialogue_files_and_json_lists(tmp_path):
    from_seeds = load_posts(SEEDS)
    assert len(from_seeds) == len(json.loads(SEEDS.read_text())) and from_seeds[0].scene == "Breakups or Divorce"
    listing = tmp_path / "posts.json"
    listing.write_text(json.dumps([{"situation": "Lost my job.", "scene": "Job Loss or Career Setbacks"}, "Cannot sleep."]))
    assert [(p.text, p.scene) for p in load_posts(listing)] == [("Lost my job.", "Job Loss or Career Setbacks"),
                                                                ("Cannot sleep.", None)]
