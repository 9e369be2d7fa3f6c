"""Waiting for a wake-up with a poll interval, in a way that cancellation always ends."""

from __future__ import annotations

import asyncio
import contextlib


async def wait_at_most(event: asyncio.Event, seconds: float) -> None:
    """Return once ``event`` is set or ``seconds`` have passed, whichever comes first.

    Not ``asyncio.wait_for``: on Python 3.11 it swallows a cancellation that arrives just as the awaited event is
    set (python/cpython#86296), so a loop cancelled at that moment went on polling and the task never stopped
    (``modelreg worker`` ignored SIGTERM that way when a delivery finished as the signal came).
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
