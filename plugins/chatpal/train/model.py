"""Loading the base model for training and making the chosen part of it trainable.

``lora``: PEFT LoRA on the attention projections; ``adapter``: PEFT adaption prompt
(LLaMA-Adapter, zero-initialised gates); ``full``: every weight. With ``load_8bit`` the base
weights are frozen int8 through bitsandbytes (CPU works too, slowly). Errors a user can cause
(not a causal LM, unknown target modules, architecture the adapter method does not support)
are ConfigErrors naming the setting.
"""
from __future__ import annotations

import os
from typing import Any

from escbench.harness.errors import ConfigError

from .settings import TrainSettings


def check_causal_lm(model_path: str) -> Any:
    """The model's config; ConfigError unless it is a decoder-only language model.

    Encoder models (BERT, RoBERTa...) have a causal-LM class too, usable only when configured
    as decoders, and encoder-decoder models are not decoder-only: both are refused.
    """
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import (MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
                                                        MODEL_FOR_MASKED_LM_MAPPING_NAMES)

    try:
        config = AutoConfig.from_pretrained(model_path)
    except Exception as error:
        raise ConfigError(f"--base {model_path}: cannot read its config.json ({error})") from None
    encoder = config.model_type in MODEL_FOR_MASKED_LM_MAPPING_NAMES and not getattr(config, "is_decoder", False)
    if (config.model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES or encoder
            or getattr(config, "is_encoder_decoder", False)):
        raise ConfigError(f"--base {model_path} is a {config.model_type!r} model, not a causal "
                          "(decoder-only) language model: students are trained from a model that "
                          "AutoModelForCausalLM loads (LLaMA, SmolLM2, GPT-2/DialoGPT...)")
    return config


def resolve_dtype(dtype: str) -> str:
    """``auto``: bfloat16 on a CUDA GPU that supports it, else float32."""
    import torch

    if dtype != "auto":
        return dtype
    return "bfloat16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "float32"


def load_tokenizer(model_path: str) -> Any:
    """The base tokenizer, padding on the right with a pad token (eos when it has none)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    return tokenizer


def load_trainable_model(model_path: str, settings: TrainSettings) -> Any:
    """The base model with the method's trainable parameters (see module doc)."""
    import torch
    from transformers import AutoModelForCausalLM

    check_causal_lm(model_path)
    dtype = getattr(torch, resolve_dtype(settings.dtype))
    kwargs: dict[str, Any] = {"dtype": dtype}
    if settings.load_8bit:
        from transformers import BitsAndBytesConfig

        device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu"
        kwargs.update(quantization_config=BitsAndBytesConfig(load_in_8bit=True), device_map={"": device})
    try:
        model = AutoModelForCausalLM.from_pretrained(model_path, **kwargs)
    except ImportError as error:
        raise ConfigError(f"--base {model_path}: a package is missing ({error})") from None
    if settings.load_8bit:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=settings.gradient_checkpointing)
    elif settings.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if settings.method != "full":
            model.enable_input_require_grads()
    model.config.use_cache = False
    if settings.method == "full":
        return model
    return _wrap_with_peft(model, settings)


def _wrap_with_peft(model: Any, settings: TrainSettings) -> Any:
    from peft import get_peft_model

    if settings.method == "lora":
        peft_config = _lora_config(model, settings)
    else:
        peft_config = _adaption_prompt_config(model, settings)
    return get_peft_model(model, peft_config)


def _lora_config(model: Any, settings: TrainSettings) -> Any:
    from peft import LoraConfig

    linear_names = sorted({name.rsplit(".", 1)[-1] for name, module in model.named_modules()
                           if _is_linear(module)})
    missing = [target for target in settings.lora_targets if target not in linear_names]
    if missing:
        raise ConfigError(f"--lora-targets: {', '.join(missing)} not among this model's linear layers "
                          f"({', '.join(linear_names)}); e.g. GPT-2 models use c_attn,c_proj")
    return LoraConfig(r=settings.lora_r, lora_alpha=settings.lora_alpha, lora_dropout=settings.lora_dropout,
                      target_modules=list(settings.lora_targets), bias="none", task_type="CAUSAL_LM")


def _adaption_prompt_config(model: Any, settings: TrainSettings) -> Any:
    from peft import AdaptionPromptConfig
    from peft.tuners.adaption_prompt.config import TRANSFORMERS_MODEL_CONFIG

    model_type = model.config.model_type
    if model_type not in TRANSFORMERS_MODEL_CONFIG:
        raise ConfigError(f"--method adapter (adaption prompt) supports {', '.join(TRANSFORMERS_MODEL_CONFIG)} "
                          f"models, not {model_type!r}: use --method lora")
    layers = model.config.num_hidden_layers
    chosen = settings.adapter_layers or layers
    if not 1 <= chosen <= layers:
        raise ConfigError(f"--adapter-layers {chosen} must be between 1 and the model's {layers} layers")
    return AdaptionPromptConfig(adapter_len=settings.adapter_len, adapter_layers=chosen, task_type="CAUSAL_LM")


def _is_linear(module: Any) -> bool:
    import torch

    if isinstance(module, torch.nn.Linear):
        return True
    # GPT-2's projections are Conv1D; bitsandbytes' int8 layers subclass Linear already.
    return type(module).__name__ == "Conv1D"


def trainable_parameters(model: Any) -> tuple[int, int]:
    """``(trainable, total)`` parameter counts."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total


def int8_layer_count(model: Any) -> int:
    """How many linear layers hold bitsandbytes int8 weights (0 unless ``load_8bit``)."""
    return sum(type(module).__name__ == "Linear8bitLt" and type(module).__module__.startswith("bitsandbytes")
               for module in model.modules())
