"""A fixed pool of asyncio workers over a list of jobs, for clients that keep many requests in flight.

Each worker takes the next job as soon as it has finished its last one, so a finished answer
is followed at once by the next request from the same worker, instead of every waiting
request queueing behind every answer that came back at the same moment. The workers start
spread over ``ramp_up_s``: when all of them start together, their answers come back in
lockstep with a fixed-latency server, and the client's per-answer work then delays every
slot in turn, cycle after cycle. Spread starts keep the answers apart.
"""
from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, Iterable, TypeVar

Job = TypeVar("Job")


async def run_pool(jobs: Iterable[Job], handle: Callable[[Job], Awaitable[None]], workers: int,
                   ramp_up_s: float = 0.0) -> None:
    """Await ``handle(job)`` for every job, at most ``workers`` at once; worker ``i`` starts
    ``i * ramp_up_s / workers`` seconds late. An exception from ``handle`` cancels the rest
    and is raised (after every worker has stopped)."""
    listed = list(jobs)
    count = min(max(1, workers), len(listed))
    pending = iter(listed)

    async def worker(index: int) -> None:
        if index and ramp_up_s > 0:
            await asyncio.sleep(index * ramp_up_s / count)
        for job in pending:
            await handle(job)

    tasks = [asyncio.ensure_future(worker(index)) for index in range(count)]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
