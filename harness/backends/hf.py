"""Local generation with transformers: chat conversations in, replies out.

A conversation is a list of chat messages ``{"role": "system"|"user"|"assistant",
"content": str}``. It is rendered with the tokenizer's chat template (generation prompt
added) or, for tokenizers without one, as a ``Role: text`` transcript ending in
``Assistant:``. Loaded models are shared per process (see :data:`_LOADED`), so building
several backends for the same weights costs one load.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import ConfigError, EscbenchError
from ..models import quiet_transformers, resolve_model
from ..registry import Generation, GenerationSettings
from ..seeding import example_seed, per_row_sampler
from ..stops import trim_at_stops

GenerationOutput = Generation
"""What :meth:`HFBackend.generate` returns per conversation: ``text`` (stop strings
trimmed, stripped), ``raw`` (decoded before trimming) and ``usage`` token counts."""

Message = dict[str, str]
ProgressCallback = Callable[[int], None]

DTYPES = ("auto", "float32", "bfloat16", "float16")
DEVICES = ("auto", "cpu", "cuda")
TRANSCRIPT_NAMES = {"system": "System", "user": "User", "assistant": "Assistant"}


def render_prompt(messages: Sequence[Message], tokenizer: Any = None) -> str:
    """The prompt text escbench gives a local model for ``messages``: the tokenizer's chat
    template with the generation prompt added, else (no template, or no tokenizer) the
    ``Role: text`` transcript ending in ``Assistant:``. The one definition every backend,
    the student trainer and the lm-eval tasks share."""
    if tokenizer is not None and getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)
    lines = [f"{TRANSCRIPT_NAMES[m['role']]}: {m['content']}" for m in messages]
    return "\n".join(lines + ["Assistant:"])
# Without a chat template a model may go on to write the user's next line; cut it there.
TRANSCRIPT_STOPS = ("\nUser:", "\nSystem:")


@dataclass(frozen=True)
class LoadKey:
    """Everything that decides which weights end up in memory, fully resolved."""

    model_path: str
    dtype: str
    device: str
    load_8bit: bool
    adapter_path: str | None
    trust_remote_code: bool


_LOADED: dict[LoadKey, tuple[Any, Any]] = {}
"""Process-wide (model, tokenizer) cache keyed by resolved load settings."""


@contextlib.contextmanager
def _quiet_bitsandbytes():
    """bitsandbytes logs a warning on every 8-bit matmul of float32 inputs; keep it out of runs."""
    import logging

    chatty = logging.getLogger("bitsandbytes.autograd._functions")
    previous = chatty.level
    chatty.setLevel(logging.ERROR)
    try:
        yield
    finally:
        chatty.setLevel(previous)


def _resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={device!r} but no CUDA GPU is visible: use device='cpu' or 'auto'")
    return device


def _resolve_adapter(adapter: str | None) -> str | None:
    if adapter is None:
        return None
    path = Path(adapter).expanduser()
    if not (path / "adapter_config.json").is_file():
        raise ConfigError(
            f"adapter {adapter!r} is not a PEFT adapter folder (no adapter_config.json there)"
        )
    return str(path.resolve())


class HFBackend:
    """Generation with a local causal LM (optionally 8-bit, optionally with a PEFT adapter).

    Construction is cheap and only validates arguments; :meth:`load` resolves and loads the
    weights (idempotent) and raises ConfigError naming the setting to fix.
    """

    def __init__(
        self,
        model: str = "smollm2",
        dtype: str = "auto",
        device: str = "auto",
        load_8bit: bool = False,
        adapter: str | None = None,
        trust_remote_code: bool = False,
        share_prefix: bool = True,
        repetition_penalty: float = 1.0,
    ):
        if dtype not in DTYPES:
            raise ConfigError(f"dtype={dtype!r} is not supported: use one of {', '.join(DTYPES)}")
        if not (device in DEVICES or device.startswith("cuda:")):
            raise ConfigError(f"device={device!r} is not supported: use auto, cpu, cuda or cuda:N")
        self.model_spec = str(model)
        self.dtype = dtype
        self.device = device
        self.load_8bit = bool(load_8bit)
        self.adapter = adapter
        self.trust_remote_code = bool(trust_remote_code)
        self.share_prefix = bool(share_prefix)  # one prefill per shared prompt prefix
        if not repetition_penalty > 0:
            raise ConfigError(f"repetition_penalty={repetition_penalty!r} must be > 0 (1.0: off)")
        self.repetition_penalty = float(repetition_penalty)  # transformers' (CTRL) penalty; 1.0: off
        self.key: LoadKey | None = None
        self.model: Any = None
        self.tokenizer: Any = None

    def device_and_dtype(self) -> tuple[str, str]:
        """The concrete device and dtype name this backend loads with (imports torch)."""
        device = _resolve_device(self.device)
        if self.dtype != "auto":
            return device, self.dtype
        return device, "bfloat16" if device.startswith("cuda") else "float32"

    def resolve(self) -> LoadKey:
        """Resolve model path (converting a GGUF once), device, dtype and adapter."""
        device, dtype = self.device_and_dtype()
        return LoadKey(
            model_path=str(resolve_model(self.model_spec)),
            dtype=dtype,
            device=device,
            load_8bit=self.load_8bit,
            adapter_path=_resolve_adapter(self.adapter),
            trust_remote_code=self.trust_remote_code,
        )

    def load(self) -> "HFBackend":
        """Load (or reuse) model and tokenizer; returns self."""
        if self.model is not None:
            return self
        key = self.resolve()
        if key.device == "cpu":
            from ..threads import configure_torch_threads

            configure_torch_threads()  # fewer threads than cores on a busy machine
        if key not in _LOADED:
            with quiet_transformers():
                _LOADED[key] = _load(key)
        self.key = key
        self.model, self.tokenizer = _LOADED[key]
        return self

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.load().tokenizer, "chat_template", None))

    def render(self, conversation: Sequence[Message]) -> str:
        """The prompt text for one conversation (chat template, else a transcript)."""
        for position, message in enumerate(conversation):
            if message.get("role") not in TRANSCRIPT_NAMES or not isinstance(message.get("content"), str):
                raise EscbenchError(
                    f"message {position} must be {{'role': system|user|assistant, 'content': str}}, "
                    f"got {message!r}"
                )
        return render_prompt(conversation, self.load().tokenizer)

    def generate(
        self,
        conversations: Sequence[Sequence[Message]],
        settings: GenerationSettings,
        stop: list[str] | None = None,
        progress: ProgressCallback | None = None,
        schemas: Sequence[Any] | None = None,
    ) -> list[GenerationOutput]:
        """One reply per conversation, in order. ``progress(n)`` is called after each batch
        with the number of conversations finished so far. ``schemas`` (one JSON schema or None
        per conversation) constrains those replies to match it (:mod:`.constrained`)."""
        self.load()
        if schemas is not None and len(schemas) != len(conversations):
            raise EscbenchError(f"{len(schemas)} schemas for {len(conversations)} conversations: give one (or None) each")
        prompts = [self.render(conversation) for conversation in conversations]
        stops = [s for s in (stop or []) if s]
        if not self.has_chat_template:
            stops += [s for s in TRANSCRIPT_STOPS if s not in stops]
        if self.share_prefix and prompts:
            from .prefix_sharing import Carry, generate_shared, supports

            if supports(self.model):
                seeds = iter(range(settings.seed, settings.seed + len(prompts) + 1, max(1, int(settings.batch_size))))

                def decode_batch(indices, prefilled):
                    with _quiet_bitsandbytes() if self.load_8bit else contextlib.nullcontext():
                        return _generate_batch(self.model, self.tokenizer, [prompts[i] for i in indices],
                                               settings, stops, seed=next(seeds),
                                               add_special_tokens=not self.has_chat_template,
                                               row_seeds=[example_seed(settings.seed, prompts[i]) for i in indices],
                                               row_schemas=[schemas[i] for i in indices] if schemas else None,
                                               prefilled=prefilled, repetition_penalty=self.repetition_penalty)

                self._carry = getattr(self, "_carry", None) or Carry()
                return generate_shared(self.model, self.tokenizer, prompts, max(1, int(settings.batch_size)),
                                       not self.has_chat_template, decode_batch, progress, carry=self._carry)
        # Similar lengths batched together waste less compute on padding.
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]), reverse=True)
        batch_size = max(1, int(settings.batch_size))
        outputs: list[GenerationOutput | None] = [None] * len(prompts)
        for start in range(0, len(order), batch_size):
            indices = order[start : start + batch_size]
            with _quiet_bitsandbytes() if self.load_8bit else contextlib.nullcontext():
                replies = _generate_batch(
                    self.model,
                    self.tokenizer,
                    [prompts[i] for i in indices],
                    settings,
                    stops,
                    seed=settings.seed + start,
                    add_special_tokens=not self.has_chat_template,
                    row_seeds=[example_seed(settings.seed, prompts[i]) for i in indices],
                    row_schemas=[schemas[i] for i in indices] if schemas else None,
                    repetition_penalty=self.repetition_penalty,
                )
            for index, reply in zip(indices, replies):
                outputs[index] = reply
            if progress is not None:
                progress(min(start + batch_size, len(order)))
        return [output for output in outputs if output is not None]


def _load(key: LoadKey) -> tuple[Any, Any]:
    """Load model and tokenizer for ``key``; ConfigError names the setting at fault."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    path = key.model_path
    try:
        config = AutoConfig.from_pretrained(path, trust_remote_code=key.trust_remote_code)
    except Exception as error:
        raise ConfigError(f"model {path}: cannot read its config.json ({error})") from None
    remote_causal = "AutoModelForCausalLM" in (getattr(config, "auto_map", None) or {})
    if config.model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and not remote_causal:
        raise ConfigError(
            f"model {path} is a {config.model_type!r} model, not a causal (decoder-only) language "
            f"model: pass a model that AutoModelForCausalLM can load"
        )
    kwargs: dict[str, Any] = {"dtype": getattr(torch, key.dtype), "trust_remote_code": key.trust_remote_code}
    if key.load_8bit:
        from transformers import BitsAndBytesConfig

        kwargs.update(quantization_config=BitsAndBytesConfig(load_in_8bit=True), device_map=key.device)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=key.trust_remote_code)
        model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    except ImportError as error:
        raise ConfigError(f"model {path}: a package is missing ({error})") from None
    except Exception as error:
        raise ConfigError(f"model {path}: loading failed ({type(error).__name__}: {error})") from None
    if not key.load_8bit:
        model.to(key.device)
    if key.adapter_path:
        model = _attach_adapter(model, key.adapter_path, path)
    model.eval()
    tokenizer.padding_side = "left"  # generation continues at the right edge of every row
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def _attach_adapter(model: Any, adapter_path: str, model_path: str) -> Any:
    """Wrap ``model`` with the PEFT adapter; ConfigError if it was made for other weights."""
    import json

    from peft import PeftModel

    adapter_config = json.loads((Path(adapter_path) / "adapter_config.json").read_text())
    trained_on = adapter_config.get("base_model_name_or_path") or "an unrecorded base model"
    try:
        return PeftModel.from_pretrained(model, adapter_path)
    except Exception as error:
        raise ConfigError(
            f"adapter {adapter_path} does not fit model {model_path} (the adapter was trained on "
            f"{trained_on}): pass the base model it was made for ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''})"
        ) from None


def _generate_batch(
    model: Any,
    tokenizer: Any,
    prompts: list[str],
    settings: GenerationSettings,
    stops: list[str],
    seed: int,
    add_special_tokens: bool,
    row_seeds: list[int] | None = None,
    prefilled: Any = None,
    row_schemas: list[Any] | None = None,
    repetition_penalty: float = 1.0,
) -> list[GenerationOutput]:
    """Generate for one left-padded batch of prompts and decode each row. ``prefilled``
    (from :mod:`.prefix_sharing`): the batch already tokenized, with its prompts' cache."""
    import torch

    if prefilled is None:
        encoded = tokenizer(
            prompts, return_tensors="pt", padding=True, add_special_tokens=add_special_tokens
        ).to(model.device)
    else:
        encoded = prefilled.encoded
    prompt_width = encoded["input_ids"].shape[1]
    _check_context_fits(model, encoded["attention_mask"], settings.max_new_tokens)
    options: dict[str, Any] = {
        "max_new_tokens": settings.max_new_tokens,
        "do_sample": settings.do_sample,
        "pad_token_id": tokenizer.pad_token_id,
    }
    if settings.do_sample and row_seeds is not None:
        # Each row samples with its own seed (escbench.harness.seeding): outputs do not depend on the batch.
        options.update(do_sample=False, logits_processor=per_row_sampler(
            row_seeds, settings.temperature, settings.top_p, model.device))
    elif settings.do_sample:
        # top_k=0: only temperature and top_p shape sampling, as with API backends.
        options.update(temperature=settings.temperature, top_p=settings.top_p, top_k=0)
    if repetition_penalty != 1.0:
        options["repetition_penalty"] = repetition_penalty  # applied before the grammar mask and sampling
    if stops:
        options.update(stop_strings=stops, tokenizer=tokenizer)
    if prefilled is not None:
        options["cache"] = prefilled.cache
    if row_schemas:
        from .constrained import logits_processors

        processors, overrides = logits_processors(model, tokenizer, row_schemas, settings.do_sample, settings.top_p)
        if processors and "logits_processor" in options:
            # The grammar mask comes first; the per-row sampler (which applies top-p itself) after it.
            options["logits_processor"] = [processors[0], *options["logits_processor"]]
        elif processors:
            options.update(overrides, logits_processor=processors)
    torch.manual_seed(seed)
    with torch.inference_mode():
        generated = model.generate(**encoded, **options)
    eos_ids = _eos_ids(model, tokenizer)
    outputs = []
    for row, prompt_tokens in zip(generated[:, prompt_width:].tolist(), encoded["attention_mask"].sum(1).tolist()):
        used = next((i + 1 for i, token in enumerate(row) if token in eos_ids), len(row))
        raw = tokenizer.decode(row[:used], skip_special_tokens=True)
        outputs.append(
            GenerationOutput(
                text=trim_at_stops(raw, stops).strip(),
                raw=raw,
                usage={"prompt_tokens": int(prompt_tokens), "completion_tokens": used},
            )
        )
    return outputs


def _eos_ids(model: Any, tokenizer: Any) -> set[int]:
    configured = model.generation_config.eos_token_id
    ids = set(configured if isinstance(configured, list) else [configured])
    ids.add(tokenizer.eos_token_id)
    return {i for i in ids if i is not None}


def _check_context_fits(model: Any, attention_mask: Any, max_new_tokens: int) -> None:
    limit = getattr(model.config, "max_position_embeddings", None)
    longest = int(attention_mask.sum(1).max())
    if limit and longest + max_new_tokens > limit:
        raise EscbenchError(
            f"a prompt of {longest} tokens plus max_new_tokens={max_new_tokens} exceeds the "
            f"model's context of {limit} tokens: shorten the context (e.g. the llama system's "
            f"max_context_turns) or lower max_new_tokens"
        )


