"""The statements and pooled connections of each operation of the request-cost benchmark (benchmarks/cost_ops.py),
pinned, so the gains of issue 15 stay: a read takes one connection, and no operation's statements grow with the
registry or the page (docs/benchmarks.md, "Request cost"). Counted for the request's own work only: the event feed
and the webhook dispatcher run in tasks of their own and are not counted."""

from __future__ import annotations

import random
from contextvars import ContextVar

import pytest
from sqlalchemy import event

from benchmarks.cost_ops import OPERATIONS
from benchmarks.seed import seed
from tests.support.databases import backend, wipe

# Statements per request, BEGIN not counted (SQLite sends it as a statement, PostgreSQL's driver does not). Reads:
# the model or page, then one per relation asked for (tags, aliases, newest versions, metrics). Writes: the work, the
# audit record and the event outbox in one transaction (on PostgreSQL with a NOTIFY), then the answer's reads.
STATEMENTS = {
    "get_model": 6,
    "model_versions": 3,
    "versions_by_tag": 2,
    "set_version_tag": {"sqlite": 13, "postgresql": 16},
    "create_version": 45,
    "models_page": 3,
    "catalogue_page": 5,
}

_in_request: ContextVar[bool] = ContextVar("in_request", default=False)


@pytest.fixture
def seeded(api, database_url):
    wipe(database_url)
    return seed(database_url, models=120, versions_per_model=3).model_names


@pytest.mark.parametrize("operation", OPERATIONS, ids=[operation.name for operation in OPERATIONS])
async def test_statements_and_connections_per_request(api, app, seeded, operation):
    engines = {app.state.database.reader.sync_engine, app.state.database.writer.sync_engine}
    counts = {"statements": 0, "checkouts": 0}

    def statement(_connection, _cursor, sql, *_):
        if _in_request.get() and not sql.startswith("BEGIN"):
            counts["statements"] += 1

    def checkout(*_):
        if _in_request.get():
            counts["checkouts"] += 1

    rng = random.Random(7)
    await api.ok(operation.document, operation.variables(rng, seeded), "mlops")  # warm caches
    hooks = [(engine, "before_cursor_execute", statement) for engine in engines]
    hooks += [(engine.pool, "checkout", checkout) for engine in engines]
    for target, name, hook in hooks:
        event.listen(target, name, hook)
    marker = _in_request.set(True)
    try:
        await api.ok(operation.document, operation.variables(rng, seeded), "mlops")
    finally:
        _in_request.reset(marker)
        for target, name, hook in hooks:
            event.remove(target, name, hook)
    expected = STATEMENTS[operation.name]
    assert counts["statements"] == (expected[backend()] if isinstance(expected, dict) else expected)
    assert counts["checkouts"] == (1 if not operation.writes else counts["checkouts"])
