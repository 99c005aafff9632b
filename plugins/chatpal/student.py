"""The fine-tuned student systems of Tables 5-7: ``augesc``, ``augesc+dri``,
``chatpal-w/o-dri`` and ``chatpal``.

A student is a base model, a PEFT adapter (LoRA or adaption-prompt) and the prompt format
of :mod:`escbench.plugins.chatpal.student_format`. The AugESC students are trained on AugESC-recipe
data (no strategy labels) and write just the reply; the ChatPal students are trained on
ExTES-style data with strategy prediction and write ``[Strategy] reply``. The ``+dri``
variants differ only in their training data (Diverse Response Inpainting), i.e. in the
adapter. Any generation is parsed the same way: a leading ``[tag]`` becomes
``predicted_strategy`` (None when missing or unknown) and never reaches the metrics.

Without ``adapter=PATH`` a student looks in ``<escbench cache>/adapters/<name>`` (``/`` and
``+`` in the name replaced; ``escbench train`` writes only to its required ``--out``, so put or
link a trained folder there, or pass ``adapter=``) and fails in ``prepare`` naming the
``adapter`` setting when absent.
``adapter`` may also name a whole model folder (``escbench train --method full``): it is then
loaded instead of ``base_model``.

A folder written by ``escbench train`` carries a training card; the system refuses a card that
does not fit it (strategy tags, DRI use, base weights, prompt, truncation rule), naming the
system that does, and takes the prompt budget (``max_prompt_tokens``, whole oldest turns
dropped beyond it, as in training) and ``dri_k`` from it.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable, ClassVar, Sequence

from escbench.harness.backends.choice import backend_identity, make_backend, unavailable
from escbench.harness.catalogs import StrategyCatalog, load_strategy_catalog
from escbench.harness.data import Example
from escbench.harness.errors import ConfigError, EscbenchError, SystemUnavailableError
from escbench.harness.paths import cache_dir
from escbench.harness.prompts import PromptFile
from escbench.harness.registry import Generation, GenerationSettings

from .student_format import context_messages, default_prompt_path, fit_messages, parse_output

LOCAL_BACKENDS = ("hf", "vllm")


def default_adapter_dir(system_name: str) -> Path:
    """Where a student looks for its adapter without ``adapter=``: ``<cache>/adapters/<name, / and +
    replaced>`` (training writes to its ``--out``, never here)."""
    safe = system_name.replace("/", "-").replace("+", "-plus-")
    return cache_dir() / "adapters" / safe


class StudentSystem:
    """Base model + adapter + student prompt format (see module doc); subclasses set the name
    and whether the student was trained to predict strategies."""

    name: ClassVar[str] = "student"
    description: ClassVar[str] = "a fine-tuned student"
    display_name: ClassVar[str] = "Student"
    paper_order: ClassVar[int | None] = None
    with_strategy: ClassVar[bool] = True
    uses_dri: ClassVar[bool | None] = None  # None: either

    def __init__(
        self,
        adapter: str | None = None,
        base_model: str = "smollm2",
        prompt: str | None = None,
        catalog: str = "extes",
        backend: str = "hf",
        dtype: str = "auto",
        device: str = "auto",
        load_8bit: bool = False,
        trust_remote_code: bool = False,
        max_context_turns: int | None = None,
        max_prompt_tokens: int | None = None,
    ):
        if backend not in LOCAL_BACKENDS:
            raise ConfigError(f"system {self.name!r}: backend={backend!r} must be one of {', '.join(LOCAL_BACKENDS)}")
        for setting, value in (("max_context_turns", max_context_turns), ("max_prompt_tokens", max_prompt_tokens)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ConfigError(f"system {self.name!r}: {setting}={value!r} must be a positive integer")
        self.adapter = str(adapter) if adapter else str(default_adapter_dir(self.name))
        self.adapter_given = bool(adapter)
        self.full_model = is_full_model(self.adapter)
        self.base_model = self.adapter if self.full_model else str(base_model)
        self.catalog_name = catalog
        self.backend_kind = backend
        self.max_context_turns = max_context_turns
        self.max_prompt_tokens = max_prompt_tokens
        self.prompt = PromptFile(self.name, "prompt", prompt or default_prompt_path(self.with_strategy))
        try:
            self.backend = make_backend(backend, self.base_model, adapter=None if self.full_model else self.adapter,
                                        dtype=dtype, device=device,
                                        load_8bit=load_8bit, trust_remote_code=trust_remote_code)
        except ConfigError as error:
            raise ConfigError(f"system {self.name!r}: {error}") from None

    def _unavailable(self, error: EscbenchError) -> SystemUnavailableError:
        values = {"adapter": self.adapter, "base_model": self.base_model, "backend": self.backend_kind}
        return unavailable(self.name, error, values=values, fallback_setting="model", rename={"model": "base_model"})

    def catalog(self) -> StrategyCatalog:
        try:
            return load_strategy_catalog(self.catalog_name)
        except ConfigError as error:
            raise SystemUnavailableError(self.name, f"setting catalog={self.catalog_name!r}: {error}") from None

    def _check_adapter(self) -> None:
        if not (Path(self.adapter).expanduser() / "adapter_config.json").is_file() and not self.full_model:
            how = "" if self.adapter_given else " (the default adapter folder; `escbench train` writes to its --out)"
            raise SystemUnavailableError(
                self.name, f"setting adapter={self.adapter!r}: no PEFT adapter or trained model there{how}: train "
                f"one or pass adapter=PATH to an adapter folder for base_model={self.base_model!r}")

    def _check_training_card(self) -> None:
        """A student trained by ``escbench train`` carries a card: refuse one that does not fit
        this system (tags, DRI, base model, prompt, truncation); no silent drift."""
        from .train.card import check_student  # the card's one reader

        try:
            check_student(self.adapter, self.base_model, self.with_strategy, self.prompt.text, system=self.name,
                          uses_dri=self.uses_dri)
        except ConfigError as error:
            raise SystemUnavailableError(self.name, str(error)) from None

    def _card(self) -> dict[str, Any] | None:
        """The training card of the folder (None without one; read once)."""
        if not hasattr(self, "_card_cache"):
            from .train.card import CARD_JSON, read_card

            folder = Path(self.adapter).expanduser()
            try:
                self._card_cache = read_card(folder) if (folder / CARD_JSON).is_file() else None
            except ConfigError as error:
                raise SystemUnavailableError(self.name, str(error)) from None
        return self._card_cache

    def prompt_budget(self) -> int | None:
        """``max_prompt_tokens`` when given, else the budget the card's student was trained with."""
        if self.max_prompt_tokens:
            return self.max_prompt_tokens
        card = self._card()
        return card["prompt_format"].get("max_prompt_tokens") if card else None

    def config(self) -> dict[str, Any]:
        """What identifies the outputs: weights, adapter hash, prompt hash, format options,
        and from the card the DRI k the student was trained with (None without DRI or card)."""
        try:
            identity = backend_identity(self.backend_kind, self.backend)
        except ConfigError as error:
            raise self._unavailable(error) from None
        identity["base_model"] = identity.pop("model")
        if self.full_model:
            identity.update(_model_identity(self.adapter))
        card = self._card()
        return {
            "system": self.name, **identity, "with_strategy": self.with_strategy,
            "catalog": self.catalog().name, "prompt": self.prompt.spec, "prompt_sha256": self.prompt.sha256(),
            "max_context_turns": self.max_context_turns, "max_prompt_tokens": self.prompt_budget(),
            "dri_k": ((card.get("training") or {}).get("dri_k") if card else None),
        }

    def prepare(self) -> None:
        """Check the adapter folder, its training card and the prompt, then load base model +
        adapter."""
        self._check_adapter()
        self.prompt.text
        self.catalog()
        self._check_training_card()
        try:
            self.backend.load()
        except EscbenchError as error:
            raise self._unavailable(error) from None

    def messages(self, example: Example) -> list[dict[str, str]]:
        """The student prompt for one example: whole oldest turns dropped to fit the prompt
        budget (:meth:`prompt_budget`), the rule training used."""
        messages = context_messages(example, self.with_strategy, self.prompt.text, self.max_context_turns)
        tokenizer = getattr(self.backend, "tokenizer", None)
        budget = self.prompt_budget()
        if budget and tokenizer is not None:
            messages = fit_messages(messages, tokenizer, budget)
        return messages

    def generate(self, examples: Sequence[Example], settings: GenerationSettings,
                 progress: Callable[[int], None] | None = None) -> list[Generation]:
        """One parsed reply per example: ``text`` without the tag, ``predicted_strategy``
        from it, ``raw`` the model's output as generated."""
        self.prepare()
        outputs = self.backend.generate([self.messages(e) for e in examples], settings, progress=progress)
        catalog = self.catalog()
        generations = []
        for output in outputs:
            strategy, response = parse_output(output.text, catalog)
            generations.append(Generation(text=response, predicted_strategy=strategy, raw=output.raw,
                                          usage=dict(output.usage)))
        return generations


def is_full_model(folder: str) -> bool:
    """Whether ``folder`` holds a whole model (``--method full``) rather than a PEFT adapter."""
    path = Path(folder).expanduser()
    return (path / "config.json").is_file() and not (path / "adapter_config.json").is_file()


def _model_identity(folder: str) -> dict[str, Any]:
    """A whole model folder's weights hash (first safetensors file), cached by size and mtime."""
    path = Path(folder).expanduser().resolve()
    weights = sorted(path.glob("*.safetensors"))
    if not weights:
        return {"adapter": None, "adapter_sha256": None, "model_sha256": None}
    stat = weights[0].stat()
    return {"adapter": None, "adapter_sha256": None,
            "model_sha256": _weights_sha256(str(weights[0]), stat.st_size, stat.st_mtime_ns)}


@functools.lru_cache(maxsize=16)
def _weights_sha256(path: str, size: int, mtime_ns: int) -> str:
    from escbench.harness.models import file_sha256

    return file_sha256(Path(path))


class AugESCStudent(StudentSystem):
    name = "augesc"
    description = "Student fine-tuned on AugESC-recipe dialogues (no strategy labels), without DRI"
    display_name = "AugESC"
    paper_order = 4
    with_strategy = False
    uses_dri = False


class AugESCDRIStudent(StudentSystem):
    name = "augesc+dri"
    description = "Student fine-tuned on AugESC-recipe dialogues (no strategy labels), with DRI"
    display_name = "AugESC+DRI"
    paper_order = 5
    with_strategy = False
    uses_dri = True


class ChatPalNoDRIStudent(StudentSystem):
    name = "chatpal-w/o-dri"
    description = "ChatPal student fine-tuned on ExTES-style data with strategy prediction, without DRI"
    display_name = "ChatPal w/o DRI"
    paper_order = 6
    with_strategy = True
    uses_dri = False


class ChatPalStudent(StudentSystem):
    name = "chatpal"
    description = "ChatPal: student fine-tuned on ExTES-style data with strategy prediction and DRI"
    display_name = "ChatPal"
    paper_order = 7
    with_strategy = True
    uses_dri = True


STUDENT_SYSTEMS = [AugESCStudent, AugESCDRIStudent, ChatPalNoDRIStudent, ChatPalStudent]
