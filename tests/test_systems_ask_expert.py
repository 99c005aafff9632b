"""The ``ask-expert`` system: expert and responder prompts, reading the expert's strategy,
the two-stage generation against a scripted server, errors naming ``expert_*`` /
``responder_*`` settings, and a run where one system's backend is down."""
from __future__ import annotations

import socket

import pytest

from escbench.harness.catalogs import load_strategy_catalog
from escbench.harness.data import Example, Turn
from escbench.harness.errors import ConfigError, SystemUnavailableError
from escbench.harness.plugins import PluginHost
from escbench.harness.registry import GenerationSettings
from escbench.harness.runner import RunConfig, run
from escbench.plugins.systems.ask_expert import AskExpertSystem, dialogue_transcript, parse_advice_strategy
from scripted_openai import Reply, ScriptedServer

EXAMPLE = Example(
    dialogue_id="d1", turn_index=3, reference="ref", scene="Academic Stress", description="",
    context=(Turn("user", "I failed my exam."), Turn("ai", "Oh no, that must be hard.", "Empathetic Statements"),
             Turn("user", "I studied every night.")),
)
ADVICE = "Feeling: crushed\nCause: effort without reward\nStrategy: Emotional Validation\nAdvice: say the pain makes sense"
EXTES = load_strategy_catalog("extes")


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/v1"


def expert_or_responder(number: int, body: dict) -> Reply:
    """Answer expert requests with ADVICE and responder requests with a reply."""
    is_expert = "four lines" in body["messages"][-1]["content"]
    return Reply(content=ADVICE if is_expert else "Of course it hurts after all that work.")


@pytest.mark.parametrize("advice, expected", [
    (ADVICE, "Emotional Validation"),
    ("**Strategy:** [EV]\nAdvice: ...", "Emotional Validation"),
    ("Strategy: Offer Hope, because they need a way forward", "Offer Hope"),
    ("strategy - I would go with reflective statements here", "Reflective Statements"),
    ("Strategy: telepathy", None),
    ("Feeling: sad\nAdvice: listen", None),
    ("", None),
])
def test_the_strategy_line_is_read_against_the_catalog(advice, expected):
    assert parse_advice_strategy(advice, EXTES) == expected


def test_transcript_names_seeker_and_supporter():
    assert dialogue_transcript(EXAMPLE) == (
        "Seeker: I failed my exam.\nSupporter: Oh no, that must be hard.\nSeeker: I studied every night.")


def test_expert_prompt_holds_dialogue_questions_and_every_catalog_strategy():
    messages = AskExpertSystem(expert_base_url="http://127.0.0.1:9/v1").expert_messages(EXAMPLE)
    assert [m["role"] for m in messages] == ["system", "user"]
    question = messages[1]["content"]
    assert "Seeker: I studied every night." in question and "Topic: Academic Stress" in question
    assert "Background:" not in question  # empty description: line dropped
    assert all(name in question for name in EXTES.names)
    for step in ("Feeling:", "Cause:", "Strategy:", "Advice:"):
        assert step in question


def test_responder_prompt_carries_the_advice_before_the_dialogue():
    messages = AskExpertSystem(expert_base_url="http://127.0.0.1:9/v1").responder_messages(EXAMPLE, ADVICE)
    assert messages[0]["role"] == "system" and ADVICE in messages[0]["content"]
    assert [m["content"] for m in messages[1:]] == [t.text for t in EXAMPLE.context]


def test_two_stages_give_the_reply_the_experts_strategy_and_summed_usage():
    with ScriptedServer(expert_or_responder) as server:
        system = AskExpertSystem(expert_model="m", expert_base_url=server.url, advice_max_tokens=40)
        system.prepare()
        generation = system.generate([EXAMPLE], GenerationSettings(max_new_tokens=30))[0]
    expert_body, responder_body = server.bodies
    assert expert_body["max_tokens"] == 40 and responder_body["max_tokens"] == 30
    assert "say the pain makes sense" in responder_body["messages"][0]["content"]
    assert generation.text == "Of course it hurts after all that work."
    assert generation.predicted_strategy == "Emotional Validation"
    assert generation.usage == {"prompt_tokens": 14, "completion_tokens": 6}
    assert ADVICE in generation.raw and generation.text in generation.raw


def test_responder_settings_default_to_the_experts():
    system = AskExpertSystem(expert_model="big", expert_base_url="http://127.0.0.1:9/v1", responder_model="small")
    assert (system.responder.base_url, system.responder.model) == ("http://127.0.0.1:9/v1", "small")


def test_unreachable_expert_names_expert_base_url():
    url = closed_port_url()
    with pytest.raises(SystemUnavailableError, match=rf"system 'ask-expert': setting expert_base_url='{url}'"):
        AskExpertSystem(expert_base_url=url).prepare()


def test_unreachable_responder_names_responder_base_url():
    url = closed_port_url()
    with ScriptedServer() as server:
        with pytest.raises(SystemUnavailableError, match=rf"setting responder_base_url='{url}'"):
            AskExpertSystem(expert_model="m", expert_base_url=server.url, responder_base_url=url).prepare()


def test_a_local_expert_given_a_hub_id_says_how_to_point_at_a_local_copy():
    system = AskExpertSystem(expert_backend="hf", expert_model="some-org/some-model")
    with pytest.raises(SystemUnavailableError, match=r"setting expert_model='some-org/some-model'.*local"):
        system.prepare()


def test_an_unknown_backend_kind_is_a_config_error_naming_it():
    with pytest.raises(ConfigError, match="expert_backend"):
        AskExpertSystem(expert_backend="telegraph")


def test_config_records_both_endpoints_and_every_prompt_hash():
    config = AskExpertSystem(expert_base_url="http://127.0.0.1:9/v1", responder_backend="openai",
                             responder_model="r").config()
    assert config["expert"]["base_url"] == config["responder"]["base_url"] == "http://127.0.0.1:9/v1"
    assert config["responder"]["model"] == "r"
    assert all(len(config[f"{p}_sha256"]) == 64 for p in ("expert_system_prompt", "expert_prompt", "responder_prompt"))


def test_a_run_reports_the_down_system_and_still_runs_the_other(tmp_path):
    import escbench.plugins.splits
    import escbench.plugins.systems

    host = PluginHost(load_entry_points=False)
    host.register(escbench.plugins.systems, name="systems")
    host.register(escbench.plugins.splits, name="splits")
    down = closed_port_url()
    with ScriptedServer(expert_or_responder) as server:
        outcome = run(RunConfig(
            systems=[("chatgpt", {"base_url": down}), ("ask-expert", {"expert_model": "m", "expert_base_url": server.url})],
            splits=["seed"], metrics=[], limit=2, out=tmp_path, settings=GenerationSettings(max_new_tokens=8)), host)
    assert len(outcome.errors) == 1 and "system 'chatgpt': setting base_url=" in outcome.errors[0]
    assert [r["system"]["name"] for r in outcome.records] == ["ask-expert"]
    assert outcome.records[0]["counts"]["generated"] == 2
    assert server.requests == 4  # 2 examples x (expert + responder), nothing from chatgpt


def test_an_expert_answer_cut_at_advice_max_tokens_loses_its_cut_line():  # issue #17
    cut = ADVICE.replace("Strategy: Emotional Validation\nAdvice: say the pain makes sense", "Strategy: Emotional Valid")

    def script(number: int, body: dict) -> Reply:
        if "four lines" not in body["messages"][-1]["content"]:
            return Reply(content="That sounds so hard.")
        payload = {"choices": [{"index": 0, "message": {"role": "assistant", "content": cut}, "finish_reason": "length"}],
                   "usage": {"prompt_tokens": 50, "completion_tokens": 40}}
        return Reply(payload=payload)

    with ScriptedServer(script) as server:
        system = AskExpertSystem(expert_model="m", expert_base_url=server.url, advice_max_tokens=40)
        system.prepare()
        generation = system.generate([EXAMPLE], GenerationSettings(max_new_tokens=30))[0]
    responder_prompt = server.bodies[1]["messages"][0]["content"]
    assert "Cause: effort without reward" in responder_prompt and "Emotional Valid" not in responder_prompt
    assert generation.predicted_strategy is None  # read from complete lines only
    assert "cut at advice_max_tokens=40" in generation.raw
