"""Requests-per-minute and tokens-per-minute limits for the teacher client (asyncio).

A :class:`RateLimiter` is a token bucket refilled at ``per_minute / 60`` units a second that
holds at most ``burst_s`` seconds' worth (at least one unit; default a quarter second, which
lets a late wake-up of the event loop be made up instead of lost, at the price of a burst of
that size when the run starts). A caller may take more than the
bucket holds (a long prompt under a small TPM limit): it waits until the bucket is full, the
balance goes negative, and later callers wait for it to recover, so the average rate is kept.
Waiters are served first come, first served.

The tokens-per-minute limit is a :class:`TokenWindow` instead: a request is admitted when the
tokens of every request admitted in the last 60 s, plus its own estimate, fit the budget; once
a request's true usage is known, :meth:`TokenWindow.settle` replaces its estimate (the refund
is kept, and wakes the waiting request at once). So the budget is used whatever the
concurrency, and no 60 s window holds more than the budget as long as no request uses more
than its estimate (prompt + ``max_tokens``).
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
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


class Grant:
    """One admission by a :class:`TokenWindow`: when, and the tokens it counts for."""

    __slots__ = ("time", "tokens")

    def __init__(self, time_s: float, tokens: float):
        self.time, self.tokens = time_s, tokens


class TokenWindow:
    """At most ``per_minute * window_s / 60`` tokens admitted per ``window_s`` seconds (sliding;
    see the module doc). A request larger than the whole budget waits for an empty window."""

    def __init__(self, per_minute: float, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic):
        if per_minute <= 0 or window_s <= 0:
            raise ValueError(f"per_minute and window_s must be > 0, got {per_minute!r}, {window_s!r}")
        self.budget = per_minute * window_s / 60.0
        self.window_s = window_s
        self._clock = clock
        self._grants: deque[Grant] = deque()
        self._lock: asyncio.Lock | None = None
        self._changed: asyncio.Event | None = None

    def used(self) -> float:
        """Tokens counted in the current window (estimates for requests not yet settled)."""
        horizon = self._clock() - self.window_s
        while self._grants and self._grants[0].time <= horizon:
            self._grants.popleft()
        return sum(grant.tokens for grant in self._grants)

    async def acquire(self, cost: float) -> Grant:
        """Wait until ``cost`` tokens fit the window, then count them; the grant is what
        :meth:`settle` corrects."""
        if self._lock is None:
            self._lock, self._changed = asyncio.Lock(), asyncio.Event()
        async with self._lock:
            while True:
                used = self.used()
                if used + cost <= self.budget + 1e-9 or not self._grants:
                    grant = Grant(self._clock(), cost)
                    self._grants.append(grant)
                    return grant
                expires = self._grants[0].time + self.window_s - self._clock()
                self._changed.clear()
                try:
                    await asyncio.wait_for(self._changed.wait(), max(expires, 0.001))
                except TimeoutError:
                    pass

    def settle(self, grant: Grant, actual: float) -> None:
        """The request behind ``grant`` really used ``actual`` tokens."""
        grant.tokens = actual
        if self._changed is not None:
            self._changed.set()


class RequestSlot:
    """The async context manager the backend holds around each HTTP attempt: one of the
    ``concurrency`` slots, then one request of the RPM budget and ``tokens`` of the TPM budget.
    Retries re-enter it, so they count against every limit too."""

    def __init__(self, semaphore: asyncio.Semaphore, rpm: RateLimiter | None, tpm: "TokenWindow | RateLimiter | None",
                 tokens: float):
        self.semaphore, self.rpm, self.tpm, self.tokens = semaphore, rpm, tpm, tokens
        self.grant: Grant | None = None  # the last attempt's TPM grant (settled with the true usage)

    async def __aenter__(self) -> "RequestSlot":
        await self.semaphore.acquire()
        try:
            if self.rpm is not None:
                await self.rpm.acquire(1.0)
            if self.tpm is not None:
                self.grant = await self.tpm.acquire(self.tokens)
        except BaseException:
            self.semaphore.release()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.semaphore.release()
