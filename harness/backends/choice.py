"""Building a generation backend from system arguments, and naming the argument at fault.

Kinds: ``openai`` (an OpenAI-compatible server), ``hf`` (local transformers, the default
for local models) and ``vllm`` (GPU runs; imported only when chosen). Every backend has
``load()`` (make ready, or raise ConfigError) and ``generate(conversations, settings,
stop=None, progress=None) -> list[Generation]``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from escbench.harness.backends.hf import HFBackend
from escbench.harness.backends.openai import BackendSettingError, OpenAIBackend
from escbench.harness.errors import ConfigError, EscbenchError, SystemUnavailableError
from escbench.harness.models import describe_model, file_sha256

BACKEND_KINDS = ("openai", "hf", "vllm")
ADAPTER_WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin")


def make_backend(
    kind: str,
    model: str,
    base_url: str | None = None,
    api_key_env: str = "OPENAI_API_KEY",
    concurrency: int = 8,
    max_retries: int = 4,
    timeout: float = 300.0,
    adapter: str | None = None,
    dtype: str = "auto",
    device: str = "auto",
    load_8bit: bool = False,
    trust_remote_code: bool = False,
) -> Any:
    """A backend of ``kind``; ConfigError (with ``setting`` where known) for bad arguments."""
    if kind == "openai":
        return OpenAIBackend(model=model, base_url=base_url, api_key_env=api_key_env,
                             concurrency=concurrency, max_retries=max_retries, timeout=timeout)
    if kind == "hf":
        return HFBackend(model=model, dtype=dtype, device=device, load_8bit=load_8bit,
                         adapter=adapter, trust_remote_code=trust_remote_code)
    if kind == "vllm":
        from escbench.harness.backends.vllm import VLLMBackend

        return VLLMBackend(model=model, adapter=adapter, dtype=dtype, trust_remote_code=trust_remote_code)
    raise BackendSettingError("backend", f"{kind!r} is not a backend: use one of {', '.join(BACKEND_KINDS)}")


def adapter_identity(adapter: str | None) -> dict[str, str | None]:
    """Resolved path and weights sha256 of a PEFT adapter folder (Nones when absent)."""
    if not adapter:
        return {"adapter": None, "adapter_sha256": None}
    folder = Path(adapter).expanduser().resolve()
    weights = next((folder / n for n in ADAPTER_WEIGHT_FILES if (folder / n).is_file()), None)
    return {"adapter": str(folder), "adapter_sha256": file_sha256(weights) if weights else None}


def backend_identity(kind: str, backend: Any) -> dict[str, Any]:
    """What identifies a backend's outputs, for a system's ``config()`` (loads nothing)."""
    if kind == "openai":
        return {"backend": kind, "model": backend.model, "base_url": backend.base_url}
    described = describe_model(backend.model_spec)
    identity = {"backend": kind, "model": backend.model_spec, "model_path": described["path"],
                "model_sha256": described["sha256"], **adapter_identity(backend.adapter)}
    if kind == "hf":
        device, dtype = backend.device_and_dtype()
        identity.update(dtype=dtype, device_type=device.split(":")[0], load_8bit=backend.load_8bit)
    else:
        identity.update(dtype=backend.dtype)
    return identity


def unavailable(system: str, error: EscbenchError, prefix: str = "", values: dict | None = None,
                fallback_setting: str | None = None, rename: dict[str, str] | None = None) -> SystemUnavailableError:
    """SystemUnavailableError naming the system argument behind a backend error.

    A backend error's ``setting`` (``base_url``...) becomes the system argument
    ``{prefix}{setting}`` (or ``rename[setting]``), shown with its value from ``values``
    (argument name -> value). ConfigErrors without a setting are attributed to ``adapter``
    when they mention it and the system has one, else to ``fallback_setting`` when given.
    """
    setting = getattr(error, "setting", None)
    problem = getattr(error, "problem", None) or str(error)
    values = values or {}
    if setting is None and isinstance(error, ConfigError):
        has_adapter = bool(values.get(f"{prefix}adapter"))
        setting = "adapter" if has_adapter and "adapter" in str(error) else fallback_setting
    if setting is None:
        return SystemUnavailableError(system, str(error))
    argument = (rename or {}).get(setting) or f"{prefix}{setting}"
    shown = f"{argument}={values[argument]!r}" if argument in values else argument
    return SystemUnavailableError(system, f"setting {shown}: {problem}")
