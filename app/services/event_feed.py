"""Live registry events for GraphQL subscriptions (docs/events.md, "Subscriptions").

Events are rows of the outbox (the ``events`` table), written in the transaction of each change
(services/events.py). ``EventFeed`` follows the outbox for the whole process: while anybody subscribes, one pump
reads what is new, once, into a bounded buffer whenever it is woken, and at the latest every ``poll_interval``
seconds. The poll is the safety net: a lost wake-up delays an event, never loses it. With no subscriber the pump
reads nothing, and the first one to come starts it again from the outbox's head.

Wake-ups come from commits in this process (``EventOutbox`` registers ``wake`` with ``UnitOfWork.after_commit``)
and, on PostgreSQL, from commits of other processes: the outbox sends ``NOTIFY modelreg_events`` in the
transaction of the events, which an ``OutboxListener`` (``LISTEN``) hears once they are committed.

Each subscriber remembers the last outbox position (``seq``) it has passed and takes the events after it from
the buffer; one that is behind the buffer (it started from an old position, or it is slower than the buffer is
long) reads the outbox itself until it catches up. Positions only move forward, and the outbox becomes visible
in ``seq`` order (``SqlEventRepository.add``), so an event is neither skipped nor sent twice.

``EventSubscriptions`` is the use case: ``registry:read`` through the one authorization path (a denial is
audited like any denied read), then the feed. (A WebSocket connection, and so its subscriptions, is closed when
the token it was opened with expires: graphql/websocket_tokens.py.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncGenerator, Callable, Iterable
from dataclasses import replace

from app.domain import rules
from app.domain.audit import AuditTarget
from app.domain.errors import BadUserInput
from app.domain.events import ALL_EVENT_TYPES, PING, DomainEvent, EventFilter, EventType
from app.domain.identity import Permission, Principal

from .audit import AuditTrail
from .ports import Authorizer, OutboxListener, UnitOfWorkFactory
from .waiting import wait_at_most

log = logging.getLogger("modelreg.events")

# Never sent to subscribers: a ping names a webhook's URL, which only webhook:manage may read.
HIDDEN_TYPES = frozenset({PING})
SUBSCRIBABLE_TYPES = ALL_EVENT_TYPES - HIDDEN_TYPES


class EventFeed:
    """The outbox, followed for every subscriber of this process with one reader.

    ``start()`` (in the running loop) starts the pump and the listener; ``stop()`` ends them. Without a running
    pump, subscribers read the outbox themselves, woken by ``wake()`` or the poll: slower, never wrong.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        listener: OutboxListener | None = None,
        *,
        poll_interval: float = 2.0,
        batch_size: int = 100,
        buffer_size: int = 1000,
    ) -> None:
        self._uow = uow
        self._listener = listener
        self.poll_interval = poll_interval
        self._batch_size = batch_size
        self._buffer_size = buffer_size
        self._buffer: deque[DomainEvent] = deque()
        self._read_to: int | None = None  # the pump has read every event up to here (None: not running)
        self._buffer_from = 0  # the buffer holds every event in (buffer_from, read_to]
        self._wakeup = asyncio.Event()  # the outbox may have grown, or a subscriber came
        self._followers = 0  # subscribers following now; with none, the pump reads nothing
        self._advanced = asyncio.Event()  # replaced each time the pump moves on; the old one is set
        self._tasks: list[asyncio.Task] = []

    def wake(self) -> None:
        """The outbox may have grown (after a commit here, or a notification from elsewhere). Cheap; idempotent."""
        if self._followers:
            self._wakeup.set()
        if not self._tasks:
            self._announce()

    def start(self) -> None:
        if self._tasks:
            return
        self._tasks.append(asyncio.create_task(self._pump(), name="event-feed"))
        if self._listener is not None:
            self._tasks.append(asyncio.create_task(self._listener.listen(self.wake), name="event-feed-listener"))

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._forget()
        self._announce()

    async def head(self) -> int:
        """The newest position in the outbox (0 when it is empty)."""
        async with self._uow(write=False) as uow:
            return await uow.events.head()

    # The pump.

    def _announce(self) -> None:
        advanced, self._advanced = self._advanced, asyncio.Event()
        advanced.set()

    async def _pump(self) -> None:
        while True:
            self._wakeup.clear()  # before reading: a wake-up during the read means read again
            if not self._followers:
                # Nobody to read for: a read per commit was a tenth of a write's CPU. The first subscriber wakes
                # the pump, which starts again from the head; a subscriber behind it reads the outbox itself.
                self._forget()
                await self._wakeup.wait()
                continue
            try:
                await self._read_new()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - the database may be away for a while; keep trying
                log.warning("could not read the event outbox", extra={"error_type": type(error).__name__})
            await wait_at_most(self._wakeup, self.poll_interval)

    def _forget(self) -> None:
        """Drop what the pump has read: the next read starts from the outbox's head."""
        self._read_to = None
        self._buffer.clear()

    async def _read_new(self) -> None:
        if self._read_to is None:
            head = await self.head()
            self._read_to = self._buffer_from = head
            self._announce()
        while True:
            async with self._uow(write=False) as uow:
                batch = await uow.events.after(self._read_to, self._batch_size)
            if not batch:
                return
            self._buffer.extend(batch)
            while len(self._buffer) > self._buffer_size:
                self._buffer_from = self._buffer.popleft().position
            self._read_to = batch[-1].position
            self._announce()
            if len(batch) < self._batch_size:
                return

    # Subscribers.

    async def follow(self, position: int, wanted: Callable[[DomainEvent], bool]) -> AsyncGenerator[DomainEvent, None]:
        """Every event after outbox ``position`` that ``wanted`` accepts, as it comes, oldest first, endlessly."""
        self._followers += 1
        self._wakeup.set()  # the pump reads only while somebody follows
        try:
            async for event in self._follow(position, wanted):
                yield event
        finally:
            self._followers -= 1

    async def _follow(self, position: int, wanted: Callable[[DomainEvent], bool]) -> AsyncGenerator[DomainEvent, None]:
        while True:
            advanced = self._advanced  # taken before looking, so an advance while we look is not missed
            read_to = self._read_to
            if read_to is None or position < self._buffer_from:
                from_outbox = True
                async with self._uow(write=False) as uow:
                    events = await uow.events.after(position, self._batch_size)
            else:
                from_outbox = False
                events = [event for event in self._buffer if event.position > position] if position < read_to else []
                if not events:
                    position = max(position, read_to)
            if events:
                position = events[-1].position
            for event in events:
                if event.type not in HIDDEN_TYPES and wanted(event):
                    yield event
            if not events or (from_outbox and len(events) < self._batch_size):
                await wait_at_most(advanced, self.poll_interval)  # the timeout matters only while no pump runs


def event_filter(types: Iterable[str] | None, model_name: str | None) -> EventFilter:
    """A subscriber's filter from its arguments: known types (empty: all) and a model name or glob."""
    wanted = frozenset(str(event_type) for event_type in types or ())
    unknown = sorted(wanted - ALL_EVENT_TYPES)
    if unknown:
        raise BadUserInput(
            f"unknown event types {unknown}; known: {', '.join(sorted(SUBSCRIBABLE_TYPES))}", field="filter.types"
        )
    hidden = sorted(wanted & HIDDEN_TYPES)
    if hidden:
        names = ", ".join(f"{EventType(event_type).name} ({event_type})" for event_type in hidden)
        raise BadUserInput(
            f"{names} is sent only to the webhook pinged, never to subscribers (it names the webhook's URL): "
            "leave it out of filter.types",
            field="filter.types",
        )
    pattern = rules.check_text(model_name, "filter.modelName", rules.MODEL_NAME_MAX) or None
    return EventFilter(types=wanted, model_name_pattern=pattern)


class EventSubscriptions:
    """Subscribing to registry events: needs registry:read, like every read."""

    def __init__(self, uow: UnitOfWorkFactory, authorizer: Authorizer, feed: EventFeed, trail: AuditTrail) -> None:
        self._uow = uow
        self._authorizer = authorizer
        self.feed = feed
        self._trail = trail

    async def subscribe(
        self,
        principal: Principal,
        *,
        types: Iterable[str] | None = None,
        model_name: str | None = None,
        after: int | None = None,
    ) -> AsyncGenerator[DomainEvent, None]:
        """Authorize and check the arguments now (so a refusal is the subscription's first and only answer),
        then the events after outbox position ``after`` (default: from now on) of ``types`` (default: all) about
        models named ``model_name`` (a name or a glob; default: any)."""
        await self._trail.require(
            self._authorizer,
            principal,
            Permission.REGISTRY_READ,
            "registry.read",
            AuditTarget("EventSubscription", name=model_name),
        )
        wanted = replace(event_filter(types, model_name), scope=self._authorizer.read_scope(principal))
        if after is not None and not 0 <= after < 2**63:
            raise BadUserInput("after is an event sequence number, 0 or more", field="after")
        position = await self.feed.head() if after is None else after
        return self.feed.follow(position, wanted.matches)
