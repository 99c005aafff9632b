"""How many CPU threads torch uses: chosen from the cores this process may run on and
the machine's current load, unless the user says.

torch starts one thread per core. On a machine shared with other work those threads
wait for each other at every parallel region, and generation can get several times
slower than with fewer threads. :func:`choose_threads` picks, in this order:

1. ``$ESCBENCH_THREADS`` when set (a positive integer);
2. nothing, when ``$OMP_NUM_THREADS`` is set (torch already follows it);
3. the cores in this process's CPU affinity mask minus the load average the rest of the
   machine already puts on them (rounded, at least 1).
"""
from __future__ import annotations

import os

from .errors import ConfigError

_configured: int | None = None


def available_cores() -> int:
    """Cores this process may run on (its affinity mask), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def choose_threads(environ: dict | None = None, load: float | None = None,
                   cores: int | None = None) -> int | None:
    """The thread count to use, or None to leave torch's own choice (OMP_NUM_THREADS)."""
    environ = os.environ if environ is None else environ
    explicit = environ.get("ESCBENCH_THREADS", "").strip()
    if explicit:
        if not explicit.isdigit() or int(explicit) < 1:
            raise ConfigError(f"ESCBENCH_THREADS={explicit!r} must be a positive integer")
        return int(explicit)
    if environ.get("OMP_NUM_THREADS", "").strip():
        return None
    cores = available_cores() if cores is None else cores
    if load is None:
        try:
            load = os.getloadavg()[0]
        except OSError:
            load = 0.0
    return max(1, min(cores, int(cores - load + 0.5)))


def configure_torch_threads() -> int:
    """Apply :func:`choose_threads` to torch once per process; returns torch's count."""
    global _configured
    import torch

    if _configured is None:
        chosen = choose_threads()
        if chosen is not None:
            torch.set_num_threads(chosen)
        _configured = torch.get_num_threads()
    return torch.get_num_threads()
