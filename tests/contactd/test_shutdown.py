"""Stopping a node: one stuck part cannot hang the stop (a CI run once waited 30 s on one)."""

from __future__ import annotations

import asyncio
import contextlib
import time

from contactd.app import bounded
from contactd.tasks import TaskSet


async def test_a_shutdown_step_that_swallows_its_cancellation_is_left_behind_after_its_time() -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(10)

    t0 = time.monotonic()
    await bounded("stubborn part", stubborn, seconds=0.2)
    assert time.monotonic() - t0 < 2.0
    release.set()


async def test_stopping_a_task_set_can_itself_be_cut_short() -> None:
    tasks = TaskSet()
    release = asyncio.Event()

    async def ignores_cancel() -> None:
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(10)

    tasks.spawn(ignores_cancel())
    tasks.spawn(ignores_cancel())
    await asyncio.sleep(0)
    stop = asyncio.create_task(tasks.stop())
    await asyncio.sleep(0.05)
    stop.cancel()  # the caller's time limit: the stop ends, though the tasks it waits for do not
    done, _ = await asyncio.wait([stop], timeout=1.0)
    assert done and stop.cancelled()
    release.set()
    await asyncio.sleep(0.05)
