"""Word tokens for every text metric: lower-cased, NLTK-compatible, memoised.

The ESC reference code tokenises with ``nltk.word_tokenize(text.lower())``, i.e. Punkt
sentence splitting with NLTK's trained English model (the ``punkt_tab`` resource, which
cannot be downloaded here) followed by :class:`nltk.tokenize.NLTKWordTokenizer` on each
sentence. escbench uses an *untrained* ``PunktSentenceTokenizer()`` instead, which needs no
data. The two differ where the trained model knows an abbreviation: after ``dr.``, ``mr.``,
``e.g.``... it keeps the period on the word and goes on with the sentence, where the
untrained one ends the sentence and splits the period off (``dr.`` -> ``dr`` ``.``); rarely
also after an initial or a number, where the trained model uses learned word statistics.

:func:`tokenize` returns exactly what that NLTK pipeline returns (``reference_tokenize``;
tests compare them on thousands of texts), about ten times faster: a text of plain words,
single spaces and ``, ; : . ? !`` is split in one pass by the rules the two NLTK tools
apply to such text; otherwise sentences come from the same rules when every possible
boundary is a plain one, or from Punkt itself, and each sentence that is not plain goes
through NLTKWordTokenizer's own patterns, compiled once, without NLTK's per-call regex
time-outs. Results are memoised per text (the metrics of one run share them).
"""
from __future__ import annotations

import re
from functools import lru_cache

_WORD = r"[a-z0-9]+(?:-[a-z0-9]+)*(?:'[a-z]+)?"
# A plain sentence: such words, each with at most one trailing mark, single spaces.
_PLAIN_SENTENCE = re.compile(rf"{_WORD}[,;:.?!]?(?: {_WORD}[,;:.?!]?)*")
_PLAIN_WORD = re.compile(_WORD)
_SENTENCE_END = re.compile(r"[.?!]")
# Characters Punkt moves back onto the previous sentence when a new one starts with them.
_REALIGNED = frozenset("\"')]}\u2018\u2019\u201c\u201d\xab\xbb")
# Characters Punkt accepts right after a sentence end as "other punctuation".
_PUNKT_NON_WORD = frozenset(")\";}]*:@'({[\u2018\u2019\u201c\u201d\xab\xbb?!")
# Substrings that trigger NLTK's special contraction rules (cannot -> can not, ...):
# sentences holding one take the regex path.
_CONTRACTION_TRIGGERS = re.compile("cannot|d'ye|gimme|gonna|gotta|lemme|more'n|wanna|'tis|'twas")
_SPLIT_SUFFIXES = frozenset({"s", "m", "d", "ll", "re", "ve"})
_MEMO_LIMIT = 50_000
_memo: dict[str, tuple[str, ...]] = {}


def tokenize(text: str) -> tuple[str, ...]:
    """Tokens of ``text.lower()`` as the untrained-Punkt + NLTKWordTokenizer pipeline gives
    them (memoised per text; safe to call again on the same text from every metric)."""
    cached = _memo.get(text)
    if cached is not None:
        return cached
    lowered = text.lower()
    tokens = _plain_text_tokens(lowered)
    if tokens is None:
        sentences = _simple_sentences(lowered)
        if sentences is None:
            sentences = _nltk_tokenizers()[0].tokenize(lowered)
        tokens = []
        for sentence in sentences:
            plain = _plain_sentence_tokens(sentence)
            tokens += plain if plain is not None else _fast_word_tokenizer().tokenize(sentence)
    if len(_memo) >= _MEMO_LIMIT:
        _memo.clear()
    result = _memo[text] = tuple(tokens)
    return result


def reference_tokenize(text: str) -> tuple[str, ...]:
    """The straightforward pipeline (NLTK objects as shipped), for tests and benchmarks."""
    sentences, words = _nltk_tokenizers()
    return tuple(token for sentence in sentences.tokenize(text.lower())
                 for token in words.tokenize(sentence))


def _simple_sentences(text: str) -> list[str] | None:
    """Untrained Punkt's sentences, when every possible boundary is a simple one, else None.

    Punkt considers a ``. ? !`` followed by whitespace and a token (or by a quote, bracket
    and the like). Where each such mark ends a plain word and is followed by one space, its
    decision is: break after ``? !``; after ``.`` break unless the word is one character
    (an initial or a digit) and the next word starts with a letter. Bail out (None) for a
    longer word with digits (Punkt's number rule), for a one-character word before a word
    that is not plain, and before a closing quote or bracket (Punkt's realignment).
    """
    sentences, start = [], 0
    for mark in _SENTENCE_END.finditer(text):
        position = mark.start()
        following = text[position + 1:position + 2]
        if following in _PUNKT_NON_WORD:
            return None
        if not following.isspace() or not text[position + 1:].strip():
            continue  # "3.5", "e.g" or the end of the text: not a candidate
        if following != " ":
            return None
        # A word holding other whitespace is not plain: bailing out is then right anyway.
        word = text[text.rfind(" ", 0, position) + 1:position]
        next_end = text.find(" ", position + 2)
        next_word = text[position + 2:next_end if next_end >= 0 else len(text)]
        if not (_PLAIN_WORD.fullmatch(word) and next_word) or next_word[0] in _REALIGNED:
            return None
        if mark.group() == ".":
            if len(word) == 1:
                # Punkt's initial/number rule looks at the next word (and its own period).
                if not _PLAIN_WORD.fullmatch(next_word.rstrip(",;:")):
                    return None
                if next_word[0].isalpha():
                    continue
            elif any(ch.isdigit() for ch in word):
                return None
        sentences.append(text[start:position + 1])
        start = position + 2
    last = text[start:len(text.rstrip())]
    if last:
        sentences.append(last)
    return sentences


def _plain_sentence_tokens(sentence: str) -> list[str] | None:
    """NLTKWordTokenizer's tokens of one plain sentence (see _PLAIN_SENTENCE), or None.

    It splits off ``, ; : ? !``, the period of the last word only (a period inside the
    sentence stays on its word) and the clitics 's 'm 'd 'll 're 've n't.
    """
    if (not sentence.isascii() or not _PLAIN_SENTENCE.fullmatch(sentence)
            or _CONTRACTION_TRIGGERS.search(sentence)):
        return None
    words = sentence.split(" ")
    last = len(words) - 1
    return _word_tokens(words, [position == last for position in range(len(words))])


def _plain_text_tokens(text: str) -> list[str] | None:
    """Tokens of a whole text made of plain sentences (the common case) in one pass, with
    the sentence ends of :func:`_simple_sentences`; None when that does not apply."""
    stripped = text.strip()
    if (not stripped.isascii() or not _PLAIN_SENTENCE.fullmatch(stripped)
            or _CONTRACTION_TRIGGERS.search(stripped)):
        return None
    words = stripped.split(" ")
    last = len(words) - 1
    tokens: list[str] = []
    for position, word in enumerate(words):
        if word.isalnum():  # most words: nothing to split
            tokens.append(word)
            continue
        mark = word[-1]
        if mark.isalnum():
            core, tail = word, ""
        elif mark != ".":
            core, tail = word[:-1], mark
        elif position == last:
            core, tail = word[:-1], "."
        elif len(word) == 2:
            # One character and a period: an initial or a digit, no break before a word
            # starting with a letter; Punkt also weighs the next word's own period.
            following = words[position + 1]
            if following[-1] in ".?!":
                return None
            core, tail = (word, "") if following[0].isalpha() else (word[:-1], ".")
        elif any(ch.isdigit() for ch in word):
            return None  # Punkt's number rule
        else:
            core, tail = word[:-1], "."
        _append_word(core, tail, tokens)
    return tokens


def _word_tokens(words: list[str], sentence_final: list[bool]) -> list[str]:
    """Plain words -> tokens; a word's period is split off only where a sentence ends."""
    tokens: list[str] = []
    for word, final in zip(words, sentence_final):
        mark = word[-1]
        if mark in ",;:?!" or (mark == "." and final):
            core, tail = word[:-1], mark
        else:
            core, tail = word, ""
        _append_word(core, tail, tokens)
    return tokens


def _append_word(core: str, tail: str, tokens: list[str]) -> None:
    """Append a word (its clitics split off) and then the punctuation cut from it, if any."""
    if "'" in core:
        _split_clitic(core, tokens)
    else:
        tokens.append(core)
    if tail:
        tokens.append(tail)


def _split_clitic(word: str, tokens: list[str]) -> None:
    """Append ``word`` (one inner apostrophe) as NLTK splits it: x's -> x 's, don't -> do n't."""
    stem, suffix = word.split("'")
    if suffix in _SPLIT_SUFFIXES:
        tokens += (stem, "'" + suffix)
    elif suffix == "t" and stem.endswith("n") and len(stem) > 1:
        tokens += (stem[:-1], "n't")
    else:
        tokens.append(word)


@lru_cache(maxsize=1)
def _nltk_tokenizers():
    from .nltk_import import import_nltk

    import_nltk()  # without scipy/sklearn: a fraction of NLTK's import time
    from nltk.tokenize.destructive import NLTKWordTokenizer
    from nltk.tokenize.punkt import PunktSentenceTokenizer

    return PunktSentenceTokenizer(), NLTKWordTokenizer()


class _FastWordTokenizer:
    """NLTKWordTokenizer's own rule lists, recompiled once with the ``regex`` engine NLTK
    uses but without its per-call time-out, each rule skipped when the text lacks every
    character it needs (only for ASCII text; unknown rules always run)."""

    # Characters (any of which) a rule needs to match ASCII text; () = never matches it.
    _NEEDS: dict[str, tuple[str, ...]] = {
        "([«“‘„]|[`]+)": ("`",),
        r"^\"": ('"',),
        r"(``)": ("``",),
        r"([ \(\[{<])(\"|\'{2})": ('"', "''"),
        r"(?i)(?<!\w)(\')(?!(?:re|ve|ll|m|t|s|d|n)\b)(?=\w)": ("'",),
        "([»”’])": (),
        r"''": ("''",),
        r'"': ('"',),
        r"([^' ])('[sS]|'[mM]|'[dD]|') ": ("'",),
        r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ": ("'",),
        r'([^\.])(\.)([\]\)}>"\'' "»”’ " r"]*+)\s*$": (".",),
        r"([:,])([^\d])": (":", ","),
        r"([:,])$": (":", ","),
        r"\.{2,}": ("..",),
        r"[;@#$%&]": tuple(";@#$%&"),
        r"[\u2012-\u2015]": (),
        r'([^\.])(\.)([\]\)}>"\']*)\s*$': (".",),
        r"[?!]": ("?", "!"),
        r"([^'])' ": ("' ",),
        r"[*]": ("*",),
        r"[\]\[\(\)\{\}\<\>]": tuple("[](){}<>"),
        r"--": ("--",),
    }

    def __init__(self):
        import regex

        from .nltk_import import import_nltk

        import_nltk()  # without scipy/sklearn: a fraction of NLTK's import time
        from nltk.tokenize.destructive import NLTKWordTokenizer as rules

        def compiled(pairs):
            out = []
            for pattern, replacement in pairs:
                raw = getattr(pattern, "_rx", pattern)  # nltk.redos wraps the pattern
                out.append((regex.compile(raw.pattern, raw.flags), replacement,
                            self._NEEDS.get(raw.pattern)))
            return out

        self.starting_quotes = compiled(rules.STARTING_QUOTES)
        self.punctuation = compiled(rules.PUNCTUATION)
        self.parens_brackets = compiled([rules.PARENS_BRACKETS])
        self.double_dashes = compiled([rules.DOUBLE_DASHES])
        self.ending_quotes = compiled(rules.ENDING_QUOTES)
        contraction = r" \1 \2 "
        self.contractions = [(getattr(p, "_rx", p), contraction, None)
                             for p in (*rules.CONTRACTIONS2, *rules.CONTRACTIONS3)]

    def tokenize(self, sentence: str) -> list[str]:
        ascii_only = sentence.isascii()

        def apply(rules, text):
            for pattern, replacement, needs in rules:
                if ascii_only and needs is not None and not any(n in text for n in needs):
                    continue
                text = pattern.sub(replacement, text)
            return text

        text = apply(self.starting_quotes, sentence)
        text = apply(self.punctuation, text)
        text = apply(self.parens_brackets, text)
        text = apply(self.double_dashes, text)
        text = apply(self.ending_quotes, " " + text + " ")
        text = apply(self.contractions, text)
        return text.split()


@lru_cache(maxsize=1)
def _fast_word_tokenizer() -> _FastWordTokenizer:
    return _FastWordTokenizer()
