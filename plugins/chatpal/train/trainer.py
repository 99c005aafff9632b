"""Train a student: data -> tokens -> transformers Trainer (+ PEFT) -> adapter and card.

:func:`train_student` is what ``escbench train`` runs. The Trainer does the optimisation,
gradient accumulation, evaluation, checkpointing, resumption (optimizer, scheduler, RNG
and data position are restored, so a resumed run ends with the same weights as an
uninterrupted one) and data parallelism under ``accelerate launch``; this module only
prepares its inputs and records the outcome.
"""
from __future__ import annotations

import json
import logging
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from escbench.harness.errors import ConfigError
from escbench.harness.jsonl import write_atomic

from .settings import TrainSettings

LOG_EVERY_STEPS = 1


@dataclass
class TrainOutcome:
    """Where the student was written and its training card."""

    out: Path
    card: dict[str, Any]


def train_student(settings: TrainSettings) -> TrainOutcome:
    """Run one training (resuming an interrupted one in ``settings.out``); see module doc.

    Raises DataError for bad or empty data and ConfigError for bad settings, a base model
    that is not a causal LM, or an output folder holding another run.
    """
    started = time.time()
    # bitsandbytes warns on import that an optional 4-bit CPU kernel package is absent;
    # training never uses 4-bit kernels, so keep that line out of every run's output.
    logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=r"`is_gradient_checkpointing` is deprecated", category=FutureWarning)
    from accelerate import PartialState
    from transformers.trainer_callback import PrinterCallback

    from escbench.harness.models import quiet_transformers, resolve_model

    from .callbacks import JsonlLogCallback, RichProgressCallback
    from .card import base_fingerprint, hardware_info, write_card
    from .collate import encode_pairs, make_collator, require_trainable
    from .model import check_causal_lm, int8_layer_count, load_tokenizer, load_trainable_model, trainable_parameters
    from .output import LOG_FILE, complete_checkpoints, prepare_output

    model_path = str(resolve_model(settings.base))
    check_causal_lm(model_path)
    data, catalog_name = _load_data(settings)
    base = base_fingerprint(settings.base, model_path)
    fingerprint = run_fingerprint(settings, base, data.sources)
    tokenizer = load_tokenizer(model_path)
    prompt_format, prompt_path = _prompt_format(settings)
    train_set = encode_pairs(data.train, tokenizer, prompt_format)
    require_trainable(train_set, "training", settings.max_len)
    valid_set = encode_pairs(data.valid, tokenizer, prompt_format)

    import torch

    state = PartialState(cpu=not torch.cuda.is_available())  # CPU processes join through gloo
    resume_from = None
    if state.is_main_process:
        resume_from = prepare_output(settings.out, fingerprint, settings.overwrite)
    state.wait_for_everyone()
    if not state.is_main_process and complete_checkpoints(settings.out):
        resume_from = complete_checkpoints(settings.out)[-1][1]
    from transformers import set_seed

    set_seed(settings.seed)  # new LoRA / adapter weights start from the same draw on every run
    with quiet_transformers():
        model = load_trainable_model(model_path, settings)
    trainable, total = trainable_parameters(model)
    int8_layers = int8_layer_count(model)

    args = _training_arguments(settings, has_valid=bool(valid_set.features), world_size=state.num_processes)
    from transformers import Trainer

    trainer = Trainer(
        model=model, args=args, train_dataset=train_set.features,
        eval_dataset=valid_set.features or None, processing_class=tokenizer,
        data_collator=make_collator(tokenizer, None if args.use_cpu else 8),
        callbacks=[JsonlLogCallback(settings.out / LOG_FILE)] + ([RichProgressCallback()] if settings.progress else []),
    )
    trainer.remove_callback(PrinterCallback)
    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    if valid_set.features and not _evaluated_at(trainer.state.log_history, trainer.state.global_step):
        trainer.evaluate()
    trainer.save_model(str(settings.out))
    card = {}
    if state.is_main_process:
        tokenizer.save_pretrained(str(settings.out))
        sort_adapter_config(settings.out)
        card = _card(settings, base, data, catalog_name, (prompt_format, prompt_path), tokenizer, train_set, valid_set,
                     trainer, (trainable, total, int8_layers), resume_from, started, hardware_info())
        write_card(settings.out, card)
    state.wait_for_everyone()
    return TrainOutcome(settings.out, card)


def run_fingerprint(settings: TrainSettings, base: dict[str, Any], sources: list) -> dict[str, Any]:
    """What must match for a run to resume: the settings, the base weights and the data."""
    return {**settings.fingerprint(), "base_config_sha256": base["config_sha256"],
            "base_weights_bytes": base["weights_bytes"], "data_sha256": [h for source in sources for h in source.hashes()]}


def _load_data(settings: TrainSettings):
    from escbench.harness.catalogs import load_strategy_catalog

    from .data import build_training_data, load_source_dialogues
    from .dri_file import dri_source, read_dri_file

    catalog = load_strategy_catalog(settings.catalog)
    dialogues, sources = load_source_dialogues(settings.data, catalog, settings.partition)
    valid_dialogues = None
    if settings.valid_data:
        valid_dialogues, valid_sources = load_source_dialogues(settings.valid_data, catalog, "valid")
        for source in valid_sources:
            source.kind = f"valid-{source.kind}"
        sources += valid_sources
    dri = None
    if settings.dri:
        records = read_dri_file(settings.dri, catalog)
        dri = (records, dri_source(settings.dri, len(records)))
    data = build_training_data(dialogues, sources, dri, valid_dialogues, settings.valid_fraction, settings.seed,
                               dri_k=settings.dri_k, with_strategy=settings.with_strategy)
    return data, catalog.name


def _prompt_format(settings: TrainSettings):
    from escbench.harness.prompts import read_prompt_template
    from ..student_format import default_prompt_path

    from .collate import PromptFormat

    path = Path(settings.system_prompt) if settings.system_prompt else default_prompt_path(settings.with_strategy)
    try:
        template = read_prompt_template(path)
    except OSError as error:
        raise ConfigError(f"--system-prompt {path}: cannot read it ({error})") from None
    return PromptFormat(settings.with_strategy, template, settings.max_len, settings.max_prompt_len), path


def _training_arguments(settings: TrainSettings, has_valid: bool, world_size: int) -> Any:
    import torch
    from transformers import TrainingArguments

    from .model import resolve_dtype
    from .output import CHECKPOINTS

    cuda = torch.cuda.is_available()
    options = dict(
        output_dir=str(settings.out / CHECKPOINTS),
        per_device_train_batch_size=settings.micro_batch, per_device_eval_batch_size=settings.micro_batch,
        gradient_accumulation_steps=settings.accumulation_steps(world_size),
        learning_rate=settings.learning_rate, weight_decay=settings.weight_decay, optim="adamw_torch",
        lr_scheduler_type=settings.lr_scheduler, warmup_steps=settings.warmup_steps,
        num_train_epochs=settings.epochs, max_steps=settings.max_steps or -1,
        eval_strategy="steps" if has_valid else "no", eval_steps=settings.eval_steps,
        save_strategy="steps", save_steps=settings.save_steps, save_total_limit=settings.save_total_limit,
        logging_strategy="steps", logging_steps=LOG_EVERY_STEPS,
        seed=settings.seed, data_seed=settings.seed,
        bf16=resolve_dtype(settings.dtype) == "bfloat16",
        train_sampling_strategy="group_by_length" if settings.group_by_length else "random",
        include_num_input_tokens_seen="non_padding", remove_unused_columns=False,
        report_to="none", disable_tqdm=True, use_cpu=not cuda, dataloader_pin_memory=cuda,
        ddp_find_unused_parameters=False if world_size > 1 else None,
    )
    try:
        return TrainingArguments(**options)
    except ValueError as error:  # e.g. an --lr-scheduler name transformers does not know
        raise ConfigError(f"training settings rejected by transformers: {str(error).splitlines()[0]}") from None


def _evaluated_at(log_history: list[dict], step: int) -> bool:
    return any("eval_loss" in entry and entry.get("step") == step for entry in log_history)


def _last(log_history: list[dict], key: str) -> float | None:
    values = [entry[key] for entry in log_history if key in entry]
    return values[-1] if values else None


def _card(settings, base, data, catalog_name, prompt_format, tokenizer, train_set, valid_set, trainer,
          parameters, resume_from, started, hardware) -> dict[str, Any]:
    from escbench.harness.models import file_sha256
    from escbench.harness.prompt_budget import TRUNCATION
    from escbench.harness.results import environment_info, now_iso

    from .card import training_facts

    fmt, prompt_path = prompt_format
    history = trainer.state.log_history
    chat_template = getattr(tokenizer, "chat_template", None)
    return {
        "artifact": "model" if settings.method == "full" else "adapter",
        "method": settings.method,
        "base_model": base,
        "prompt_format": {
            "module": "escbench.plugins.chatpal.student_format", "with_strategy": fmt.with_strategy,
            "system_prompt": fmt.system_prompt, "system_prompt_file": str(Path(prompt_path).resolve()),
            "system_prompt_sha256": file_sha256(Path(prompt_path)),
            "chat_template": bool(chat_template),
            "chat_template_sha256": _text_sha256(chat_template) if chat_template else None,
            "target": "[Strategy] response" if fmt.with_strategy else "response",
            "eos_token": tokenizer.eos_token, "max_len": fmt.max_len, "truncation": TRUNCATION,
            "max_prompt_tokens": fmt.prompt_tokens,
            "strategy_catalog": catalog_name,
        },
        "data": [source.to_dict() for source in data.sources],
        "training": training_facts(settings, data),
        "data_stats": {**data.stats, "train_examples": len(train_set.features),
                       "train_dropped_too_long": len(train_set.dropped), "train_truncated": train_set.truncated,
                       "train_shortened_for_target": train_set.shortened,
                       "valid_examples": len(valid_set.features), "valid_dropped_too_long": len(valid_set.dropped),
                       "train_tokens": train_set.tokens, "train_target_tokens": train_set.target_tokens},
        "hyperparameters": {**settings.to_dict(), "gradient_accumulation_steps": trainer.args.gradient_accumulation_steps,
                            "world_size": trainer.args.world_size,
                            "actual_effective_batch": trainer.args.gradient_accumulation_steps
                            * settings.micro_batch * trainer.args.world_size,
                            "trainable_parameters": parameters[0], "total_parameters": parameters[1],
                            "int8_layers": parameters[2]},
        "results": {"final_train_loss": _last(history, "loss"), "mean_train_loss": _mean(history, "loss"),
                    "final_valid_loss": _last(history, "eval_loss"), "steps": trainer.state.global_step,
                    "epochs": trainer.state.epoch, "input_tokens_seen": trainer.state.num_input_tokens_seen,
                    "resumed_from_step": int(Path(resume_from).name.split("-")[-1]) if resume_from else None,
                    "wall_time_s": round(time.time() - started, 1),
                    "train_runtime_s": _last(history, "train_runtime")},
        "hardware": hardware,
        "environment": environment_info(),
        "created": now_iso(),
    }


def _mean(log_history: list[dict], key: str) -> float | None:
    """Mean of ``key`` over the whole run (a resumed run's history includes earlier steps)."""
    values = [entry[key] for entry in log_history if key in entry]
    return sum(values) / len(values) if values else None


def _text_sha256(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sort_adapter_config(out: Path) -> None:
    """PEFT writes ``target_modules`` from a set, in an order that changes with the process's
    hash seed; sorted, the same training gives a byte-identical ``adapter_config.json``."""
    path = Path(out) / "adapter_config.json"
    if not path.exists():
        return
    config = json.loads(path.read_text(encoding="utf-8"))
    for key in ("target_modules", "modules_to_save", "exclude_modules"):
        if isinstance(config.get(key), list):
            config[key] = sorted(config[key])
    write_atomic(path, json.dumps(config, indent=2, sort_keys=True) + "\n")
