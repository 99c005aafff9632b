"""Grammar-constrained decoding with xgrammar: a reply that must match a JSON schema can only
be sampled from tokens that keep it valid (the approach of vLLM and SGLang).

:func:`logits_processors` gives the ``logits_processor`` list (and the generate options it
overrides) for one batch whose rows each have a schema or None (unconstrained rows are left
alone, so one batch may mix schemas and free text). Compiled grammars are cached per
tokenizer by the schema's hash. xgrammar is optional: without it a request for a schema
raises ConfigError with the install command; nothing is imported until a schema is used.
"""
from __future__ import annotations

import json
import threading
from typing import Any, Sequence

from ..errors import ConfigError
from ..structured import Schema, schema_hash, schema_text

INSTALL = "pip install --no-deps xgrammar==0.2.9 apache-tvm-ffi"
RowSchema = Schema | str | None

_compilers: dict[int, tuple[Any, Any]] = {}  # id(tokenizer) -> (tokenizer, GrammarCompiler)
_grammars: dict[tuple[int, str], Any] = {}  # (id(tokenizer), schema sha256) -> CompiledGrammar
_lock = threading.Lock()


def _xgrammar() -> Any:
    try:
        import xgrammar
    except ImportError as error:
        raise ConfigError(f"a JSON schema (response_format) was requested but xgrammar is not installed "
                          f"({error}): run `{INSTALL}`, or send requests without response_format") from None
    return xgrammar


def _as_schema(schema: Schema | str) -> Schema:
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except ValueError as error:
            raise ConfigError(f"the response schema is not JSON ({error})") from None
    if not isinstance(schema, dict):
        raise ConfigError(f"a response schema must be a JSON object, got {type(schema).__name__}")
    return schema


def compiled_grammar(model: Any, tokenizer: Any, schema: Schema | str) -> Any:
    """The xgrammar CompiledGrammar of ``schema`` for this tokenizer (cached by schema hash).
    ConfigError when xgrammar is missing or the schema cannot be compiled."""
    xgr = _xgrammar()
    schema = _as_schema(schema)
    key = (id(tokenizer), schema_hash(schema))
    with _lock:
        if key in _grammars:
            return _grammars[key]
        if id(tokenizer) not in _compilers:
            vocab_size = getattr(model.config, "vocab_size", None) or len(tokenizer)
            info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size)
            _compilers[id(tokenizer)] = (tokenizer, xgr.GrammarCompiler(info))
        compiler = _compilers[id(tokenizer)][1]
        try:
            # Compact, fixed whitespace: free whitespace lets a small model pad forever.
            grammar = compiler.compile_json_schema(schema_text(schema), any_whitespace=False)
        except Exception as error:  # xgrammar raises RuntimeError/ValueError for unsupported schemas
            raise ConfigError(f"the response schema cannot be compiled into a grammar ({error})") from None
        _grammars[key] = grammar
        return grammar


def cached_grammars() -> int:
    """How many compiled grammars are cached (for tests and logs)."""
    return len(_grammars)


class GrammarLogitsProcessor:
    """A transformers logits processor masking, per row, the tokens its grammar forbids.

    Rows whose grammar is None are not touched; a row whose grammar has terminated (or that
    sampled a token its grammar refused) is left free, so the batch never has a row with
    every token masked. Use one instance per ``generate`` call (it tracks each row's state)."""

    def __init__(self, grammars: Sequence[Any]):
        xgr = _xgrammar()
        self.xgr = xgr
        self.matchers = [xgr.GrammarMatcher(g) if g is not None else None for g in grammars]
        vocab = next(g for g in grammars if g is not None).tokenizer_info.vocab_size
        self.bitmask = xgr.allocate_token_bitmask(len(grammars), vocab)
        self.vocab_size = vocab
        self.started = False

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if input_ids.shape[0] != len(self.matchers):
            raise RuntimeError(f"batch of {input_ids.shape[0]} rows for {len(self.matchers)} grammars")
        if self.started:
            last = input_ids[:, -1].tolist()
            for row, matcher in enumerate(self.matchers):
                if matcher is not None and not matcher.is_terminated() and not matcher.accept_token(last[row]):
                    self.matchers[row] = None  # e.g. a stop string cut in: leave the row free
        self.started = True
        rows = [row for row, m in enumerate(self.matchers) if m is not None and not m.is_terminated()]
        if not rows:
            return scores
        for row in rows:
            self.matchers[row].fill_next_token_bitmask(self.bitmask, row)
        masked = scores if scores.device.type in ("cpu", "cuda") else scores.to("cpu")
        bitmask = self.bitmask.to(masked.device) if masked.device.type == "cuda" else self.bitmask
        self.xgr.apply_token_bitmask_inplace(masked, bitmask, vocab_size=min(self.vocab_size, masked.shape[-1]),
                                             indices=rows)
        return masked.to(scores.device) if masked is not scores else scores


def logits_processors(model: Any, tokenizer: Any, row_schemas: Sequence[RowSchema],
                      do_sample: bool, top_p: float) -> tuple[list[Any], dict[str, Any]]:
    """``(processors, option_overrides)`` for ``model.generate`` on a batch whose rows ask for
    ``row_schemas``; ``([], {})`` when no row has a schema. Nucleus sampling moves after the
    grammar mask (``top_p`` applied by our warper, the built-in one switched off): cutting the
    nucleus first could leave a row with no allowed token."""
    if not any(schema is not None for schema in row_schemas):
        return [], {}
    grammars = [compiled_grammar(model, tokenizer, s) if s is not None else None for s in row_schemas]
    processors: list[Any] = [GrammarLogitsProcessor(grammars)]
    overrides: dict[str, Any] = {}
    if do_sample and top_p < 1.0:
        from transformers import TopPLogitsWarper

        processors.append(TopPLogitsWarper(top_p=top_p))
        overrides["top_p"] = 1.0
    return processors, overrides
