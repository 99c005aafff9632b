"""Synthetic emotional-support replies, for parity tests and the metrics benchmark.

:func:`reply_pairs` makes (hypothesis, reference) pairs of realistic length (about 20-30
tokens) from escbench's own word banks and sentence patterns: contractions, inflected
verbs, synonyms, commas and questions, and now and then digits, quotes, brackets, dashes,
an ellipsis, curly quotes or accented letters, so every tokenizer path is exercised. The
hypothesis reuses part of the reference's words, as model replies do.
"""
from __future__ import annotations

import random

_SUBJECTS = ["you", "i", "we", "your friend", "your manager", "your sister", "many people",
             "your partner", "your family", "a lot of people", "your roommate", "they"]
# (base, third person, past, -ing) so that stems and inflections both occur.
_VERBS = [("feel", "feels", "felt", "feeling"), ("try", "tries", "tried", "trying"),
          ("talk", "talks", "talked", "talking"), ("help", "helps", "helped", "helping"),
          ("need", "needs", "needed", "needing"), ("find", "finds", "found", "finding"),
          ("notice", "notices", "noticed", "noticing"), ("worry", "worries", "worried", "worrying"),
          ("manage", "manages", "managed", "managing"), ("share", "shares", "shared", "sharing"),
          ("take", "takes", "took", "taking"), ("plan", "plans", "planned", "planning"),
          ("remember", "remembers", "remembered", "remembering"),
          ("consider", "considers", "considered", "considering"),
          ("deserve", "deserves", "deserved", "deserving"), ("miss", "misses", "missed", "missing"),
          ("struggle", "struggles", "struggled", "struggling"), ("rest", "rests", "rested", "resting"),
          ("listen", "listens", "listened", "listening"), ("cope", "copes", "coped", "coping"),
          ("explore", "explores", "explored", "exploring"), ("handle", "handles", "handled", "handling"),
          ("understand", "understands", "understood", "understanding"),
          ("support", "supports", "supported", "supporting"), ("write", "writes", "wrote", "writing"),
          ("sleep", "sleeps", "slept", "sleeping"), ("call", "calls", "called", "calling"),
          ("lose", "loses", "lost", "losing"), ("change", "changes", "changed", "changing")]
_NOUNS = ["job", "work", "family", "friends", "exam", "relationship", "breakup", "stress",
          "anxiety", "sleep", "routine", "boss", "deadline", "money", "rent", "loneliness",
          "grief", "loss", "motivation", "confidence", "therapist", "doctor", "feelings",
          "thoughts", "situation", "conversation", "plan", "steps", "week", "evening", "weekend",
          "support", "hobby", "walk", "journal", "music", "break", "coworkers", "parents",
          "health", "future", "goals", "mistake", "pressure", "move", "school", "class",
          "team", "project", "message", "argument", "sister", "brother", "dog", "apartment",
          "neighbours", "shift", "interview", "promotion", "debt", "diagnosis", "wedding"]
_ADJECTIVES = ["hard", "difficult", "tough", "overwhelming", "exhausting", "lonely", "scary",
               "frustrating", "painful", "normal", "understandable", "valid", "brave", "small",
               "helpful", "calm", "gentle", "honest", "clear", "new", "important", "heavy",
               "stressful", "okay", "kind", "sad", "unhappy", "upset", "worried", "anxious",
               "tired", "hopeful", "proud", "safe", "real", "big", "quiet", "good"]
_ADVERBS = ["really", "truly", "so", "very", "quite", "completely", "gently", "slowly",
            "often", "sometimes", "always", "still", "already", "honestly", "together",
            "right now", "today", "tonight", "lately", "a little", "every day"]
_DETERMINERS = ["the", "your", "this", "that", "some", "my", "our", "a new", "every"]
_OPENERS = ["i hear you", "that sounds really hard", "thank you for telling me",
            "i'm sorry you're going through this", "it makes sense", "i can see that",
            "that must be painful", "you're not alone in this", "i understand",
            "it's okay to feel that way", "i'm glad you reached out", "honestly"]
_PATTERNS = [
    "{opener}, {subject} {verb_s} {adverb} {adjective} about {det} {noun}.",
    "have you {verb_past} to {det} {noun} about {det} {noun}?",
    "it sounds like {det} {noun} has been {adverb} {adjective} for you.",
    "maybe {subject} could {verb} {det} {noun} {adverb}.",
    "{subject} {verb_s} that {det} {noun} is {adjective}, and that's okay.",
    "what would help you {verb} {det} {noun} {adverb}?",
    "i'm {adverb} sorry that {det} {noun} {verb_past} you like that.",
    "it's {adjective} to feel {adjective} when {det} {noun} keeps {verb_ing}.",
    "you don't have to {verb} {det} {noun} alone!",
    "could you tell me more about {det} {noun}?",
    "one {adjective} step at a time: {verb_ing} {det} {noun}, then {verb_ing} {det} {noun}.",
    "remember, {det} {noun} doesn't define you.",
    "{subject} can't {verb} everything at once; {verb_ing} {det} {noun} is enough.",
    "how have you been {verb_ing} since {det} {noun}?",
    "it's been {number} weeks since {det} {noun}, and you've {verb_past} so much.",
    "you said \"{det} {noun} is {adjective}\" and i {verb} why.",
    "(if it helps) {verb_ing} {det} {noun} -- even briefly -- might be {adjective}.",
    "i wonder... would {verb_ing} {det} {noun} feel {adjective}?",
    "you’re doing your best with {det} {noun}, and that’s {adjective}.",
    "a café walk or some naïve fun with {det} {noun} could feel {adjective} — why not?",
    "dr. smith said {det} {noun} at 5 p.m. was {adjective}.",
]
# Mostly the plain patterns (the first 15); the rest exercise rarer tokenizer paths.
_PATTERN_WEIGHTS = [10] * 15 + [1] * (len(_PATTERNS) - 15)


def _sentence(rng: random.Random, nouns: list[str], verbs: list[tuple[str, ...]]) -> str:
    pattern = rng.choices(_PATTERNS, weights=_PATTERN_WEIGHTS)[0]
    slots = {"opener": lambda: rng.choice(_OPENERS), "subject": lambda: rng.choice(_SUBJECTS),
             "verb": lambda: rng.choice(verbs)[0], "verb_s": lambda: rng.choice(verbs)[1],
             "verb_past": lambda: rng.choice(verbs)[2], "verb_ing": lambda: rng.choice(verbs)[3],
             "adverb": lambda: rng.choice(_ADVERBS), "adjective": lambda: rng.choice(_ADJECTIVES),
             "det": lambda: rng.choice(_DETERMINERS), "noun": lambda: rng.choice(nouns),
             "number": lambda: str(rng.randint(2, 12))}
    text = pattern
    while "{" in text:
        start = text.index("{")
        end = text.index("}", start)
        text = text[:start] + slots[text[start + 1:end]]() + text[end + 1:]
    return text[0].upper() + text[1:] if rng.random() < 0.7 else text


def reply(rng: random.Random, nouns: list[str] | None = None,
          verbs: list[tuple[str, ...]] | None = None, min_words: int = 16) -> str:
    """One reply of two or more sentences (at least ``min_words`` whitespace words)."""
    nouns = nouns or rng.sample(_NOUNS, 8)
    verbs = verbs or rng.sample(_VERBS, 8)
    sentences: list[str] = []
    while sum(len(s.split()) for s in sentences) < min_words:
        sentences.append(_sentence(rng, nouns, verbs))
    return " ".join(sentences)


def reply_pairs(count: int, seed: int = 0) -> list[tuple[str, str]]:
    """``count`` (hypothesis, reference) pairs; the same seed gives the same pairs."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(count):
        nouns, verbs = rng.sample(_NOUNS, 6), rng.sample(_VERBS, 6)
        reference = reply(rng, nouns, verbs)
        # Shared topic words; sometimes the hypothesis also starts like the reference.
        hypothesis = reply(rng, nouns[:4] + rng.sample(_NOUNS, 2), verbs[:4] + rng.sample(_VERBS, 2))
        if rng.random() < 0.1:
            first = reference.split(". ")[0].rstrip(".?!")
            hypothesis = first + ". " + hypothesis
        pairs.append((hypothesis, reference))
    return pairs
