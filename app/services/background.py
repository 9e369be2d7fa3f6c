"""Background work keyed by what it works on: one task per key at a time in this process."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

K = TypeVar("K")


class KeyedTasks(Generic[K]):
    """Runs at most one task per key; ``wait`` for tests and ``stop`` at shutdown (a start-up sweep resumes)."""

    def __init__(self) -> None:
        self._tasks: dict[K, asyncio.Task[Any]] = {}

    def start(self, key: K, work: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        """Start ``work()`` unless a task for ``key`` is running already."""
        if key in self._tasks:
            return
        task = asyncio.create_task(work())
        self._tasks[key] = task
        task.add_done_callback(lambda _: self._tasks.pop(key, None))

    async def wait(self) -> None:
        """Until every task, including those started meanwhile, has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def stop(self) -> None:
        """Cancel the tasks in flight."""
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)
