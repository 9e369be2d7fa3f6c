"""Prepared writes (app/db/prepared.py) store exactly what SQLAlchemy's own execution of the same statement stores,
byte for byte as the database keeps it, in the session's transaction and announced to the statement listeners.
Typed parameters (times, JSON) are converted as SQLAlchemy converts them, reads included, and pending ORM changes
are flushed first, as SQLAlchemy's autoflush would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, Table, bindparam, insert, select, text

from app.db.event_tables import EventRow
from app.db.prepared import PreparedRead, PreparedWrite
from app.db.prepared_rows import PreparedRows, PreparedUpsert
from app.db.repositories import audit, events, lineage, lineage_nodes, models, versions
from app.db.tables import MetricRow, ModelRow
from app.domain.lineage import NodeKind
from tests.support.databases import backend
from tests.support.statements import statements_sent

NOW = datetime(2026, 12, 7, 3, 30, 15, 123456, tzinfo=UTC)


async def _ids(api, app) -> tuple[int, int, int]:
    """The model, version and version's lineage node of a version registered with its run."""
    await api.ok(
        'mutation { createModelVersion(input: {name: "prepared/w", createModelIfMissing: true, '
        'run: {tracker: MLFLOW, runId: "r1"}, tags: [{key: "team", value: "fraud"}]}) { modelVersion { id } } }'
    )
    async with app.state.database.read_sessions() as session:
        row = (
            await session.execute(
                text(
                    "SELECT m.id, v.id, n.id FROM registered_models m JOIN model_versions v ON v.model_id = m.id "
                    "JOIN lineage_nodes n ON n.version_id = v.id WHERE m.name = 'prepared/w'"
                )
            )
        ).one()
    return row[0], row[1], row[2]


def _writes(
    model_id: int, version_id: int, node_id: int
) -> list[tuple[str, PreparedWrite | PreparedUpsert, dict[str, Any], str]]:
    """(label, write, values, raw SQL reading back every stored column of the row it writes)."""
    seq = 10_000_000
    return [
        (
            "version",
            versions._ADD,
            {
                "model_id": model_id,
                "version": 99,
                "status": "READY",
                "status_message": None,
                "stage": "NONE",
                "description": "d",
                "flavor": "sklearn",
                "signature": {"inputs": [{"name": "x", "type": "double"}]},
                "run_tracker": None,
                "run_id": None,
                "run_uri": None,
                "code_repository_url": None,
                "code_commit_sha": None,
                "artifact_uri": "s3://b/m.tar.gz",
                "artifact_digest": "sha256:" + "a" * 64,
                "artifact_size": 10**12,
                "params": {"lr": "0.1"},
                "created_at": NOW,
                "created_by": "tester",
                "updated_at": NOW,
            },
            # every column but id, which PostgreSQL's sequence does not give back on rollback
            "SELECT model_id, version, status, stage, description, flavor, signature, run_tracker, run_id, run_uri, "
            "code_repository_url, code_commit_sha, artifact_uri, artifact_digest, artifact_size, params, "
            f"status_message, created_at, created_by, updated_at FROM model_versions WHERE model_id = {model_id} "
            "AND version = 99",
        ),
        (
            "lineage run",
            lineage_nodes.ADD_DETAIL[NodeKind.RUN],
            {
                "node_id": node_id,
                "tracker": "MLFLOW",
                "run_id": "r2",
                "run_uri": None,
                "experiment_name": "e",
                "params": {"a": "1"},
                "metrics": {"auc": 0.9},
                "started_at": NOW,
                "ended_at": None,
                "python_version": "3.11",
                "requirements_digest": None,
                "container_image": None,
            },
            f"SELECT * FROM lineage_runs WHERE node_id = {node_id}",
        ),
        (
            "version tag, new",
            versions._SET_TAG,
            {"version_id": version_id, "key": "fresh", "value": "v1"},
            f"SELECT * FROM model_version_tags WHERE version_id = {version_id} AND key = 'fresh'",
        ),
        (
            "version tag, replaced",
            versions._SET_TAG,
            {"version_id": version_id, "key": "team", "value": "risk"},
            f"SELECT * FROM model_version_tags WHERE version_id = {version_id} ORDER BY key",
        ),
        (
            "model tag",
            models._SET_TAG,
            {"model_id": model_id, "key": "owner", "value": "x"},
            f"SELECT * FROM registered_model_tags WHERE model_id = {model_id}",
        ),
        (
            "model touched",
            models._TOUCH,
            {"model_id": model_id, "changed_at": NOW},
            f"SELECT * FROM registered_models WHERE id = {model_id}",
        ),
        (
            "version number taken",
            models._NEXT_NUMBER,
            {"model_id": model_id, "changed_at": NOW},
            f"SELECT * FROM registered_models WHERE id = {model_id}",
        ),
        (
            "version touched",
            versions._TOUCH,
            {"version_id": version_id, "changed_at": NOW},
            f"SELECT * FROM model_versions WHERE id = {version_id}",
        ),
        (
            "audit record",
            audit._APPEND,
            {
                "seq": seq,
                "occurred_at": NOW,
                "actor_subject": "tester",
                "actor_kind": "USER",
                "actor_roles": '["mlops"]',
                "action": "version.tag.set",
                "target_type": "version",
                "target_id": str(version_id),
                "target_name": "prepared/w",
                "target_version": 1,
                "before": None,
                "after": '{"tags":{"fresh":"v1"}}',
                "outcome": "success",
                "detail": None,
                "request_id": "r1",
                "client_address": "127.0.0.1",
                "user_agent": "pytest",
                "prev_hash": "0" * 64,
                "hash": "f" * 64,
            },
            f"SELECT * FROM audit_events WHERE seq = {seq}",
        ),
    ]


async def _stored(app, write: Any, values: dict[str, Any], read_back: str, *, prepared: bool) -> tuple[Any, Any]:
    """(rows the write answered, the stored rows as the database keeps them), in a transaction rolled back."""
    async with app.state.database.write_sessions() as session:
        if isinstance(write, PreparedUpsert):
            write = write.for_dialect(session.bind.dialect.name)
        if prepared:
            with statements_sent(app.state.database.writer.sync_engine) as seen:
                answered = [tuple(row) for row in await write.run(session, values)]
            contexts = [context for _, context in seen]
            assert contexts[-1:] == [None]  # no SQLAlchemy execution context: the prepared path ran
        else:
            result = await session.execute(write.statement, values)
            answered = [tuple(row) for row in result.all()] if result.returns_rows else []
        # the raw stored text, not what a column type would make of it: a time or JSON stored in another form fails
        stored = [tuple(map(repr, row)) for row in await session.execute(text(read_back))]
        await session.rollback()
    return answered, stored


async def test_prepared_writes_store_what_sqlalchemy_stores(api, app):
    model_id, version_id, node_id = await _ids(api, app)
    for label, write, values, read_back in _writes(model_id, version_id, node_id):
        prepared = await _stored(app, write, values, read_back, prepared=True)
        expected = await _stored(app, write, values, read_back, prepared=False)
        assert prepared[1] == expected[1], label
        assert prepared[1], label  # the row is there
        assert [[type(value) for value in row] for row in prepared[0]] == [
            [type(value) for value in row] for row in expected[0]
        ], label


async def test_each_prepared_write_is_announced_to_the_statement_listeners(api, app):
    _, version_id, _ = await _ids(api, app)
    with statements_sent(app.state.database.writer.sync_engine) as seen:
        async with app.state.database.write_sessions() as session:
            await versions._TOUCH.run(session, {"version_id": version_id, "changed_at": NOW})
            await session.rollback()
    statements = [(statement, context) for statement, context in seen if not statement.startswith("BEGIN")]
    assert [statement.split()[0] for statement, _ in statements] == ["UPDATE"]
    assert statements[0][1] is None  # no SQLAlchemy execution context: the prepared path ran


async def test_a_typed_parameter_of_a_read_is_converted_as_sqlalchemy_converts_it(api, app):
    await _ids(api, app)
    table = ModelRow.__table__
    since = PreparedRead(select(table.c.name).where(table.c.created_at > bindparam("since")).order_by(table.c.name))
    async with app.state.database.read_sessions() as session:
        for moment in (datetime.now(UTC) - timedelta(days=1), datetime.now(UTC) + timedelta(days=1)):
            expected = [tuple(row) for row in await session.execute(since.statement, {"since": moment})]
            assert [tuple(row) for row in await since.all(session, {"since": moment})] == expected
        assert expected == []  # nothing was created tomorrow, and the day before found rows
        assert await since.all(session, {"since": datetime.now(UTC) - timedelta(days=1)})


async def test_pending_orm_changes_are_flushed_before_a_prepared_statement(app):
    async with app.state.database.write_sessions() as session:  # which does not autoflush: the app flushes
        session.add(
            ModelRow(name="prepared/pending", owner="o", created_at=NOW, created_by="o", updated_at=NOW, next_version=1)
        )
        found = await models._BY_NAME.first(session, {"name": "prepared/pending"})
        await session.rollback()
    assert found is not None and found.name == "prepared/pending"


def test_a_write_that_needs_a_default_computed_in_python_is_refused():
    table = Table("t", MetaData(), Column("a", Integer, primary_key=True), Column("b", JSON, default=dict))
    with pytest.raises(ValueError, match="defaults computed in Python"):
        PreparedWrite(insert(table).values(a=bindparam("a")))


@pytest.mark.parametrize("count", [1, 3, 5])
async def test_prepared_rows_store_what_sqlalchemys_executemany_stores(api, app, count):
    _, version_id, _ = await _ids(api, app)
    metrics = PreparedRows(MetricRow.__table__, ["version_id", "name", "value", "dataset", "step"], max_rows=4)
    rows = [
        {
            "version_id": version_id,
            "name": f"m{index}",
            "value": index / 3,
            "dataset": None if index else "v",
            "step": 2,
        }
        for index in range(count)
    ]
    read_back = (
        f"SELECT version_id, name, value, dataset, step FROM model_version_metrics WHERE version_id = {version_id}"
    )
    stored = []
    for prepared in (True, False):
        async with app.state.database.write_sessions() as session:
            if prepared:  # 5 rows: more than max_rows, SQLAlchemy's executemany
                await metrics.run(session, rows)
            else:
                await session.execute(insert(MetricRow.__table__), rows)
            stored.append([tuple(map(repr, row)) for row in await session.execute(text(read_back + " ORDER BY name"))])
            await session.rollback()
    assert stored[0] == stored[1] and len(stored[0]) == count


async def test_a_session_runs_prepared_statements_in_each_of_its_transactions_in_turn(api, app):
    _, version_id, _ = await _ids(api, app)
    later = NOW + timedelta(hours=1)
    async with app.state.database.write_sessions() as session:
        await versions._TOUCH.run(session, {"version_id": version_id, "changed_at": NOW})
        await session.commit()  # the connection goes back to the pool; the next statement begins anew
        await versions._TOUCH.run(session, {"version_id": version_id, "changed_at": later})
        await session.commit()
        await versions._TOUCH.run(session, {"version_id": version_id, "changed_at": later})
        async with session.begin_nested() as savepoint:  # the same connection, another transaction object
            await versions._TOUCH.run(session, {"version_id": version_id, "changed_at": NOW})
            await savepoint.rollback()
        await session.commit()
    async with app.state.database.read_sessions() as session:
        (row,) = await versions._VERSIONS_BY_ID.all(session, {"ids": [version_id]})
    assert row.updated_at == later


@pytest.mark.parametrize("prepared_up_to", [None, 2], ids=["prepared", "executemany"])
async def test_outbox_events_are_numbered_in_the_order_given_and_stored_as_sqlalchemy_stores_them(app, prepared_up_to):
    add_events = events._ADD_EVENTS[app.state.database.writer.dialect.name]
    if prepared_up_to is not None:  # more rows than that: SQLAlchemy's executemany
        add_events = PreparedRows(
            EventRow.__table__, add_events._names, returning=add_events._returning, max_rows=prepared_up_to
        )
    drafted = [
        {
            "id": f"00000000-0000-4000-8000-00000000000{index}",
            "type": "model_version.created",
            "occurred_at": NOW,
            "actor_subject": "tester",
            "actor_kind": "USER",
            "model_name": "prepared/w",
            "version": index,
            "payload": {"modelName": "prepared/w", "tags": {"é": "ü"}, "n": 1.5, "none": None},
        }
        for index in range(1, 4)
    ]
    read_back = (
        "SELECT id, type, occurred_at, actor_subject, actor_kind, model_name, version, payload FROM events "
        "WHERE id LIKE '00000000-0000-4000-8000-%' ORDER BY seq"
    )
    stored = []
    for prepared in (True, False):
        async with app.state.database.write_sessions() as session:
            if prepared:
                numbered = {row.id: row.seq for row in await add_events.run(session, drafted)}
                order = [numbered[row["id"]] for row in drafted]
                assert order == sorted(order) and len(set(order)) == 3
            else:
                await session.execute(insert(EventRow.__table__), drafted)
            stored.append([tuple(map(repr, row)) for row in await session.execute(text(read_back))])
            await session.rollback()
    assert stored[0] == stored[1] and len(stored[0]) == 3


async def test_a_prepared_statement_refuses_a_transaction_that_a_failed_flush_rolled_back(api, app):
    from sqlalchemy.exc import IntegrityError, PendingRollbackError

    _, version_id, _ = await _ids(api, app)
    async with app.state.database.write_sessions() as session:
        assert await models._BY_NAME.first(session, {"name": "prepared/w"}) is not None  # the connection is kept
        session.add(ModelRow(name="prepared/w", owner="o", created_at=NOW, created_by="o", updated_at=NOW))
        with pytest.raises(IntegrityError):
            await session.flush()  # SQLAlchemy rolls the transaction back
        with pytest.raises(PendingRollbackError):  # not run outside it (on SQLite: committed at once)
            await versions._TOUCH.run(session, {"version_id": version_id, "changed_at": NOW})
        await session.rollback()
    async with app.state.database.read_sessions() as session:
        (row,) = await versions._VERSIONS_BY_ID.all(session, {"ids": [version_id]})
    assert row.updated_at != NOW


async def test_a_lineage_node_registered_first_by_another_transaction_is_skipped_on_postgresql_only(app):
    from sqlalchemy.exc import IntegrityError

    from app.domain.entities import TrackerKind
    from app.domain.lineage_commands import NewRun

    new = NewRun(tracker=TrackerKind.MLFLOW, run_id="raced")
    async with app.state.database.write_sessions() as session:
        repository = lineage.SqlLineageRepository(session)
        assert await repository.add(new, "tester", NOW) is not None
        if session.bind.dialect.name == "sqlite":  # one writer: a duplicate is a bug, not a race
            with pytest.raises(IntegrityError):
                await repository.add(new, "tester", NOW)
            return
        assert await repository.add(new, "tester", NOW) is None  # neither its detail nor its node inserted
        assert (await repository.find(new)) is not None  # and the transaction goes on
        await session.commit()
    async with app.state.database.read_sessions() as session:
        counts = (
            await session.execute(
                text(
                    "SELECT (SELECT count(*) FROM lineage_runs WHERE run_id = 'raced'), "
                    "(SELECT count(*) FROM lineage_nodes n WHERE n.version_id IS NULL AND NOT EXISTS "
                    "(SELECT 1 FROM lineage_runs r WHERE r.node_id = n.id) AND n.kind = 'RUN')"
                )
            )
        ).one()
    assert tuple(counts) == (1, 0)


async def test_a_lineage_node_is_stored_with_its_detail_alike_on_both_databases(app):
    """On PostgreSQL a node and its detail are one statement (detail first, numbered from the nodes' sequence); on
    SQLite two. Either way the entity answered is the one stored, and the node row has its kind and author."""
    from app.domain.entities import TrackerKind
    from app.domain.lineage_commands import NewCodeCommit, NewDataset, NewExternalNode, NewRun

    async with app.state.database.write_sessions() as session:
        repository = lineage.SqlLineageRepository(session)
        added = {
            "DATASET": (
                await repository.add(
                    NewDataset(name="alike", version="1", uri="s3://a", digest="sha256:" + "b" * 64, size=10**12,
                               schema={"columns": ["x"]}), "tester", NOW),
                repository.find(NewDataset(name="alike", version="1")),
            ),
            "RUN": (
                await repository.add(
                    NewRun(tracker=TrackerKind.MLFLOW, run_id="alike", params={"a": "1"}, metrics={"auc": 0.5},
                           started_at=NOW), "tester", NOW),
                repository.find(NewRun(tracker=TrackerKind.MLFLOW, run_id="alike")),
            ),
            "CODE_COMMIT": (
                await repository.add(NewCodeCommit(repository_url="https://git.example.com/a",
                                                          commit_sha="c" * 40), "tester", NOW),
                repository.find(NewCodeCommit(repository_url="https://git.example.com/a", commit_sha="c" * 40)),
            ),
            "EXTERNAL": (
                await repository.add(NewExternalNode(name="alike", properties={"k": [1, 2]}), "tester", NOW),
                repository.find(NewExternalNode(name="alike")),
            ),
        }
        for kind, (entity, found) in added.items():
            assert entity is not None and await found == entity, kind
            node = (await session.execute(
                text("SELECT kind, version_id, created_by FROM lineage_nodes WHERE id = :id"), {"id": entity.id}
            )).one()
            assert tuple(node) == (kind, None, "tester"), kind
        await session.rollback()


def _registrations():
    from app.domain.entities import TrackerKind
    from app.domain.lineage_commands import NewCodeCommit, NewDataset, NewExternalNode, NewRun

    return [
        NewDataset(name="either", version="1", uri="s3://e", digest="sha256:" + "d" * 64, schema={"c": ["x"]}),
        NewDataset(name="either", digest="sha256:" + "e" * 64),  # no version: identified by its digest
        NewRun(tracker=TrackerKind.MLFLOW, run_id="either", params={"a": "1"}, started_at=NOW),
        NewCodeCommit(repository_url="https://git.example.com/e", commit_sha="e" * 40, branch="main"),
        NewExternalNode(name="either", properties={"k": [1]}),
    ]


@pytest.mark.parametrize("index", range(5), ids=["dataset", "dataset by digest", "run", "commit", "external"])
async def test_find_or_add_registers_a_node_once_and_then_finds_it(app, index):
    """One statement on PostgreSQL (the look and the insert), two on SQLite: the same entities either way."""
    new = _registrations()[index]
    count_nodes = text("SELECT count(*) FROM lineage_nodes")
    async with app.state.database.write_sessions() as session:
        repository = lineage.SqlLineageRepository(session)
        nodes_before = (await session.execute(count_nodes)).scalar()
        with statements_sent(app.state.database.writer.sync_engine) as seen:
            added, created = await repository.find_or_add(new, "tester", NOW)
        assert created and added is not None
        sent = [statement for statement, _ in seen if not statement.startswith(("BEGIN", "SAVEPOINT", "RELEASE"))]
        assert len(sent) == (1 if session.bind.dialect.name == "postgresql" else 3)  # SQLite: look, node, detail
        found, created_again = await repository.find_or_add(new, "tester", NOW + timedelta(days=1))
        assert (found, created_again) == (added, False)
        assert await repository.find(new) == added
        # one node: the second call inserted none, not even one left without its detail
        assert (await session.execute(count_nodes)).scalar() == nodes_before + 1


@pytest.mark.skipif(backend() != "postgresql", reason="PostgreSQL only: set MODELREG_TEST_DATABASE_URL")
async def test_find_or_add_answers_none_when_another_transaction_registers_the_node_first(app):
    """Transaction A registers a run and has not committed; B's find-or-add waits on A's row, and once A commits,
    skips its insert (the conflict) and, having looked before A committed, finds nothing: (None, False), and B
    goes on (the service then looks again and finds A's node)."""
    import asyncio

    from app.domain.entities import TrackerKind
    from app.domain.lineage_commands import NewRun

    new = NewRun(tracker=TrackerKind.MLFLOW, run_id="raced-either")
    async with app.state.database.write_sessions() as first, app.state.database.write_sessions() as second:
        added, created = await lineage.SqlLineageRepository(first).find_or_add(new, "a", NOW)
        assert created
        waiting = asyncio.create_task(lineage.SqlLineageRepository(second).find_or_add(new, "b", NOW))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # B waits on A's uncommitted row
        await first.commit()
        assert await asyncio.wait_for(waiting, 10) == (None, False)
        found = await lineage.SqlLineageRepository(second).find(new)
        assert found is not None and found.id == added.id
        await second.commit()
    async with app.state.database.read_sessions() as session:
        orphans = (await session.execute(text(
            "SELECT count(*) FROM lineage_nodes n WHERE n.kind = 'RUN' AND NOT EXISTS "
            "(SELECT 1 FROM lineage_runs r WHERE r.node_id = n.id)"))).scalar()
    assert orphans == 0


@pytest.mark.parametrize("children", ["none", "some"])
async def test_a_new_version_is_stored_with_its_tags_and_metrics_in_order(app, children):
    """On PostgreSQL the version, its tags and its metrics are one statement (version_rows.py), on SQLite three;
    either way what is read back is what was given: every tag, every metric in its order, nulls kept."""
    from app.domain.commands import NewModel, NewVersion
    from app.domain.entities import Metric

    metrics = tuple(
        Metric(name=name, value=value, dataset=dataset, step=step)
        for name, value, dataset, step in [
            ("loss", 0.5, None, 1), ("auc", 0.91, "validation", None), ("loss", 0.25, None, 2), ("zeta", -1e300, "", 0)
        ]
    )
    tags = {"team": "fraud", "note": "long " * 200, "ünïcode": "✓"}
    command = NewVersion(
        model_name="prepared/children",
        metrics=metrics if children == "some" else (),
        tags=tags if children == "some" else {},
        params={"lr": "0.1"},
    )
    async with app.state.database.write_sessions() as session:
        model = await models.SqlModelRepository(session).add(NewModel(name="prepared/children"), "o", "o", NOW)
        repository = versions.SqlVersionRepository(session)
        with statements_sent(app.state.database.writer.sync_engine) as seen:
            version = await repository.add(model, 1, command, "tester", NOW)
        sent = [statement for statement, _ in seen if not statement.startswith("BEGIN")]
        postgresql = session.bind.dialect.name == "postgresql"
        assert len(sent) == (1 if postgresql else 1 + 2 * (children == "some"))
        assert version.params == {"lr": "0.1"} and version.created_at == NOW and version.model_name == model.name
        assert (await repository.tags([version.id]))[version.id] == command.tags
        assert (await repository.metrics([version.id]))[version.id] == list(command.metrics)
        assert await repository.get(model.id, 1) == version


@pytest.mark.parametrize("count", [0, 3])
async def test_a_new_versions_node_is_stored_with_its_edges(app, count):
    """On PostgreSQL a new version's node and its incoming edges are one statement, on SQLite two: the same rows."""
    from app.domain.commands import NewModel, NewVersion
    from app.domain.lineage import EdgeKind

    async with app.state.database.write_sessions() as session:
        model = await models.SqlModelRepository(session).add(NewModel(name=f"prepared/edges{count}"), "o", "o", NOW)
        version = await versions.SqlVersionRepository(session).add(
            model, 1, NewVersion(model_name=model.name), "o", NOW
        )
        repository = lineage.SqlLineageRepository(session)
        sources = [(await repository.find_or_add(new, "o", NOW))[0].id for new in _registrations()[2:5]]
        edges = [
            (EdgeKind.PRODUCED, sources[0], None),
            (EdgeKind.BUILT_FROM, sources[1], "trained at"),
            (EdgeKind.DERIVED_FROM, sources[2], "ünïcode ✓"),
        ][:count]
        with statements_sent(app.state.database.writer.sync_engine) as seen:
            node_id = await repository.link_new_version(version.id, edges, "tester", NOW)
        sent = [statement for statement, _ in seen if not statement.startswith("BEGIN")]
        assert len(sent) == (1 if session.bind.dialect.name == "postgresql" else 1 + (count > 0))
        node = (await session.execute(
            text("SELECT kind, version_id, created_by FROM lineage_nodes WHERE id = :id"), {"id": node_id})).one()
        assert tuple(node) == ("MODEL_VERSION", version.id, "tester")
        stored = (await session.execute(text(
            "SELECT kind, source_id, relation, created_by FROM lineage_edges WHERE target_id = :id ORDER BY source_id"
        ), {"id": node_id})).all()
        assert [tuple(row) for row in stored] == sorted(
            ((kind.value, source, relation, "tester") for kind, source, relation in edges), key=lambda edge: edge[1]
        )
