"""The shared tokenizer: exactly the untrained-Punkt + NLTKWordTokenizer pipeline, faster."""
from __future__ import annotations

import random

import pytest

from escbench.plugins.metrics.synthetic import reply_pairs
from escbench.plugins.metrics.tokenize import reference_tokenize, tokenize


@pytest.mark.parametrize("text, tokens", [
    ("I hear you. That sounds hard!", ("i", "hear", "you", ".", "that", "sounds", "hard", "!")),
    ("It's okay, you don't have to.", ("it", "'s", "okay", ",", "you", "do", "n't", "have", "to", ".")),
    ("We'll try; they've said: yes?", ("we", "'ll", "try", ";", "they", "'ve", "said", ":", "yes", "?")),
    # A one-letter word with a period before a lower-case word: Punkt's initial rule, no break.
    ("Plan a. then rest.", ("plan", "a.", "then", "rest", ".")),
    # Untrained Punkt ends the sentence after "dr." (the trained model would not).
    ("Dr. Smith called.", ("dr", ".", "smith", "called", ".")),
    ("He said \"no\" (twice)...", ("he", "said", "``", "no", "''", "(", "twice", ")", "...")),
    ("cannot gonna", ("can", "not", "gon", "na")),
    ("", ()),
    ("   ", ()),
    ("?!.", ("?", "!", ".")),
])
def test_tokens_of_hand_picked_texts(text, tokens):
    assert tokenize(text) == tokens
    assert reference_tokenize(text) == tokens


def test_tokens_are_lower_case_and_keep_non_ascii_letters():
    assert tokenize("Café NAÏVE — ok") == ("café", "naïve", "—", "ok")


def test_matches_the_nltk_pipeline_on_generated_replies():
    texts = [text for pair in reply_pairs(400, seed=11) for text in pair]
    mismatches = [t for t in texts if tokenize(t) != reference_tokenize(t)]
    assert mismatches == []


def test_matches_the_nltk_pipeline_on_character_soup():
    rng = random.Random(7)
    pieces = (list("abz .,;:?!'\"()-`*&%$#@[]{}<>\n\t019 éñ’“”«»—") +
              ["a.", " i. ", "cannot", "gonna", "wanna ", " 'tis", "dr. ", "3. ", "e.g. ", "...",
               "--", "n't", "'s ", "''", " x'y ", "don't", "it's.", "10. ", "a. 5 "])
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 30))) for _ in range(1500)]
    words = ["a", "i", "ok", "don't", "it's", "x'y", "3", "10", "a1", "n't", "5th", "well-known"]
    texts += [" ".join(rng.choice(words) + rng.choice(["", "", ".", ",", "?", "!", ";", ":"])
                       for _ in range(rng.randint(1, 8))) for _ in range(1500)]
    mismatches = [t for t in texts if tokenize(t) != reference_tokenize(t)]
    assert mismatches == []


def test_matches_the_nltk_pipeline_around_sentence_boundaries():
    rng = random.Random(3)
    words = ["a", "i", "ok", "don't", "it's", "x'y", "3", "10", "a1", "n't", "5th", "well-known", "dr",
             "e.g", "p.m", "(if", "it)", '"no"', "’tis", "café", "3.5", "wanna", "o'clock", "...", "i."]
    separators = [" ", "  ", ". ", ".  ", "? ", "! ", '. "', ". (", "... ", ".\n", ", ", "; ", ": ",
                  "?! ", ".) ", ".' ", " - ", ".. "]
    texts = ["".join(rng.choice(words) + rng.choice(separators) for _ in range(rng.randint(1, 10)))
             for _ in range(2500)]
    texts = [t.rstrip() if i % 2 else t.capitalize() for i, t in enumerate(texts)]
    mismatches = [t for t in texts if tokenize(t) != reference_tokenize(t)]
    assert mismatches == []


def test_very_long_text_is_tokenized_whole():
    text = "I hear you, and it is hard. " * 2000
    assert len(tokenize(text)) == 2000 * 9
    assert tokenize(text) == reference_tokenize(text)


def test_repeated_calls_return_the_same_tuple():
    first = tokenize("Same text, twice.")
    assert tokenize("Same text, twice.") is first
