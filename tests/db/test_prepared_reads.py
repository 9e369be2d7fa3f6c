"""Prepared reads (app/db/prepared.py) answer exactly what SQLAlchemy's own execution of the same statement answers,
in the session's transaction, announced to the engine's statement listeners; traced engines keep SQLAlchemy's path."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.db.prepared import _TRACED, PreparedRead, use_sqlalchemy_path
from app.db.repositories import aliases, audit, events, lineage_nodes, models, versions
from app.db.repositories.versions import _newest_versions
from app.domain.commands import NewModel
from app.domain.entities import Stage
from tests.support.databases import backend
from tests.support.statements import statements_sent

VERSION = (
    'createModelVersion(input: {name: "prepared/%s", createModelIfMissing: true, description: "d", '
    'tags: [{key: "team", value: "fraud"}, {key: "k%d", value: "v"}], '
    'metrics: [{name: "auc", value: 0.91, dataset: "validation", step: 3}, {name: "loss", value: 0.25}], '
    'params: [{name: "lr", value: "0.1"}], run: {tracker: MLFLOW, runId: "run-%s"}, '
    'code: {repositoryUrl: "https://git.example.com/r", commitSha: "%s"}}) { modelVersion { id } }'
)


async def _seed(api, app) -> dict[str, list[int]]:
    """Two models with three versions each (one of them in PRODUCTION, one in STAGING), tags and an alias."""
    for model in ("a", "b"):
        for index in range(3):
            await api.ok("mutation { %s }" % (VERSION % (model, index, model, model * 40)))
        await api.ok(
            'mutation { setRegisteredModelTag(input: {name: "prepared/%s", key: "owner", value: "x"}) '
            "{ registeredModel { name } } }" % model
        )
        await api.ok(
            'mutation { setModelAlias(input: {name: "prepared/%s", alias: "stable", version: 2}) '
            "{ modelAlias { alias } } }" % model
        )
    async with app.state.database.writer.begin() as connection:
        ids = {
            "models": [row[0] for row in await connection.execute(
                text("SELECT id FROM registered_models WHERE name LIKE 'prepared/%' ORDER BY id"))],
        }
        ids["versions"] = [row[0] for row in await connection.execute(
            text("SELECT id FROM model_versions WHERE model_id IN (%s) ORDER BY id" % ",".join(map(str, ids["models"]))))]
        await connection.execute(text("UPDATE model_versions SET stage = 'PRODUCTION' WHERE id = :id"),
                                 {"id": ids["versions"][0]})
        await connection.execute(text("UPDATE model_versions SET stage = 'STAGING' WHERE id = :id"),
                                 {"id": ids["versions"][4]})
    return ids


def _reads(ids: dict[str, list[int]]) -> list[tuple[str, PreparedRead, dict]]:
    model_ids, version_ids = ids["models"], ids["versions"]
    stage_sets = [frozenset({None}), frozenset({None, Stage.PRODUCTION, Stage.STAGING}), frozenset({Stage.PRODUCTION})]
    return [
        ("model by name", models._BY_NAME, {"name": "prepared/a"}),
        ("model by name, absent", models._BY_NAME, {"name": "prepared/none"}),
        ("models by ids", models._BY_IDS, {"ids": model_ids}),
        ("model tags", models._TAGS_OF, {"ids": model_ids}),
        ("versions by ids", versions._VERSIONS_BY_ID, {"ids": version_ids}),
        ("one version", versions._VERSIONS_BY_ID, {"ids": version_ids[:1]}),
        ("version tags", versions._TAGS_OF, {"ids": version_ids}),
        ("version metrics", versions._METRICS_OF, {"ids": version_ids}),
        ("aliases of models", aliases._OF_MODELS, {"ids": model_ids}),
        ("aliases of versions", aliases._OF_VERSIONS, {"ids": version_ids}),
        ("model by name, locked", models._BY_NAME_LOCKED, {"name": "prepared/a"}),
        ("version by number", versions._BY_NUMBER, {"model_id": model_ids[0], "number": 2}),
        ("audit head", audit._HEAD, {}),
        ("outbox after", events._AFTER, {"seq": 2, "limit": 5}),
        ("active webhooks", events._ACTIVE_WEBHOOK_LIST, {}),
        ("run", lineage_nodes.RUN, {"tracker": "MLFLOW", "run_id": "run-a"}),
        ("commit", lineage_nodes.COMMIT, {"repository_url": "https://git.example.com/r", "commit_sha": "a" * 40}),
        *((f"newest in {sorted(map(str, s))}", PreparedRead(_newest_versions(s)), {"ids": model_ids})
          for s in stage_sets),
    ]


async def test_prepared_reads_answer_what_sqlalchemy_answers(api, app):
    ids = await _seed(api, app)
    async with app.state.database.read_sessions() as session:
        for label, read, values in _reads(ids):
            expected = (await session.execute(read.statement, values)).all()
            got = await read.all(session, values)
            assert [tuple(row) for row in got] == [tuple(row) for row in expected], label
            # the same Python types (datetimes with their time zone, floats, JSON documents), not only equal values
            assert [[type(value) for value in row] for row in got] == [
                [type(value) for value in row] for row in expected
            ], label
            assert [row._fields for row in got[:1]] == [tuple(row._fields) for row in expected[:1]], label
            assert (await read.first(session, values)) == (got[0] if got else None), label
            plain = await read.tuples(session, values)
            assert plain == [tuple(row) for row in got] and all(type(row) is tuple for row in plain), label
    # SQLite: one plan per IN-list length; PostgreSQL: one, the list sent as an array
    assert (len(versions._VERSIONS_BY_ID._plans) > 1) == (backend() == "sqlite")


@pytest.mark.skipif(backend() != "postgresql", reason="PostgreSQL only: set MODELREG_TEST_DATABASE_URL")
async def test_on_postgresql_in_lists_of_any_length_are_sent_as_one_statement(api, app):
    ids = await _seed(api, app)
    with statements_sent(app.state.database.reader.sync_engine) as seen:
        async with app.state.database.read_sessions() as session:
            for length in (1, 2, 6, 0):
                values = {"ids": ids["versions"][:length]}
                expected = (await session.execute(versions._VERSIONS_BY_ID.statement, values)).all()
                assert await versions._VERSIONS_BY_ID.tuples(session, values) == [tuple(row) for row in expected]
    prepared = {statement for statement, context in seen if context is None}
    assert len(prepared) == 1 and "= ANY (" in prepared.pop()


async def test_an_empty_id_list_reads_nothing(app):
    async with app.state.database.read_sessions() as session:
        assert await versions._METRICS_OF.all(session, {"ids": []}) == []


async def test_a_prepared_read_runs_in_the_session_transaction_and_sees_its_unflushed_nothing_but_its_flushed_rows(
    app,
):
    from datetime import UTC, datetime

    from app.db.uow import SqlUnitOfWork

    now = datetime.now(UTC)
    async with SqlUnitOfWork(app.state.database.write_sessions) as uow:
        await uow.models.add(NewModel(name="prepared/uncommitted"), "tester", "tester", now)  # flushed, not committed
        found = await models._BY_NAME.first(uow._session, {"name": "prepared/uncommitted"})
        assert found is not None and found.name == "prepared/uncommitted"
    async with app.state.database.read_sessions() as session:  # rolled back: never committed
        assert await models._BY_NAME.first(session, {"name": "prepared/uncommitted"}) is None


async def test_each_prepared_statement_is_announced_to_the_statement_listeners(app):
    with statements_sent(app.state.database.reader.sync_engine) as seen:
        async with app.state.database.read_sessions() as session:
            await models._BY_NAME.all(session, {"name": "prepared/a"})
    statements = [(statement, context) for statement, context in seen if not statement.startswith("BEGIN")]
    assert len(statements) == 1 and "registered_models" in statements[0][0]
    assert statements[0][1] is None  # no SQLAlchemy execution context: the prepared path ran


@pytest.fixture
def traced_reader(app):
    engine = app.state.database.reader
    use_sqlalchemy_path(engine)
    yield engine
    _TRACED.discard(engine.sync_engine.pool)


async def test_a_traced_engine_keeps_sqlalchemy_execution(app, traced_reader):
    with statements_sent(traced_reader.sync_engine) as seen:
        async with app.state.database.read_sessions() as session:
            await models._BY_NAME.all(session, {"name": "prepared/a"})
    contexts = [context for statement, context in seen if "registered_models" in statement]
    assert len(contexts) == 1 and contexts[0] is not None  # SQLAlchemy's execution context: its path was taken


def test_a_statement_whose_column_names_cannot_be_attributes_is_refused():
    from sqlalchemy import column, select

    with pytest.raises(ValueError, match="distinct column names"):
        PreparedRead(select(column("a").label("_private")))


async def test_the_parameters_a_read_takes_are_all_required_and_no_others(app):
    async with app.state.database.read_sessions() as session:
        with pytest.raises(ValueError, match="takes the parameters"):
            await models._BY_NAME.all(session, {})
        with pytest.raises(ValueError, match="takes the parameters"):
            await models._BY_NAME.all(session, {"name": "prepared/a", "other": 1})
        as_set = await models._BY_IDS.all(session, {"ids": {1, 2, 3}})  # any collection of ids, as SQLAlchemy takes
        assert as_set == await models._BY_IDS.all(session, {"ids": [1, 2, 3]})


async def test_a_failing_statement_raises_sqlalchemys_error(app):
    from sqlalchemy import column, select, table
    from sqlalchemy.exc import DBAPIError

    broken = PreparedRead(select(column("x")).select_from(table("no_such_table")))
    async with app.state.database.read_sessions() as session:
        with pytest.raises(DBAPIError, match="no_such_table"):
            await broken.all(session, {})
