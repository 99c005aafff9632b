"""How many CPU threads torch uses: chosen from the cores this process may run on and
the work the rest of the machine is doing, unless the user says.

torch starts one thread per core. On a machine shared with other work those threads
wait for each other at every parallel region, and generation can get several times
slower than with fewer threads. :func:`choose_threads` picks, in this order:

1. ``$ESCBENCH_THREADS`` when set (a positive integer);
2. nothing, when ``$OMP_NUM_THREADS`` is set (torch already follows it);
3. the cores in this process's CPU affinity mask minus the other work (rounded, at
   least 1). The other work is the smaller of the 1-minute load average and the number of
   other tasks runnable right now (:func:`other_runnable`): the load average alone also
   counts this process's own recent work, or a parent's that now waits for it (a test
   suite, an experiment driver), and would halve the threads of a run that has the
   machine to itself.
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
        load = other_work()
    return max(1, min(cores, int(cores - load + 0.5)))


def other_runnable(samples: int = 5, interval_s: float = 0.02) -> float | None:
    """Tasks other than this one that are runnable now (running or waiting for a core):
    the median over a few readings of ``/proc/loadavg``'s running count, less the reader
    itself. None where the file is missing (not Linux)."""
    import statistics
    import time

    counts = []
    for sample in range(samples):
        try:
            with open("/proc/loadavg", encoding="ascii") as handle:
                running = int(handle.read().split()[3].split("/")[0])
        except (OSError, IndexError, ValueError):
            return None
        counts.append(max(0, running - 1))
        if sample + 1 < samples:
            time.sleep(interval_s)
    return float(statistics.median(counts))


def other_work() -> float:
    """The smaller of the 1-minute load average and :func:`other_runnable` (either alone
    where the other is unavailable; 0 where both are)."""
    try:
        average: float | None = os.getloadavg()[0]
    except OSError:
        average = None
    now = other_runnable()
    known = [value for value in (average, now) if value is not None]
    return min(known) if known else 0.0


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
