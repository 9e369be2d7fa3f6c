"""A polling loop must stop when cancelled, even when the cancellation comes just as its wake-up event is set:
``asyncio.wait_for`` on Python 3.11 loses that cancellation (python/cpython#86296) and the loop goes on forever."""

from __future__ import annotations

import asyncio

import pytest

from app.services.waiting import wait_at_most

pytestmark = pytest.mark.backend_independent


async def poll_forever(wait, event: asyncio.Event, rounds: list[int]) -> None:
    while True:
        event.clear()
        rounds.append(1)
        await wait(event, 10)


async def cancel_as_the_event_is_set(wait) -> bool:
    """Whether a poller cancelled in the same loop turn as its event is set stops (checked for 0.5 s)."""
    event, rounds = asyncio.Event(), []
    poller = asyncio.create_task(poll_forever(wait, event, rounds))
    await asyncio.sleep(0.01)  # the poller waits on the event
    event.set()
    await asyncio.sleep(0)  # the inner wait completes; wait_for's own waiter is not resumed yet
    poller.cancel()
    done, _ = await asyncio.wait({poller}, timeout=0.5)
    if not done:
        poller.cancel()
        await asyncio.wait({poller}, timeout=0.5)
    return bool(done) and poller.cancelled()


async def test_a_cancelled_poller_stops_even_when_woken_at_that_moment():
    assert await cancel_as_the_event_is_set(wait_at_most)


async def test_wait_at_most_returns_on_the_event_or_the_deadline():
    event = asyncio.Event()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await wait_at_most(event, 0.05)
    assert loop.time() - started >= 0.05
    event.set()
    await asyncio.wait_for(wait_at_most(event, 10), 1)
