"""The statements and pooled connections of each operation of the request-cost benchmark (benchmarks/cost_ops.py),
pinned, so the gains of issue 15 stay: a read takes one connection, and no operation's statements grow with the
registry or the page (docs/benchmarks.md, "Request cost"). Counted as the benchmark counts them (``counting``): the
request's own work only, not the event feed's or the webhook dispatcher's tasks."""

from __future__ import annotations

import gc
import random
from collections import Counter

import pytest

from benchmarks.cost_bench import counting
from benchmarks.cost_ops import OPERATIONS, Operation
from benchmarks.seed import seed
from tests.support.databases import backend, wipe

# Statements per request, BEGIN not counted (SQLite sends it as a statement, PostgreSQL's driver does not). Reads:
# the model or page, then one per relation asked for (tags, aliases, newest versions, metrics); on PostgreSQL, where
# each statement is a round trip, the relations of the same owners in one, read with the owners where they are read
# one way (a model by name, the newest versions; app/db/relation_arrays.py). Writes: the work, the
# audit record and the event outbox in one transaction (on PostgreSQL with the chain lock), then the answer's reads.
STATEMENTS = {
    "get_model": {"sqlite": 6, "postgresql": 2},
    "model_versions": {"sqlite": 3, "postgresql": 2},
    "versions_by_tag": {"sqlite": 2, "postgresql": 1},
    "set_version_tag": {"sqlite": 9, "postgresql": 7},
    "create_version": {"sqlite": 16, "postgresql": 9},
    "models_page": 3,
    "catalogue_page": {"sqlite": 5, "postgresql": 3},
}

@pytest.fixture
def seeded(api, database_url):
    wipe(database_url)
    return seed(database_url, models=120, versions_per_model=3).model_names


@pytest.mark.parametrize("operation", OPERATIONS, ids=[operation.name for operation in OPERATIONS])
async def test_statements_and_connections_per_request(api, app, seeded, operation):
    rng = random.Random(7)
    await api.ok(operation.document, operation.variables(rng, seeded), "mlops")  # warm caches
    with counting(app) as counts:
        await api.ok(operation.document, operation.variables(rng, seeded), "mlops")
    expected = STATEMENTS[operation.name]
    assert counts["statements"] == (expected[backend()] if isinstance(expected, dict) else expected)
    assert counts["checkouts"] == (1 if not operation.writes else counts["checkouts"])


SET_VERSION_TAG_BAD = """
mutation($n: String!) { setModelVersionTag(input: {name: $n, version: 1, key: "bad key\\n", value: "v"}) {
  modelVersion { version } } }
"""
_SERVER_PACKAGES = ("app.", "graphql.", "strawberry.", "sqlalchemy.", "starlette.")


# Errors too: an exception's traceback holds frames, which hold what they referenced.
_FAILING = [
    Operation("bad_id", "an id that is not one", 'query { node(id: "not-a-global-id") { id } }',
              lambda rng, names: {}),
    Operation("bad_input", "a tag refused by validation", SET_VERSION_TAG_BAD, lambda rng, names: {"n": names[0]},
              writes=True),
]


@pytest.mark.parametrize("operation", OPERATIONS + _FAILING, ids=[op.name for op in OPERATIONS + _FAILING])
async def test_a_request_leaves_no_reference_cycles(api, seeded, operation):
    """Everything a request builds is freed by reference counting when it ends. A cycle (graphql-core's executor and
    its own bound methods; a session and the transaction it caches) left a catalogue page's whole object graph,
    some 2,000 objects, to the cyclic collector, whose passes then scanned it: time, and latency spikes."""
    rng = random.Random(7)
    await api.gql(operation.document, operation.variables(rng, seeded), "mlops")  # warm caches
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        body = await api.gql(operation.document, operation.variables(rng, seeded), "mlops")
        gc.collect()
        left = Counter(
            f"{type(found).__module__}.{type(found).__qualname__}"
            for found in gc.garbage
            if type(found).__module__.startswith(_SERVER_PACKAGES)
        )
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    if operation.name == "versions_by_tag":  # SQLAlchemy's own: building a filtered statement leaves a few
        left = Counter({name: count for name, count in left.items() if not name.startswith("sqlalchemy.sql.")})
    assert not left, left.most_common(10)
    assert bool(body.get("errors")) == (operation in _FAILING), body


async def test_once_started_the_server_runs_young_collections_rarely(settings):
    from app.main import GC_YOUNG_THRESHOLD, create_app

    before = gc.get_threshold()
    application = create_app(settings)
    try:
        async with application.router.lifespan_context(application):
            assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
            assert gc.get_freeze_count() > 0  # start-up objects kept out of the collector's passes
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
        await application.state.database.dispose()
