"""The `llama` system plugin and the Example -> chat messages conversion it uses."""
from __future__ import annotations

import pytest

from escbench.harness.data import Example, Turn
from escbench.harness.errors import ConfigError, SystemUnavailableError
from escbench.harness.registry import GenerationSettings, System
from escbench.plugins.systems import register_systems, setup_resources
from escbench.harness.prompts import example_to_messages, fill_system_prompt, read_prompt_template
from escbench.harness.paths import resolve_project_path as resolve_prompt_path
from escbench.plugins.systems.llama import DEFAULT_SYSTEM_PROMPT, LlamaSystem

TEMPLATE = "Be kind.\nScene: {scene}.\nStory: {description}"
EXAMPLES = [
    Example(
        dialogue_id="exam-worry",
        turn_index=3,
        context=(
            Turn("user", "I failed my driving test for the third time."),
            Turn("ai", "That must be really disappointing.", strategy="Reflection of Feelings"),
            Turn("user", "It is. I feel so stupid compared to my friends."),
        ),
        reference="Failing a test says nothing about how clever you are.",
        scene="Academic Stress",
        description="The seeker keeps failing a practical exam.",
    ),
    Example(
        dialogue_id="sleepless",
        turn_index=1,
        context=(Turn("user", "Hi. I have not slept properly in weeks."),),
        reference="I am sorry to hear that. What keeps you awake?",
    ),
]


def test_turns_map_to_user_and_assistant_after_the_filled_system_prompt():
    messages = example_to_messages(EXAMPLES[0], TEMPLATE)
    assert messages == [
        {"role": "system", "content": "Be kind.\nScene: Academic Stress.\nStory: The seeker keeps failing a practical exam."},
        {"role": "user", "content": "I failed my driving test for the third time."},
        {"role": "assistant", "content": "That must be really disappointing."},
        {"role": "user", "content": "It is. I feel so stupid compared to my friends."},
    ]


def test_lines_with_only_empty_placeholders_are_dropped():
    assert fill_system_prompt(TEMPLATE, None, "") == "Be kind."
    assert fill_system_prompt(TEMPLATE, "Job Loss", "") == "Be kind.\nScene: Job Loss."
    assert fill_system_prompt('Reply as JSON {"text": ...} about {scene}', "Grief", "") == (
        'Reply as JSON {"text": ...} about Grief'
    )


def test_consecutive_turns_of_one_speaker_are_joined_and_blank_turns_skipped():
    example = Example("d", 4, (Turn("user", "Hello."), Turn("user", "  "), Turn("user", "Are you there?"),
                               Turn("ai", "I am here."), Turn("ai", "Take your time.")), "ref")
    assert example_to_messages(example, "") == [
        {"role": "user", "content": "Hello.\nAre you there?"},
        {"role": "assistant", "content": "I am here.\nTake your time."},
    ]


def test_empty_context_gives_only_the_system_message():
    example = Example("d", 0, (), "Hi, how are you feeling today?")
    assert example_to_messages(example, "Be kind.") == [{"role": "system", "content": "Be kind."}]


def test_max_context_turns_keeps_the_most_recent_turns():
    messages = example_to_messages(EXAMPLES[0], "", max_context_turns=1)
    assert messages == [{"role": "user", "content": "It is. I feel so stupid compared to my friends."}]


def test_default_prompt_file_has_comments_removed_and_both_placeholders():
    template = read_prompt_template(resolve_prompt_path(DEFAULT_SYSTEM_PROMPT))
    assert "#" not in template
    assert "{scene}" in template and "{description}" in template


def test_plugin_registers_the_llama_system():
    classes = register_systems()
    assert LlamaSystem in classes
    assert [c.name for c in classes] == ["llama", "chatgpt", "ask-expert"]
    assert isinstance(LlamaSystem(), System)


def test_the_chatpal_plugin_registers_the_four_students():
    # the students belong with the pipeline and training that produce them (issue 15)
    import escbench.plugins.chatpal

    assert [c.name for c in escbench.plugins.chatpal.register_systems()] == ["augesc", "augesc+dri", "chatpal-w/o-dri", "chatpal"]


def test_bad_max_context_turns_is_a_config_error():
    with pytest.raises(ConfigError, match="max_context_turns"):
        LlamaSystem(max_context_turns=0)


def test_missing_model_path_is_unavailable_naming_llama_and_model(tmp_path):
    system = LlamaSystem(model=str(tmp_path / "no-such-model"))
    with pytest.raises(SystemUnavailableError) as caught:
        system.prepare()
    assert caught.value.system == "llama"
    assert "model=" in str(caught.value)
    assert "no-such-model" in str(caught.value)


def test_missing_prompt_file_is_unavailable_naming_system_prompt(tmp_path):
    system = LlamaSystem(system_prompt=str(tmp_path / "absent.txt"))
    with pytest.raises(SystemUnavailableError, match="system_prompt="):
        system.prepare()


def test_config_is_stable_and_follows_the_prompt_file(tmp_path):
    assert LlamaSystem().config() == LlamaSystem().config()
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Be kind.\n")
    before = LlamaSystem(system_prompt=str(prompt)).config()
    prompt.write_text("Be very kind.\n")
    after = LlamaSystem(system_prompt=str(prompt)).config()
    assert before["system_prompt_sha256"] != after["system_prompt_sha256"]
    assert before["model_sha256"] == after["model_sha256"]
    assert before["system"] == "llama" and before["dtype"] in ("float32", "bfloat16")


@pytest.mark.slow
def test_generates_one_non_empty_reply_per_example_in_order():
    system = LlamaSystem()
    system.prepare()
    finished = []
    settings = GenerationSettings(max_new_tokens=24, batch_size=2)
    generations = system.generate(EXAMPLES, settings, progress=finished.append)
    assert len(generations) == 2
    assert all(g.text and g.text == g.text.strip() for g in generations)
    assert finished == [2]
    alone = system.generate(EXAMPLES[1:], settings)
    assert alone[0].text == generations[1].text


@pytest.mark.slow
def test_setup_resources_reports_the_embedded_model_as_present():
    LlamaSystem().prepare()
    ((resource, message),) = setup_resources(force=False)
    assert resource == "SmolLM2-135M-Instruct"
    assert message.endswith("(already present)")
