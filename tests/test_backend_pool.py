"""The worker pool under the OpenAI backend and the teacher: every job once, at most
``workers`` at a time, starts spread over the ramp, and a failure stops the rest."""
from __future__ import annotations

import asyncio
import time

import pytest

from escbench.harness.backends.pool import run_pool


def run(jobs, handle, workers, ramp_up_s=0.0):
    asyncio.run(run_pool(jobs, handle, workers, ramp_up_s))


def test_every_job_runs_once_with_at_most_workers_at_a_time():
    seen, active, peak = [], [0], [0]

    async def handle(job):
        active[0] += 1
        peak[0] = max(peak[0], active[0])
        await asyncio.sleep(0.005)
        seen.append(job)
        active[0] -= 1

    run(range(20), handle, workers=4)
    assert sorted(seen) == list(range(20)) and peak[0] == 4


def test_workers_start_spread_over_the_ramp_and_then_take_jobs_at_once():
    started: dict[int, float] = {}
    origin = time.monotonic()

    async def handle(job):
        started[job] = time.monotonic() - origin
        await asyncio.sleep(0.3)

    run(range(8), handle, workers=4, ramp_up_s=0.2)
    # No upper bounds on a shared machine: lower bounds from the ramp and the job length, and order.
    for job in range(4):  # worker i waits i * ramp / workers before its first job...
        assert started[job] >= job * 0.05 - 0.002
    assert [started[job] for job in range(4)] == sorted(started[job] for job in range(4))
    for job in range(4, 8):  # ...and takes its next one only when the last is done, in the same order
        assert started[job] >= started[job - 4] + 0.3 - 0.002
        assert started[job] > started[3]


def test_fewer_jobs_than_workers_do_not_wait_for_the_whole_ramp():
    origin = time.monotonic()
    done = []

    async def handle(job):
        done.append(job)

    run(["only"], handle, workers=32, ramp_up_s=120.0)
    # waiting for the ramp would take 120 s; half of it is a bound no loaded machine reaches
    assert done == ["only"] and time.monotonic() - origin < 60.0


def test_a_failing_job_cancels_the_others_and_is_raised():
    finished = []

    async def handle(job):
        if job == 3:
            raise ValueError("job 3 broke")
        await asyncio.sleep(0.05)
        finished.append(job)

    with pytest.raises(ValueError, match="job 3 broke"):
        run(range(50), handle, workers=4)
    assert len(finished) < 10  # the pool stopped instead of running the remaining jobs
