"""Requests-per-minute and tokens-per-minute limits for the teacher client (asyncio).

A :class:`RateLimiter` is a token bucket refilled at ``per_minute / 60`` units a second that
holds at most ``burst_s`` seconds' worth (at least one unit; default a quarter second, which
lets a late wake-up of the event loop be made up instead of lost, at the price of a burst of
that size when the run starts). A caller may take more than the
bucket holds (a long prompt under a small TPM limit): it waits until the bucket is full, the
balance goes negative, and later callers wait for it to recover, so the average rate is kept.
Waiters are served first come, first served.
"""
from __future__ import annotations

import asyncio
import time
from typing import Callable


class RateLimiter:
    """Average rate ``per_minute`` units a minute (see module doc); ``settle`` corrects an
    estimate once the true cost is known (e.g. tokens a request really used)."""

    def __init__(self, per_minute: float, burst_s: float = 0.25, clock: Callable[[], float] = time.monotonic):
        if per_minute <= 0:
            raise ValueError(f"per_minute must be > 0, got {per_minute!r}")
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * burst_s)
        self.balance = self.capacity
        self._clock = clock
        self._updated = clock()
        self._lock: asyncio.Lock | None = None

    def _refill(self) -> None:
        now = self._clock()
        self.balance = min(self.capacity, self.balance + (now - self._updated) * self.rate)
        self._updated = now

    async def acquire(self, cost: float = 1.0) -> None:
        """Wait until ``cost`` units may be spent, then spend them."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            needed = min(cost, self.capacity)
            while True:
                self._refill()
                if self.balance >= needed - 1e-9:
                    self.balance -= cost
                    return
                await asyncio.sleep((needed - self.balance) / self.rate)

    def settle(self, estimated: float, actual: float) -> None:
        """Charge (or refund) the difference between an estimated and the actual cost."""
        self._refill()
        self.balance = min(self.capacity, self.balance - (actual - estimated))


class RequestSlot:
    """The async context manager the backend holds around each HTTP attempt: one of the
    ``concurrency`` slots, then one request of the RPM budget and ``tokens`` of the TPM budget.
    Retries re-enter it, so they count against every limit too."""

    def __init__(self, semaphore: asyncio.Semaphore, rpm: RateLimiter | None, tpm: RateLimiter | None,
                 tokens: float):
        self.semaphore, self.rpm, self.tpm, self.tokens = semaphore, rpm, tpm, tokens

    async def __aenter__(self) -> "RequestSlot":
        await self.semaphore.acquire()
        try:
            if self.rpm is not None:
                await self.rpm.acquire(1.0)
            if self.tpm is not None:
                await self.tpm.acquire(self.tokens)
        except BaseException:
            self.semaphore.release()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.semaphore.release()
