"""Background tasks with an owner (STYLE 9): whoever spawns them cancels and awaits them on stop."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class TaskSet:
    """A set of running tasks; finished ones leave by themselves."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def stop(self) -> None:
        """Cancel every task still running and wait for each to finish."""
        running = list(self.tasks)
        for task in running:
            task.cancel()
        if running:
            # asyncio.wait, not ``await task`` under suppress(CancelledError): that would also swallow a
            # cancellation of this stop itself, and a caller's time limit would then never end it.
            await asyncio.wait(running)
