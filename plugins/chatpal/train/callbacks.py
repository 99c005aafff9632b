"""Trainer callbacks: the JSONL training log and the rich progress bar.

Both run on the main process only. Log lines are appended with flush+fsync
(:func:`escbench.harness.jsonl.append_records`), so a killed run leaves a readable log that the
resumed run continues. Token throughput comes from the Trainer's own count of non-padding
input tokens (``num_input_tokens_seen``).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from escbench.harness.jsonl import append_records, repair_tail


class ThroughputMeter:
    """Tokens per second between successive readings of the Trainer's token count."""

    def __init__(self) -> None:
        self.last_time: float | None = None
        self.last_tokens = 0

    def read(self, tokens_seen: int) -> float | None:
        now = time.perf_counter()
        rate = None
        if self.last_time is not None and now > self.last_time and tokens_seen >= self.last_tokens:
            rate = (tokens_seen - self.last_tokens) / (now - self.last_time)
        self.last_time, self.last_tokens = now, tokens_seen
        return rate


class JsonlLogCallback(TrainerCallback):
    """Appends one JSON object per Trainer log event to ``out/train_log.jsonl``:
    ``{"event": "train"|"eval"|"summary", "step", "epoch", "time", ...Trainer's values,
    "tokens_per_s"}``."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.meter = ThroughputMeter()
        self.started = time.time()

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            repair_tail(self.path)
            self.meter.read(state.num_input_tokens_seen or 0)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero or not logs:
            return
        event = "eval" if "eval_loss" in logs else ("summary" if "train_loss" in logs else "train")
        record = {"event": event, "step": state.global_step, "epoch": state.epoch,
                  "time": round(time.time(), 3), **{k: _plain(v) for k, v in logs.items()}}
        if event == "train":
            rate = self.meter.read(state.num_input_tokens_seen or 0)
            if rate is not None:
                record["tokens_per_s"] = round(rate, 1)
        append_records(self.path, [record])


class RichProgressCallback(TrainerCallback):
    """A rich progress bar on stderr: optimizer steps, latest train/validation loss, tokens/s."""

    def __init__(self) -> None:
        self.progress: Any = None
        self.task: Any = None
        self.meter = ThroughputMeter()
        self.fields = {"loss": "-", "valid": "-", "speed": "-"}

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("[bold]training"), BarColumn(), MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]} · valid {task.fields[valid]} · {task.fields[speed]} tok/s"),
            TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True),
        )
        self.progress.start()
        self.task = self.progress.add_task("train", total=state.max_steps, completed=state.global_step, **self.fields)
        self.meter.read(state.num_input_tokens_seen or 0)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.progress is None:
            return
        rate = self.meter.read(state.num_input_tokens_seen or 0)
        if rate is not None:
            self.fields["speed"] = f"{rate:,.0f}"
        self.progress.update(self.task, completed=state.global_step, **self.fields)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
        if self.progress is None or not logs:
            return
        if "loss" in logs:
            self.fields["loss"] = f"{logs['loss']:.4f}"
        if "eval_loss" in logs:
            self.fields["valid"] = f"{logs['eval_loss']:.4f}"
        self.progress.update(self.task, **self.fields)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=state.global_step, **self.fields)
            self.progress.stop()
            self.progress = None


def _plain(value: Any) -> Any:
    """JSON-safe form of a Trainer log value (tensors and numpy scalars become numbers)."""
    if hasattr(value, "item"):
        return value.item()
    return value
