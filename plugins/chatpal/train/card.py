"""The training card: what a trained student is, and how it must be prompted.

``training_card.json`` in the output folder is the contract between training and the
student systems (``training_card.md`` is the same for people). Keys:

* ``schema`` (``escbench.training_card/1``), ``artifact`` (``"adapter"``: a PEFT folder to load
  on ``base_model``; ``"model"``: a whole model folder, from ``--method full``), ``method``.
* ``base_model``: ``spec`` as given, resolved ``path``, ``model_type``, ``config_sha256``,
  ``weights_bytes`` and, for GGUF-converted models, ``source_sha256`` (see
  :func:`base_fingerprint`; :func:`verify_base_model` compares them).
* ``prompt_format``: ``module`` (the student format), ``with_strategy``, ``system_prompt``
  (template text, comments removed) with its ``system_prompt_file`` and ``_sha256``,
  ``chat_template`` (bool) and ``chat_template_sha256``, ``target`` (``"[Strategy] response"``
  or ``"response"``), ``eos_token``, ``max_len``, ``truncation`` (``"drop-oldest-turns"``: whole oldest turns
  dropped, system prompt kept; see :mod:`escbench.plugins.chatpal.student_format`), ``max_prompt_tokens``
  (the prompt budget students use at inference too), ``strategy_catalog``.
* ``data``: input files with sha256 and counts; ``data_stats``: pair counts, drops, truncations.
* ``training``: what the student learnt from (:func:`training_facts`): ``method``,
  ``with_strategy``, ``datasets`` (path + sha256 of each dialogue input), ``dri`` (``path``,
  ``sha256``, ``k`` used, ``file_k`` the most alternatives a line holds; null without DRI),
  ``dri_k`` and ``unlabeled_alternatives`` (the policy of :mod:`.data`). Student systems check
  it (:func:`check_student`).
* ``hyperparameters`` (every setting), ``results`` (final train/valid loss, steps, epochs,
  tokens, wall time, resumed-from step), ``hardware``, ``environment``, ``created``.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from escbench.harness.errors import ConfigError
from escbench.harness.jsonl import write_atomic, write_json_atomic

CARD_JSON = "training_card.json"
CARD_MD = "training_card.md"
SCHEMA = "escbench.training_card/1"
# config.json keys that change with the saving library, not with the weights.
VOLATILE_CONFIG_KEYS = ("transformers_version", "_name_or_path", "dtype", "torch_dtype", "_commit_hash",
                        "use_cache")
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


def base_fingerprint(spec: str, model_path: str | Path) -> dict[str, Any]:
    """What identifies base weights without hashing them all: normalised config hash and the
    total size of the weight files (plus the GGUF hash for converted models)."""
    from escbench.harness.models import read_marker

    folder = Path(model_path)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    stable = {k: v for k, v in config.items() if k not in VOLATILE_CONFIG_KEYS}
    weights = sum(f.stat().st_size for f in folder.iterdir() if f.suffix in WEIGHT_SUFFIXES and
                  not f.name.startswith("adapter_") and "optimizer" not in f.name)
    marker = read_marker(folder) or {}
    return {"spec": spec, "path": str(folder.resolve()), "model_type": config.get("model_type"),
            "config_sha256": hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest(),
            "weights_bytes": weights, "source_sha256": marker.get("source_sha256")}


def read_card(folder: str | Path) -> dict[str, Any]:
    """The training card of a trained student folder; ConfigError when absent or unreadable."""
    path = Path(folder).expanduser() / CARD_JSON
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path.parent} has no {CARD_JSON}: pass a folder written by "
                          "`escbench train` (an unfinished run has none yet)") from None
    except (OSError, ValueError) as error:
        raise ConfigError(f"{path}: cannot read the training card ({error})") from None
    if card.get("schema") != SCHEMA:
        raise ConfigError(f"{path}: schema {card.get('schema')!r} is not {SCHEMA!r}")
    return card


def verify_base_model(card: dict[str, Any], model_spec: str, where: str = "adapter") -> None:
    """ConfigError unless ``model_spec`` resolves to the weights the card was trained on
    (same normalised config and weight size; for GGUF conversions, the same source file)."""
    from escbench.harness.models import resolve_model

    trained = card["base_model"]
    given = base_fingerprint(model_spec, resolve_model(model_spec))
    same_source = trained.get("source_sha256") == given.get("source_sha256")
    same_weights = (trained["config_sha256"] == given["config_sha256"]
                    and trained["weights_bytes"] == given["weights_bytes"])
    if not (same_source and same_weights):
        raise ConfigError(f"{where} was trained on {trained['spec']!r} ({trained['path']}), not on "
                          f"model {model_spec!r} ({given['path']}): use the base model it was trained on, or "
                          "an adapter trained for this model")


# The student system each kind of training fits: (strategy tags, DRI) -> system name.
FITTING_SYSTEMS = {(True, True): "chatpal", (True, False): "chatpal-w/o-dri",
                   (False, True): "augesc+dri", (False, False): "augesc"}


def trained_with(card: dict[str, Any]) -> tuple[bool, bool]:
    """``(strategy tags, DRI)`` of a card; DRI means a DRI file was given (``--dri-k 0``
    included: the k-sweep's first point), read from ``data`` for cards older than ``training``."""
    training = card.get("training") or {}
    tags = training.get("with_strategy", card.get("prompt_format", {}).get("with_strategy"))
    if "dri" in training:
        return bool(tags), training["dri"] is not None
    return bool(tags), any(entry.get("kind") == "dri" for entry in card.get("data", []))


def fitting_system(card: dict[str, Any]) -> str:
    """The student system that fits a card (see :data:`FITTING_SYSTEMS`)."""
    return FITTING_SYSTEMS[trained_with(card)]


def describe_training(card: dict[str, Any]) -> str:
    tags, dri = trained_with(card)
    return f"{'with' if tags else 'without'} strategy tags and {'with' if dri else 'without'} DRI"


def check_student(folder: str | Path, base_model: str, with_strategy: bool, system_prompt: str,
                  system: str = "student", uses_dri: bool | None = None) -> dict[str, Any] | None:
    """For a student system about to load ``folder``: its card, after checking that the card's
    base weights, target format, truncation rule, system prompt and (``uses_dri`` given) DRI
    use are the ones the system expects. A whole model (``artifact: model``) is its own base.

    Returns None for a folder without a card (an adapter made outside escbench); raises
    ConfigError naming what differs and the system that fits the card otherwise.
    """
    from escbench.harness.prompt_budget import TRUNCATION

    if not (Path(folder).expanduser() / CARD_JSON).is_file():
        return None
    card = read_card(folder)
    if card.get("artifact") != "model":
        verify_base_model(card, base_model, where=f"system {system!r}: adapter {folder}")
    trained = card["prompt_format"]
    fits = f"load it with system {fitting_system(card)!r}"
    if trained["with_strategy"] != with_strategy:
        made = "with" if trained["with_strategy"] else "without"
        raise ConfigError(f"system {system!r}: student {folder} was trained {made} strategy tags "
                          f"(escbench train --{'' if trained['with_strategy'] else 'no-'}strategy) but "
                          f"{system!r} {'predicts' if with_strategy else 'does not predict'} strategies: {fits}")
    if uses_dri is not None and trained_with(card)[1] != uses_dri:
        raise ConfigError(f"system {system!r} expects a student trained {'with' if uses_dri else 'without'} DRI, "
                          f"but {folder} was trained {describe_training(card)}: {fits}")
    if trained.get("truncation") != TRUNCATION:
        raise ConfigError(f"system {system!r}: student {folder} was trained with truncation "
                          f"{trained.get('truncation')!r}, but students build prompts by {TRUNCATION!r}: "
                          "train it again with this escbench so training and inference prompts agree")
    if trained["system_prompt"].strip() != system_prompt.strip():
        raise ConfigError(f"system {system!r}: its prompt differs from the one adapter {folder} was trained "
                          f"with ({trained['system_prompt_file']}): pass prompt= that file")
    return card


def training_facts(settings: Any, data: Any) -> dict[str, Any]:
    """The card's ``training`` section from TrainSettings and TrainingData (see module doc)."""
    from .data import UNLABELED_POLICY

    datasets = [{"path": s.path, "sha256": s.sha256, "kind": s.kind,
                 **({"dialogue_file": s.dialogue_file, "dialogue_file_sha256": s.dialogue_file_sha256}
                    if s.dialogue_file else {})}
                for s in data.sources if s.kind != "dri"]
    dri_sources = [s for s in data.sources if s.kind == "dri"]
    dri = None
    if dri_sources:
        dri = {"path": dri_sources[0].path, "sha256": dri_sources[0].sha256, "lines": dri_sources[0].count,
               "k": data.stats.get("dri_k"), "file_k": data.stats.get("dri_file_k")}
    return {"method": settings.method, "with_strategy": settings.with_strategy, "datasets": datasets,
            "dri": dri, "dri_k": dri["k"] if dri else None, "unlabeled_alternatives": UNLABELED_POLICY}


def write_card(folder: Path, card: dict[str, Any]) -> None:
    """Write ``training_card.json`` and its markdown view atomically."""
    write_json_atomic(folder / CARD_JSON, {"schema": SCHEMA, **card})
    write_atomic(folder / CARD_MD, render_markdown({"schema": SCHEMA, **card}))


def render_markdown(card: dict[str, Any]) -> str:
    """A short human-readable card."""
    results, fmt, base = card.get("results", {}), card.get("prompt_format", {}), card.get("base_model", {})
    rows = [
        ("artifact", card.get("artifact")), ("method", card.get("method")),
        ("base model", f"{base.get('spec')} ({base.get('path')})"),
        ("target format", fmt.get("target")), ("max length", f"{fmt.get('max_len')} tokens (prompt {fmt.get('max_prompt_tokens')}), "
                        f"{fmt.get('truncation')} truncation"),
        ("trained", f"{describe_training(card)}, DRI k={card.get('training', {}).get('dri_k')}; fits system "
                    f"{fitting_system(card)!r}"),
        ("final train loss", results.get("final_train_loss")), ("final valid loss", results.get("final_valid_loss")),
        ("steps", results.get("steps")), ("epochs", results.get("epochs")),
        ("wall time (s)", results.get("wall_time_s")), ("hardware", card.get("hardware", {}).get("device")),
    ]
    lines = ["# escbench training card", "", "| | |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    lines += ["", "## Data", ""]
    lines += [f"- {d['kind']}: `{d['path']}` (sha256 {d['sha256'][:12]}..., {d['count']})" for d in card.get("data", [])]
    lines += ["", "## Hyper-parameters", "", "```json", json.dumps(card.get("hyperparameters", {}), indent=2), "```",
              "", f"Full record: `{CARD_JSON}`.", ""]
    return "\n".join(lines)


def hardware_info() -> dict[str, Any]:
    """Device description for the card: GPU name and count, or the CPU."""
    import os
    import platform

    import torch

    if torch.cuda.is_available():
        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        return {"device": names[0], "gpus": len(names), "world_size": int(os.environ.get("WORLD_SIZE", 1))}
    return {"device": f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)",
            "gpus": 0, "world_size": int(os.environ.get("WORLD_SIZE", 1)), "torch_threads": torch.get_num_threads()}
