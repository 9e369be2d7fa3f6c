"""Queries built per request, prepared by their shape (app/db/prepared_queries.py): a statement answers exactly
what ``session.execute`` answers, with its own values when another of its shape was prepared first; shapes that
need more than SQL and values keep SQLAlchemy's path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, func, literal, select

from app.db import prepared_queries
from app.db.filters import tag_conditions, text_conditions
from app.db.prepared import _TRACED
from app.db.prepared_queries import query_rows
from app.db.tables import ModelRow, VersionRow, VersionTagRow
from app.domain.queries import TagMatch, TextMatch
from tests.support.statements import statements_sent

MODELS = ModelRow.__table__
VERSIONS = VersionRow.__table__


async def _registry(api):
    for name, team in (("shape/a", "red"), ("shape/b", "blue"), ("shape/c", "red")):
        await api.ok(
            'mutation($n: String!, $t: String!) { createModelVersion(input: {name: $n, createModelIfMissing: true, '
            'tags: [{key: "team", value: $t}], params: [{name: "lr", value: "0.1"}]}) { modelVersion { id } } }',
            {"n": name, "t": team},
        )


def _tagged(team: str, after: datetime, prefix: str = "shape/"):
    """A tag search as the versions page builds it: ORM attributes in EXISTS, a LIKE, a time and a cursor value."""
    return (
        select(*VERSIONS.c, MODELS.c.name.label("model_name"), VERSIONS.c.created_at.label("sort_key"))
        .join(MODELS, MODELS.c.id == VERSIONS.c.model_id)
        .where(
            *tag_conditions(VersionTagRow, VersionRow.id, "version_id", (TagMatch(key="team", value=team),)),
            *text_conditions(ModelRow.name, TextMatch(prefix=prefix)),
            VERSIONS.c.created_at > after,
        )
        .order_by(VERSIONS.c.created_at.desc(), VERSIONS.c.id.desc())
        .limit(10)
    )


async def _same_as_sqlalchemy(session, statement):
    """Rows of ``statement`` by ``query_rows`` (after one call: the first of a shape takes SQLAlchemy's path, whose
    keys name the rows), compared with SQLAlchemy's; and the statements sent for them."""
    expected = (await session.execute(statement)).all()
    first = await query_rows(session, statement)
    assert [tuple(row) for row in first] == [tuple(row) for row in expected]
    with statements_sent(session.bind.sync_engine) as sent:
        rows = await query_rows(session, statement)
    assert [tuple(row) for row in rows] == [tuple(row) for row in expected]
    assert [[type(value) for value in row] for row in rows] == [[type(value) for value in row] for row in expected]
    assert [row._fields for row in rows[:1]] == [tuple(row._fields) for row in expected[:1]]
    return rows, sent


async def test_a_statement_answers_what_sqlalchemy_answers_with_its_own_values(api, app):
    await _registry(api)
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    async with app.state.database.read_sessions() as session:
        red, sent = await _same_as_sqlalchemy(session, _tagged("red", long_ago))
        assert sent[-1][1] is None  # the prepared path: no execution context
        blue, sent = await _same_as_sqlalchemy(session, _tagged("blue", long_ago))  # same shape, other values
        assert sent[-1][1] is None
        assert sorted(row.model_name for row in red) == ["shape/a", "shape/c"]
        assert [row.model_name for row in blue] == ["shape/b"]
        assert red[0].params == {"lr": "0.1"} and red[0].created_at.tzinfo is not None  # JSON and time converted
        none, _ = await _same_as_sqlalchemy(session, _tagged("red", datetime.now(UTC) + timedelta(days=1)))
        assert none == []
        other, _ = await _same_as_sqlalchemy(session, _tagged("red", long_ago, "shape/c"))
        assert [row.model_name for row in other] == ["shape/c"]
        ((count,),), _ = await _same_as_sqlalchemy(
            session, select(func.count()).select_from(_tagged("red", long_ago).order_by(None).subquery())
        )
        assert count == 2


async def test_shapes_that_need_more_than_sql_and_values_take_sqlalchemys_path(api, app):
    await _registry(api)
    async with app.state.database.read_sessions() as session:
        (entity,) = await query_rows(session, select(ModelRow).where(ModelRow.name == "shape/a"))
        assert isinstance(entity[0], ModelRow)  # an ORM entity, loaded by the session
        names = select(MODELS.c.name).where(MODELS.c.name.in_(["shape/a", "shape/b"])).order_by(MODELS.c.name)
        rows, sent = await _same_as_sqlalchemy(session, names)  # an IN list expands per length
        assert [row.name for row in rows] == ["shape/a", "shape/b"] and sent[-1][1] is not None
        (row,) = await query_rows(session, select(literal(1).label("_x")))
        assert hasattr(row, "_mapping")  # names that cannot be attributes: SQLAlchemy's Row
        named = select(MODELS.c.name).where(MODELS.c.name == bindparam("wanted", "shape/a"))
        await query_rows(session, named)  # the shape, prepared with its default value
        rows, sent = await _same_as_sqlalchemy(session, named.params(wanted="shape/b"))  # values given by .params()
        assert [row.name for row in rows] == ["shape/b"] and sent[-1][1] is not None
        rows, sent = await _same_as_sqlalchemy(session, named.execution_options(logging_token="page"))
        assert [row.name for row in rows] == ["shape/a"] and sent[-1][1] is not None


async def test_a_limit_and_repeated_labels_are_bound_as_given(api, app):
    await _registry(api)
    async with app.state.database.read_sessions() as session:
        for limit in (1, 2, 3):
            rows, _ = await _same_as_sqlalchemy(
                session, select(MODELS.c.name).where(MODELS.c.name >= "shape/").order_by(MODELS.c.name).limit(limit)
            )
            assert len(rows) == limit
        repeated = select(MODELS.c.name, MODELS.c.created_at, MODELS.c.created_at).where(MODELS.c.name == "shape/a")
        rows, sent = await _same_as_sqlalchemy(session, repeated)  # SQLAlchemy keys the second created_at__1
        assert rows[0]._fields == ("name", "created_at", "created_at__1") and sent[-1][1] is None
        (row,) = await query_rows(session, select(literal(1).label("x"), literal(2).label("x")))
        assert tuple(row) == (1, 2) and hasattr(row, "_mapping")  # a repeated label: SQLAlchemy's Row


async def test_a_traced_engine_keeps_sqlalchemys_path(api, app):
    await _registry(api)
    pool = app.state.database.reader.sync_engine.pool
    _TRACED.add(pool)
    try:
        async with app.state.database.read_sessions() as session:
            _, sent = await _same_as_sqlalchemy(session, _tagged("red", datetime(2000, 1, 1, tzinfo=UTC)))
            assert sent[-1][1] is not None
    finally:
        _TRACED.discard(pool)


async def test_shapes_kept_are_bounded(app, monkeypatch):
    monkeypatch.setattr(prepared_queries, "MAX_SHAPES", 3)
    monkeypatch.setattr(prepared_queries, "_shapes", type(prepared_queries._shapes)())
    async with app.state.database.read_sessions() as session:
        for width in range(1, 6):  # five shapes: 1 to 5 columns
            await query_rows(session, select(*[literal(n).label(f"c{n}") for n in range(width)]))
    assert len(prepared_queries._shapes) == 3
