"""Training settings: one dataclass with the paper's defaults, checked before anything loads.

Defaults follow the ChatPal paper's appendix for its LoRA student: rank 8, Adam(W) at
learning rate 3e-4, effective batch 128 (through gradient accumulation), 256-token
sequences, frozen base weights (int8 with ``load_8bit``). Values the paper leaves open
(alpha, dropout, epochs, warm-up) use the common LoRA recipe and are recorded in the card.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from escbench.harness.errors import ConfigError

METHODS = ("lora", "adapter", "full")
DTYPES = ("auto", "float32", "bfloat16")
DEFAULT_LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")
# Settings that do not change the trained weights: a resumed run may differ in them.
RUN_ONLY_FIELDS = ("out", "overwrite", "progress")


@dataclass
class TrainSettings:
    """Everything ``escbench train`` takes (see ``escbench train --help`` for each)."""

    base: str
    data: list[str]
    out: Path
    method: str = "lora"
    with_strategy: bool = True
    dri: str | None = None
    dri_k: int | None = None  # first k alternatives of each DRI line (None: all; 0: none, file still recorded)
    valid_data: list[str] = field(default_factory=list)
    valid_fraction: float = 0.05
    partition: str = "train"
    catalog: str = "extes"
    system_prompt: str | None = None
    max_len: int = 256
    max_prompt_len: int | None = None  # prompt budget; None: max_len less 64 reply tokens (student_format)
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    lora_targets: tuple[str, ...] = DEFAULT_LORA_TARGETS
    adapter_len: int = 10
    adapter_layers: int | None = None
    learning_rate: float = 3e-4
    weight_decay: float = 0.0
    warmup_steps: int = 0
    lr_scheduler: str = "linear"
    effective_batch: int = 128
    micro_batch: int = 4
    epochs: float = 3.0
    max_steps: int | None = None
    eval_steps: int = 50
    save_steps: int = 50
    save_total_limit: int = 2
    seed: int = 42
    dtype: str = "auto"
    load_8bit: bool = False
    gradient_checkpointing: bool = False
    group_by_length: bool = False
    overwrite: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        self.data = [str(item) for item in self.data]
        self.valid_data = [str(item) for item in self.valid_data]
        self.lora_targets = tuple(self.lora_targets)
        self.check()

    def check(self) -> None:
        """ConfigError naming the first setting out of range."""
        if self.method not in METHODS:
            raise ConfigError(f"--method {self.method!r}: choose one of {', '.join(METHODS)}")
        if self.dtype not in DTYPES:
            raise ConfigError(f"--dtype {self.dtype!r}: choose one of {', '.join(DTYPES)}")
        if not self.data:
            raise ConfigError("--data names no file: pass one or more dialogue files or split YAMLs")
        positive = {"--max-len": self.max_len, "--lora-r": self.lora_r, "--adapter-len": self.adapter_len,
                    "--effective-batch": self.effective_batch, "--micro-batch": self.micro_batch,
                    "--eval-steps": self.eval_steps, "--save-steps": self.save_steps}
        for flag, value in positive.items():
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{flag} {value!r} must be a positive integer")
        if self.dri_k is not None:
            if not isinstance(self.dri_k, int) or isinstance(self.dri_k, bool) or self.dri_k < 0:
                raise ConfigError(f"--dri-k {self.dri_k!r} must be a non-negative integer")
            if not self.dri:
                raise ConfigError(f"--dri-k {self.dri_k} needs --dri naming the DRI file to take alternatives from")
        if self.max_prompt_len is not None and not 1 <= self.max_prompt_len < self.max_len:
            raise ConfigError(f"--max-prompt-len {self.max_prompt_len} must be positive and below --max-len "
                              f"{self.max_len} (the reply needs room)")
        if self.max_steps is not None and self.max_steps < 1:
            raise ConfigError(f"--max-steps {self.max_steps} must be a positive integer")
        if self.epochs <= 0:
            raise ConfigError(f"--epochs {self.epochs} must be positive")
        if not 0 <= self.valid_fraction < 1:
            raise ConfigError(f"--valid-fraction {self.valid_fraction} must be at least 0 and below 1")
        if not 0 <= self.lora_dropout < 1:
            raise ConfigError(f"--lora-dropout {self.lora_dropout} must be in [0, 1)")
        if self.learning_rate <= 0:
            raise ConfigError(f"--lr {self.learning_rate} must be positive")
        if self.load_8bit and self.method == "full":
            raise ConfigError("--load-8bit freezes int8 base weights, so it cannot be combined with "
                              "--method full: drop --load-8bit or use --method lora/adapter")
        if self.micro_batch > self.effective_batch:
            raise ConfigError(f"--micro-batch {self.micro_batch} exceeds --effective-batch "
                              f"{self.effective_batch}")

    def accumulation_steps(self, world_size: int = 1) -> int:
        """Gradient accumulation that makes micro batch x processes x steps = effective batch."""
        per_step = self.micro_batch * max(1, world_size)
        steps = max(1, round(self.effective_batch / per_step))
        return steps

    def to_dict(self) -> dict:
        out = asdict(self)
        out["out"] = str(self.out)
        out["lora_targets"] = list(self.lora_targets)
        return out

    def fingerprint(self) -> dict:
        """The settings that decide the trained weights (compared when resuming)."""
        return {k: v for k, v in self.to_dict().items() if k not in RUN_ONLY_FIELDS}
