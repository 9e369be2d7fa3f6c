"""A page's rows (app/db/pagination.py ``plain_rows``) are named tuples holding what SQLAlchemy's rows hold, read by
attribute or index alike; SQLAlchemy's own rows where the column names could not be attributes."""

from __future__ import annotations

from sqlalchemy import literal, select

from app.db.pagination import plain_rows
from app.db.tables import ModelRow


async def test_rows_with_distinct_names_become_named_tuples_with_the_same_values(api, app):
    for name in ("page/a", "page/b"):
        await api.ok('mutation { createRegisteredModel(input: {name: "%s"}) { registeredModel { name } } }' % name)
    models = ModelRow.__table__
    query = select(*models.c, literal(7).label("sort_key")).order_by(models.c.name)
    async with app.state.database.read_sessions() as session:
        expected = (await session.execute(query)).all()
        rows = plain_rows(await session.execute(query))
    assert [tuple(row) for row in rows] == [tuple(row) for row in expected] and len(rows) >= 2
    assert not hasattr(rows[0], "_mapping")  # the named tuple, not SQLAlchemy's Row
    assert [(row.name, row.created_at, row[-1]) for row in rows] == [
        (row.name, row.created_at, row[-1]) for row in expected
    ]


async def test_rows_whose_names_repeat_or_are_not_attributes_stay_sqlalchemys(app):
    async with app.state.database.read_sessions() as session:
        for query in (select(literal(1).label("x"), literal(2).label("x")), select(literal(1).label("_x"))):
            (row,) = plain_rows(await session.execute(query))
            assert hasattr(row, "_mapping")  # SQLAlchemy's Row
