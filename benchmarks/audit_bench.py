"""What the audit log costs: the append per mutation, and `modelreg audit verify` over many events.

    python benchmarks/audit_bench.py [--database-url URL] [--mutations 500] [--events 100000]

Without --database-url it runs on a fresh SQLite file. On PostgreSQL, pass a database of its own (it is wiped).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.db import migrate  # noqa: E402
from app.db.engine import create_database  # noqa: E402
from app.db.uow import SqlUnitOfWorkFactory  # noqa: E402
from app.domain.audit import AuditDraft, AuditTarget  # noqa: E402
from app.domain.commands import NewModel  # noqa: E402
from app.services.audit_log import verify_chain  # noqa: E402
from tests.support.databases import wipe  # noqa: E402


def draft(n: int) -> AuditDraft:
    return AuditDraft(occurred_at=datetime.now(timezone.utc), actor_subject="bench", actor_kind="USER",
                      actor_roles=("mlops",), action="model.tag.set",
                      target=AuditTarget("RegisteredModel", "1", "bench/model"),
                      before={"tags": {"k": str(n - 1)}}, after={"tags": {"k": str(n)}},
                      request_id=f"req-{n}", client_address="127.0.0.1", user_agent="bench/1.0")


async def mutations(uow: SqlUnitOfWorkFactory, count: int, audited: bool) -> list[float]:
    """Milliseconds per transaction that sets a tag and touches the model (what setRegisteredModelTag writes),
    with or without the audit append."""
    timings = []
    for n in range(count):
        started = time.perf_counter()
        async with uow(write=True) as work:
            model = await work.models.get_by_name("bench/model")
            await work.models.set_tag(model.id, "k", str(n))
            await work.models.touch(model.id, datetime.now(timezone.utc))
            if audited:
                await work.audit.append(draft(n))
            await work.commit()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


async def fill(uow: SqlUnitOfWorkFactory, events: int, batch: int = 2000) -> None:
    for start in range(0, events, batch):
        async with uow(write=True) as work:
            for n in range(start, min(events, start + batch)):
                await work.audit.append(draft(n))
            await work.commit()


async def main(url: str, count: int, events: int) -> None:
    migrate.upgrade(url)
    wipe(url)
    database = create_database(url)
    uow = SqlUnitOfWorkFactory(database)
    try:
        async with uow(write=True) as work:
            await work.models.add(NewModel("bench/model"), "bench", "bench", datetime.now(timezone.utc))
            await work.commit()
        await mutations(uow, 50, True)  # warm up
        plain = await mutations(uow, count, False)
        audited = await mutations(uow, count, True)
        print(f"mutation transaction without audit: median {statistics.median(plain):.2f} ms, "
              f"p95 {statistics.quantiles(plain, n=20)[-1]:.2f} ms")
        print(f"mutation transaction with audit:    median {statistics.median(audited):.2f} ms, "
              f"p95 {statistics.quantiles(audited, n=20)[-1]:.2f} ms "
              f"(+{statistics.median(audited) - statistics.median(plain):.2f} ms per mutation)")
        started = time.perf_counter()
        await fill(uow, events)
        print(f"appended {events} events in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        report = await verify_chain(uow)
        seconds = time.perf_counter() - started
        print(f"verify: {report.checked} events, ok={report.ok}, {seconds:.2f} s "
              f"({report.checked / seconds:,.0f} events/s)")
    finally:
        await database.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--mutations", type=int, default=500)
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'audit-bench.db'}"
    asyncio.run(main(url, args.mutations, args.events))
