"""Toxicity: Perspective against a scripted local server, the offline lexicon, Detoxify's errors."""
from __future__ import annotations

import json
import time

import pytest

from escbench.harness.errors import ConfigError, MetricUnavailableError
from local_http import Answer, Request, RoutedServer
from escbench.harness.registry import Sample
from escbench.plugins.metrics.detox import detoxify_attributes
from escbench.plugins.metrics.lexicon import lexicon_scores, load_lexicon
from escbench.plugins.metrics.toxicity import DetoxifyToxicity, LexiconToxicity, PerspectiveToxicity

KEY = "test-key-8f3a91c2e7"
ATTRIBUTES = ("TOXICITY", "SEVERE_TOXICITY", "IDENTITY_ATTACK", "INSULT", "PROFANITY", "THREAT")


def answer(value: float) -> tuple[int, dict, dict]:
    return 200, {"attributeScores": {a: {"summaryScore": {"value": value + i / 100, "type": "PROBABILITY"}}
                                     for i, a in enumerate(ATTRIBUTES)}, "languages": ["en"]}, {}


class PerspectiveServer(RoutedServer):
    """A Perspective stand-in on 127.0.0.1 answering each POST with the next scripted
    (status, JSON body, headers); it records every request it gets."""

    url_path = ""

    def __init__(self, script):
        self.script = list(script)
        self.requests: list[dict] = []
        super().__init__()

    def route(self, request: Request) -> Answer:
        self.requests.append({"path": request.path, "headers": request.headers, "body": request.json(),
                              "at": time.monotonic()})
        status, payload, headers = self.script.pop(0) if self.script else (500, {}, {})
        return Answer(status, payload, headers)


@pytest.fixture
def environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSPECTIVE_API_KEY", KEY)
    monkeypatch.setenv("ESCBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path


def metric(server, **options):
    settings = {"base_url": server.url, "qps": 1000, "backoff": 0.01, "max_retries": 2}
    return PerspectiveToxicity(**{**settings, **options})


def assert_key_absent(*texts):
    for text in texts:
        assert KEY not in text


def test_scores_are_averaged_per_attribute_and_the_key_travels_only_in_a_header(environment):
    with PerspectiveServer([answer(0.10), answer(0.30)]) as server:
        result = metric(server).compute([Sample("a", "You idiot.", "r"), Sample("b", "Thanks!", "r")])
    assert result.scores["Toxicity"] == pytest.approx(0.20)
    assert result.scores["Threat"] == pytest.approx(0.25)
    assert result.per_sample["Insult"] == pytest.approx([0.13, 0.33])
    first = server.requests[0]
    assert first["path"] == "/v1alpha1/comments:analyze"
    assert first["headers"]["x-goog-api-key"] == KEY
    assert first["body"]["comment"]["text"] == "You idiot."
    assert sorted(first["body"]["requestedAttributes"]) == sorted(ATTRIBUTES)
    assert first["body"]["languages"] == ["en"] and first["body"]["doNotStore"] is True
    assert_key_absent(first["path"], json.dumps(result.scores), json.dumps(result.per_sample))


def test_429_is_retried_after_the_servers_retry_after(environment):
    with PerspectiveServer([(429, {"error": "quota"}, {"Retry-After": "0"}), answer(0.5)]) as server:
        result = metric(server).compute([Sample("a", "hello", "r")])
    assert len(server.requests) == 2
    assert result.scores["Toxicity"] == pytest.approx(0.5)


def test_persistent_5xx_fails_with_a_message_without_the_key(environment):
    script = [(500, {"error": KEY}, {}), (503, {}, {}), (502, {}, {})]
    with PerspectiveServer(script) as server:
        with pytest.raises(MetricUnavailableError) as raised:
            metric(server, max_retries=2).compute([Sample("a", "hello", "r")])
    assert len(server.requests) == 3
    assert "HTTP 502 after 3 tries" in str(raised.value)
    assert_key_absent(str(raised.value), repr(raised.value))


def test_refused_key_names_the_variable_not_the_key(environment):
    with PerspectiveServer([(403, {"error": {"message": f"API key {KEY} not valid"}}, {})]) as server:
        with pytest.raises(MetricUnavailableError, match="PERSPECTIVE_API_KEY") as raised:
            metric(server).compute([Sample("a", "hello", "r")])
    assert_key_absent(str(raised.value))


def test_a_text_the_api_refuses_gets_no_value(environment):
    with PerspectiveServer([answer(0.2), (400, {"error": "language"}, {})]) as server:
        result = metric(server).compute([Sample("a", "hello", "r"), Sample("b", "hola", "r")])
    assert result.per_sample["Toxicity"] == [pytest.approx(0.2), None]
    assert result.scores["Toxicity"] == pytest.approx(0.2)
    assert result.scores["Tox-unscored"] == 1.0  # counted and shown next to the score


def test_when_every_text_is_refused_the_metric_fails_instead_of_scoring_zero(environment):
    refusal = (400, {"error": {"message": "Attribute TOXICITY does not support request languages: xx"}}, {})
    with PerspectiveServer([refusal, refusal]) as server:
        with pytest.raises(MetricUnavailableError, match="none of the 2 non-empty texts could be scored.*refused 2"):
            metric(server).compute([Sample("a", "hola", "r"), Sample("b", "adios", "r"), Sample("c", "", "r")])


def test_a_detoxify_class_the_checkpoint_lacks_is_absent_not_zero():
    from escbench.plugins.metrics.toxicity import counted_scores

    # A checkpoint with only two classes: the other four attributes have no column.
    rows = detoxify_attributes({"toxicity": [0.2, 0.6], "insult": [0.1, 0.3]}, 2)
    columns = {"TOXICITY": "dtx:Toxicity", "INSULT": "dtx:Insult", "THREAT": "dtx:Threat", "OBSCENE": "dtx:Obscene"}
    scores = counted_scores(rows, ["a", "b"], columns, "dtx:Unscored", "toxicity-detoxify")
    assert scores.corpus() == pytest.approx({"dtx:Toxicity": 0.4, "dtx:Insult": 0.2, "dtx:Unscored": 0.0})


def test_answers_are_cached_on_disk_and_empty_texts_never_sent(environment):
    with PerspectiveServer([answer(0.4)]) as server:
        first = metric(server).compute([Sample("a", "same text", "r"), Sample("b", "  ", "r")])
        again = metric(server).compute([Sample("a", "same text", "r")])
    assert len(server.requests) == 1
    assert first.per_sample["Toxicity"] == [pytest.approx(0.4), 0.0]
    assert again.scores["Toxicity"] == pytest.approx(0.4)
    cache_file = environment / "cache" / "perspective.sqlite"
    assert cache_file.is_file() and KEY.encode() not in cache_file.read_bytes()


def test_requests_are_spaced_by_the_rate_limit(environment):
    with PerspectiveServer([answer(0.1)] * 3) as server:
        metric(server, qps=10).compute([Sample(str(i), f"text {i}", "r") for i in range(3)])
    gaps = [b["at"] - a["at"] for a, b in zip(server.requests, server.requests[1:])]
    assert min(gaps) >= 0.08  # 0.1 s apart, less a little network jitter


def test_missing_key_names_the_environment_variable(monkeypatch):
    monkeypatch.delenv("PERSPECTIVE_API_KEY", raising=False)
    with pytest.raises(MetricUnavailableError, match=r"\$PERSPECTIVE_API_KEY"):
        PerspectiveToxicity().compute([Sample("a", "hello", "r")])


def test_lexicon_hand_worked_values():
    assert lexicon_scores("You are an idiot.")["INSULT"] == pytest.approx(0.8)
    assert lexicon_scores("You are an idiot.")["TOXICITY"] == pytest.approx(0.8)
    # "not" within three tokens before the term keeps a quarter of its weight.
    assert lexicon_scores("You are not an idiot.")["INSULT"] == pytest.approx(0.2)
    # Two independent hits combine as 1 - (1 - .9)(1 - .8).
    both = lexicon_scores("Shut up or I will kill you.")
    assert both["THREAT"] == pytest.approx(0.9)
    assert both["TOXICITY"] == pytest.approx(1 - (1 - 0.6) * (1 - 0.6) * (1 - 0.9))
    assert lexicon_scores("Immigrants are vermin")["IDENTITY_ATTACK"] == pytest.approx(0.9)
    assert lexicon_scores("vermin everywhere")["IDENTITY_ATTACK"] == 0.0
    assert lexicon_scores("I hear you; that sounds really hard.") == dict.fromkeys(ATTRIBUTES, 0.0)


@pytest.mark.parametrize("text", ["", "!!!", "日本語のテキスト", "you are kind " * 3000])
def test_lexicon_edge_cases_score_zero(text):
    assert lexicon_scores(text) == dict.fromkeys(ATTRIBUTES, 0.0)


def test_lexicon_metric_is_offline_default_and_labelled(tmp_path):
    result = LexiconToxicity().compute([Sample("a", "You idiot", "r"), Sample("b", "Take care", "r")])
    assert result.scores["lex:Insult"] == pytest.approx(0.4)
    assert LexiconToxicity.default and not PerspectiveToxicity.default
    assert "NOT comparable" in LexiconToxicity.description


def test_lexicon_file_with_a_bad_weight_names_file_and_section(tmp_path):
    path = tmp_path / "lexicon.yaml"
    path.write_text("insult:\n  meanie: 3\n")
    with pytest.raises(ConfigError, match=r"lexicon.yaml: insult: weight of 'meanie'"):
        load_lexicon(path)


def test_detoxify_needs_a_local_checkpoint(tmp_path):
    with pytest.raises(MetricUnavailableError, match="checkpoint=PATH"):
        DetoxifyToxicity().compute([Sample("a", "x", "r")])
    with pytest.raises(MetricUnavailableError, match="not found"):
        DetoxifyToxicity(checkpoint=str(tmp_path / "missing.ckpt")).compute([Sample("a", "x", "r")])


def test_detoxify_outputs_map_to_escbench_attributes():
    rows = detoxify_attributes({"toxicity": [0.5, 0.1], "obscene": [0.2, 0.0], "threat": [0.0, 0.3]}, 2)
    assert rows[0]["TOXICITY"] == 0.5 and rows[0]["OBSCENE"] == 0.2 and rows[1]["THREAT"] == 0.3
    assert rows[1]["INSULT"] is None
    single = detoxify_attributes({"toxicity": 0.7, "insult": 0.1}, 1)
    assert single == [{"TOXICITY": 0.7, "SEVERE_TOXICITY": None, "IDENTITY_ATTACK": None,
                       "INSULT": 0.1, "OBSCENE": None, "THREAT": None}]


@pytest.mark.slow
def test_detoxify_checkpoint_is_loaded_from_local_files(tmp_path):
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    # A tiny Detoxify-format checkpoint: random BERT classifier, Jigsaw class names.
    base = tmp_path / "base"
    base.mkdir()
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "you", "are", "kind", "an", "idiot", "."]
    (base / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizer(str(base / "vocab.txt")).save_pretrained(base)
    config = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64, num_labels=6)
    config.save_pretrained(base)
    torch.manual_seed(0)
    model = BertForSequenceClassification(config).eval()
    classes = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
    checkpoint = tmp_path / "tiny.ckpt"
    torch.save({"config": {"arch": {"args": {"model_type": "bert-base-uncased",
                                             "model_name": "BertForSequenceClassification",
                                             "tokenizer_name": "BertTokenizer", "num_classes": 6}},
                           "dataset": {"args": {"classes": classes}}},
                "state_dict": model.state_dict()}, checkpoint)

    texts = ["You are kind.", "You are an idiot.", "You are an idiot."]
    result = DetoxifyToxicity(checkpoint=str(checkpoint), config_dir=str(base), batch_size=2).compute(
        [Sample(str(i), text, "r") for i, text in enumerate(texts)])

    tokenizer = BertTokenizer.from_pretrained(base)
    with torch.no_grad():
        expected = torch.sigmoid(model(**tokenizer(texts, return_tensors="pt", padding=True)).logits)
    for column, position in (("dtx:Toxicity", 0), ("dtx:Obscene", 2), ("dtx:Identity Attack", 5)):
        assert result.per_sample[column] == pytest.approx(expected[:, position].tolist(), abs=1e-6)
    assert result.scores["dtx:Insult"] == pytest.approx(expected[:, 4].mean().item(), abs=1e-6)


@pytest.mark.slow
def test_detoxify_file_that_is_not_a_checkpoint(tmp_path):
    import torch

    path = tmp_path / "weights.pt"
    torch.save({"weights": [1, 2]}, path)
    with pytest.raises(MetricUnavailableError, match="is not a Detoxify checkpoint"):
        DetoxifyToxicity(checkpoint=str(path)).compute([Sample("a", "x", "r")])
