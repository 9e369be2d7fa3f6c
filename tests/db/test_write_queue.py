"""SQLite's write queue (app/db/uow.py): a unit of work gives the next writer its turn however its transaction
ends, even when rolling back or closing the session fails (a second cancellation, a broken connection)."""

from __future__ import annotations

import asyncio

import pytest

from app.db.uow import SqlUnitOfWork

pytestmark = pytest.mark.backend_independent


class Session:
    """A session whose rollback or close fails as told."""

    def __init__(self, failing: str | None, error: type[BaseException]) -> None:
        self.failing, self.error = failing, error

    async def rollback(self) -> None:
        if self.failing == "rollback":
            raise self.error()

    async def close(self) -> None:
        if self.failing == "close":
            raise self.error()


@pytest.mark.parametrize("failing", [None, "rollback", "close"])
@pytest.mark.parametrize("error", [RuntimeError, asyncio.CancelledError])
async def test_the_queue_is_released_however_the_transaction_ends(failing, error):
    queue = asyncio.Lock()
    work = SqlUnitOfWork(lambda: Session(failing, error), queue)  # type: ignore[arg-type, return-value]
    if failing is None:
        async with work:
            assert queue.locked()
    else:
        with pytest.raises(error):
            async with work:
                pass
    assert not queue.locked()
    await asyncio.wait_for(queue.acquire(), 1)  # the next writer gets its turn


async def test_the_queue_is_released_when_the_session_cannot_be_opened():
    def broken() -> Session:
        raise RuntimeError("no connection")

    queue = asyncio.Lock()
    with pytest.raises(RuntimeError):
        async with SqlUnitOfWork(broken, queue):  # type: ignore[arg-type]
            pass
    assert not queue.locked()
