"""Detoxify checkpoints as a toxicity backend, loaded from local files only.

A Detoxify checkpoint (``torch.save`` of ``{"config": ..., "state_dict": ...}``) names a
transformers classifier (``config.arch.args``: ``model_type``, ``model_name``,
``tokenizer_name``, ``num_classes``) and its class names (``config.dataset.args.classes``).
``Detoxify('original')`` downloads such a file and its base model's config, which fails
offline; here the checkpoint is ``checkpoint=PATH`` and the base model's config and
tokenizer come from ``config_dir=`` (a local Hugging Face folder) or from the local
Hugging Face cache. Scores are sigmoids of the classifier's logits, as Detoxify computes
them. Detoxify calls Perspective's PROFANITY "obscene"; the columns say so.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from escbench.harness.errors import MetricUnavailableError

# Detoxify class name -> escbench attribute (Perspective's names where they match).
DETOXIFY_KEYS = {"toxicity": "TOXICITY", "severe_toxicity": "SEVERE_TOXICITY",
                 "identity_attack": "IDENTITY_ATTACK", "insult": "INSULT",
                 "obscene": "OBSCENE", "threat": "THREAT"}
# Older checkpoints use the Jigsaw column names.
_RENAMED = {"toxic": "toxicity", "severe_toxic": "severe_toxicity", "identity_hate": "identity_attack"}
_models: dict[tuple, "DetoxifyModel"] = {}


class DetoxifyModel:
    """A loaded checkpoint: ``predict(texts)`` -> class name -> list of probabilities."""

    def __init__(self, model, tokenizer, class_names: list[str], device: str):
        self.model, self.tokenizer, self.class_names, self.device = model, tokenizer, class_names, device

    def predict(self, texts: Sequence[str]) -> dict[str, list[float]]:
        import torch

        inputs = self.tokenizer(list(texts), return_tensors="pt", truncation=True, padding=True)
        with torch.no_grad():
            logits = self.model(**inputs.to(self.device)).logits
        probabilities = torch.sigmoid(logits).cpu().tolist()
        return {name: [row[i] for row in probabilities] for i, name in enumerate(self.class_names)}


def load_detoxify(checkpoint: str | None, config_dir: str | None, device: str,
                  metric: str) -> DetoxifyModel:
    """The checkpoint's classifier, cached per process; MetricUnavailableError names the
    missing option or file."""
    if not checkpoint:
        raise MetricUnavailableError(metric, "needs a local Detoxify checkpoint: "
                                             "--metric-args checkpoint=PATH (Detoxify's own "
                                             "download does not work offline)")
    path = Path(checkpoint).expanduser()
    if not path.is_file():
        raise MetricUnavailableError(metric, f"Detoxify checkpoint {path} not found "
                                             f"(option checkpoint=PATH)")
    if config_dir and not Path(config_dir).expanduser().is_dir():
        raise MetricUnavailableError(metric, f"config_dir {config_dir} is not a folder")
    key = (str(path.resolve()), config_dir, device)
    if key not in _models:
        _models[key] = _load(path, config_dir, device, metric)
    return _models[key]


def _load(path: Path, config_dir: str | None, device: str, metric: str) -> DetoxifyModel:
    import torch
    import transformers

    try:
        loaded = torch.load(path, map_location=device, weights_only=False)
        arch = loaded["config"]["arch"]["args"]
        classes = [_RENAMED.get(name, name) for name in loaded["config"]["dataset"]["args"]["classes"]]
        state_dict = loaded["state_dict"]
    except (KeyError, TypeError, RuntimeError, OSError) as error:
        raise MetricUnavailableError(metric, f"{path} is not a Detoxify checkpoint "
                                             f"(config.arch.args, config.dataset.args.classes, "
                                             f"state_dict): {error}") from None
    source = str(Path(config_dir).expanduser()) if config_dir else arch["model_type"]
    try:
        model_class = getattr(transformers, arch["model_name"])
        config = model_class.config_class.from_pretrained(
            source, num_labels=int(arch["num_classes"]), local_files_only=True)
        model = model_class(config)
        model.load_state_dict(state_dict)
        tokenizer = getattr(transformers, arch["tokenizer_name"]).from_pretrained(
            source, local_files_only=True)
    except (OSError, ValueError, AttributeError, RuntimeError) as error:
        raise MetricUnavailableError(
            metric, f"cannot build {arch.get('model_name')} for {path} from {source!r} offline "
                    f"(give config_dir=FOLDER with the base model's config and tokenizer): "
                    f"{type(error).__name__}: {str(error)[:300]}") from None
    model.to(device).eval()
    return DetoxifyModel(model, tokenizer, classes, device)


def detoxify_attributes(predictions: dict[str, Sequence[float]], count: int) -> list[dict[str, float | None]]:
    """Per-class score lists as one dict per text, keyed by escbench attribute names;
    attributes the checkpoint lacks are None."""
    rows: list[dict[str, float | None]] = [{} for _ in range(count)]
    for key, attribute in DETOXIFY_KEYS.items():
        values = predictions.get(key)
        if values is not None and not isinstance(values, (list, tuple)):
            values = [values]  # a single text's score as a bare number
        for position, row in enumerate(rows):
            row[attribute] = None if values is None else float(values[position])
    return rows
