"""Reads folded into fewer statements answer what the reads they replace answer, on both backends: a version with its
model (and, on PostgreSQL, its alias names), a model locked with a version number taken, and the active webhooks
read with the events' insert."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from app.db.repositories.aliases import SqlAliasRepository
from app.db.repositories.events import SqlEventRepository
from app.db.repositories.models import SqlModelRepository
from app.db.repositories.versions import SqlVersionRepository
from app.db.repositories.webhooks import SqlWebhookRepository
from app.db.uow import SqlUnitOfWork
from app.domain.entities import Stage
from app.domain.events import DomainEvent
from app.domain.queries import Direction, PageRequest, VersionFilter, VersionOrder, VersionOrderField
from app.domain.read_scope import ReadScope
from app.domain.webhooks import NewWebhook
from tests.db.test_prepared_reads import _seed
from tests.support.databases import backend
from tests.support.statements import statements_sent

LOOKUPS = [("prepared/a", 1), ("prepared/a", 2), ("prepared/b", 3), ("prepared/a", 99), ("prepared/none", 1)]


@pytest.mark.parametrize("for_update", [False, True])
@pytest.mark.parametrize("with_aliases", [False, True])
async def test_a_version_found_with_its_model_is_what_the_two_reads_find(api, app, for_update, with_aliases):
    await _seed(api, app)
    async with SqlUnitOfWork(app.state.database.write_sessions) as uow:
        session = uow._session
        versions, models = SqlVersionRepository(session), SqlModelRepository(session)
        aliases = SqlAliasRepository(session)
        for name, number in LOOKUPS:
            with statements_sent(app.state.database.writer.sync_engine) as sent:
                model, version, names = await versions.find_with_model(
                    name, number, for_update=for_update, with_aliases=with_aliases
                )
            # locking on PostgreSQL: the model's row, then the version (see the race test below)
            expected_statements = 2 if for_update and backend() == "postgresql" and model is not None else 1
            assert len([sql for sql, _ in sent if not sql.startswith("BEGIN")]) == expected_statements
            expected_model = await models.get_by_name(name)
            expected_version = await versions.get(expected_model.id, number) if expected_model else None
            assert (model, version) == (expected_model, expected_version), (name, number)
            if with_aliases and backend() == "postgresql" and model is not None:
                held = (await aliases.for_versions([version.id]))[version.id] if version else []
                assert names == tuple(alias.alias for alias in held), (name, number)
            else:
                assert names is None, (name, number)


@pytest.mark.skipif(backend() != "postgresql", reason="PostgreSQL only: set MODELREG_TEST_DATABASE_URL")
@pytest.mark.parametrize("change", ["stage and alias", "deleted"])
async def test_a_version_found_for_update_is_read_after_the_lock_as_its_holder_left_it(api, app, change):
    """A lookup that waits for the model's lock answers the version as the lock's holder committed it: under READ
    COMMITTED a statement that waited re-reads only the row it locked, so the version is read by the next one."""
    await _seed(api, app)
    async with SqlUnitOfWork(app.state.database.write_sessions) as first:
        _, version, _ = await first.versions.find_with_model("prepared/a", 1, for_update=True)
        async with SqlUnitOfWork(app.state.database.write_sessions) as second:
            waiting = asyncio.ensure_future(
                second.versions.find_with_model("prepared/a", 1, for_update=True, with_aliases=True)
            )
            await asyncio.sleep(0.3)
            assert not waiting.done()  # blocked on the first transaction's lock
            session = first._session
            if change == "deleted":
                await session.execute(text("DELETE FROM model_versions WHERE id = :id"), {"id": version.id})
            else:
                await session.execute(
                    text("UPDATE model_versions SET stage = 'STAGING' WHERE id = :id"), {"id": version.id}
                )
                await session.execute(
                    text("UPDATE model_aliases SET version_id = :id WHERE alias = 'stable' AND model_id = :model"),
                    {"id": version.id, "model": version.model_id},
                )
            await first.commit()
            model, found, names = await asyncio.wait_for(waiting, 5)
    assert model is not None and model.name == "prepared/a"
    if change == "deleted":
        assert (found, names) == (None, ())
    else:
        assert found.stage is Stage.STAGING and names == ("stable",)


async def test_a_model_locked_with_its_number_taken_answers_the_model_and_the_next_numbers(api, app):
    await _seed(api, app)
    now = datetime.now(UTC)
    async with SqlUnitOfWork(app.state.database.write_sessions) as uow:
        before = await uow.models.get_by_name("prepared/a")
        with statements_sent(app.state.database.writer.sync_engine) as sent:
            model, number = await uow.models.allocate_version_number_by_name("prepared/a", now)
        assert len([sql for sql, _ in sent if not sql.startswith("BEGIN")]) == 1
        assert number == 4  # three versions registered
        assert model.id == before.id and model.name == before.name and model.created_at == before.created_at
        assert model.updated_at == now
        assert (await uow.models.allocate_version_number_by_name("prepared/a", now))[1] == 5
        assert await uow.models.allocate_version_number(model.id, now) == 6
        assert await uow.models.allocate_version_number_by_name("prepared/none", now) is None
        await uow.commit()


def _event(model_name: str, type_: str = "version.created") -> DomainEvent:
    now = datetime.now(UTC)
    return DomainEvent(str(uuid.uuid4()), type_, now, "tester", "USER", model_name, 1, {"modelName": model_name})


async def test_the_webhooks_read_with_the_events_insert_are_the_active_ones_with_their_filters(app):
    now = datetime.now(UTC)
    async with SqlUnitOfWork(app.state.database.write_sessions) as uow:
        hooks = SqlWebhookRepository(uow._session)
        every = await hooks.add(NewWebhook("https://example.com/a", "secret"), "sealed", "tester", now)
        narrow = await hooks.add(
            NewWebhook("https://example.com/b", "secret", frozenset({"version.created"}), "fraud-*"),
            "sealed",
            "tester",
            now,
            ReadScope(("fraud/", "risk/")),
        )
        await hooks.add(NewWebhook("https://example.com/c", "secret", active=False), "sealed", "tester", now)
        with statements_sent(app.state.database.writer.sync_engine) as sent:
            written, active = await SqlEventRepository(uow._session).add_all_with_webhooks(
                [_event("fraud-x"), _event("other")]
            )
        statements = [sql for sql, _ in sent if not sql.startswith("BEGIN") and "advisory" not in sql]
        assert len(statements) == (1 if backend() == "postgresql" else 2)
        assert [event.seq for event in written] == sorted(event.seq for event in written)
        expected = [(hook.id, hook.filter) for hook in (every, narrow)]
        assert active == expected and [hook_id for hook_id, _ in active] == [every.id, narrow.id]
        assert await SqlEventRepository(uow._session).add_all_with_webhooks([]) == ([], [])


ORDERS = [
    VersionOrder(VersionOrderField.CREATED_AT, Direction.DESC),
    VersionOrder(VersionOrderField.NAME, Direction.ASC),
    VersionOrder(VersionOrderField.VERSION, Direction.DESC),
]


@pytest.mark.parametrize("order", ORDERS, ids=lambda order: order.field.value)
async def test_a_page_of_versions_read_with_its_tags_answers_what_the_page_and_the_tags_read_answer(api, app, order):
    await _seed(api, app)
    long_value = "v" * 5000  # longer than a key may be: the pairs are text, not the key's type
    await api.ok(
        'mutation($v: String!) { setModelVersionTag(input: {name: "prepared/a", version: 1, key: "long", value: $v})'
        " { modelVersion { version } } }",
        {"v": long_value},
    )
    long_seen = False
    async with app.state.database.read_sessions() as session:
        versions = SqlVersionRepository(session)
        for page in (PageRequest(first=4), PageRequest(first=50), PageRequest(last=2)):
            with statements_sent(app.state.database.reader.sync_engine) as sent:
                listed, tags = await versions.list_with_tags(VersionFilter(), order, page, with_total=False)
            expected, none = await versions.list_with_tags(VersionFilter(), order, page, False, with_tags=False)
            assert none is None
            assert listed == expected
            if backend() != "postgresql":
                assert tags is None
                continue
            assert len(sent) == 1
            ids = [version.id for _, version in listed.items]
            assert tags == await versions.tags(ids)
            assert [list(value) for value in tags.values()] == [sorted(value) for value in tags.values()]
            long_seen = long_seen or any(value.get("long") == long_value for value in tags.values())
    assert long_seen or backend() != "postgresql"
