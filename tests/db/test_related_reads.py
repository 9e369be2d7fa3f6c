"""Relations read together (app/db/repositories/related.py) answer exactly what each relation's own read answers, on
both backends; on PostgreSQL in one statement, whatever the number of relations and owners."""

from __future__ import annotations

from itertools import combinations

import pytest

from app.db.repositories.aliases import SqlAliasRepository
from app.db.repositories.models import SqlModelRepository
from app.db.repositories.related import SqlRelatedReads
from app.db.repositories.versions import SqlVersionRepository
from tests.db.test_prepared_reads import _seed
from tests.support.databases import backend
from tests.support.statements import statements_sent

MODEL_RELATIONS = ("tags", "aliases")
VERSION_RELATIONS = ("tags", "metrics", "aliases")


def _subsets(names: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [subset for size in range(1, len(names) + 1) for subset in combinations(names, size)]


async def _alone(session, owner: str, name: str, ids: list[int]) -> dict:
    if owner == "models":
        read = {"tags": SqlModelRepository(session).tags, "aliases": SqlAliasRepository(session).for_models}
    else:
        versions = SqlVersionRepository(session)
        read = {"tags": versions.tags, "metrics": versions.metrics, "aliases": SqlAliasRepository(session).for_versions}
    return await read[name](ids)


@pytest.mark.parametrize(
    ("owner", "names"),
    [("models", names) for names in _subsets(MODEL_RELATIONS)]
    + [("versions", names) for names in _subsets(VERSION_RELATIONS)],
)
async def test_relations_read_together_answer_what_each_read_alone_answers(api, app, owner, names):
    ids = await _seed(api, app)
    # owners with and without children, one asked twice, one that does not exist
    owners = [*ids[owner], ids[owner][0], 10**9]
    async with app.state.database.read_sessions() as session:
        related = SqlRelatedReads(session)
        read = related.of_models if owner == "models" else related.of_versions
        together = await read(owners, names)
        assert set(together) == set(names)
        for name in names:
            alone = await _alone(session, owner, name, owners)
            assert together[name] == alone, name
            # the same order of metrics and aliases (tags are a dict, answered sorted), and the same value types
            for key, value in alone.items():
                got = together[name][key]
                if name != "tags":
                    assert list(got) == list(value), (name, key)
                assert [type(item) for item in got] == [type(item) for item in value]
                if name == "aliases":
                    assert all(item.updated_at.tzinfo is not None for item in got)
    if owner == "versions" and "metrics" in names:
        assert any(together["metrics"].values()), "the seed gives versions metrics"


async def test_no_owners_and_unknown_relations(app):
    async with app.state.database.read_sessions() as session:
        related = SqlRelatedReads(session)
        assert await related.of_models([], ["tags", "aliases"]) == {"tags": {}, "aliases": {}}
        with pytest.raises(ValueError, match="no relation"):
            await related.of_versions([1], ["tags", "files"])


@pytest.mark.skipif(backend() != "postgresql", reason="PostgreSQL only: set MODELREG_TEST_DATABASE_URL")
async def test_on_postgresql_the_relations_are_one_statement(api, app):
    ids = await _seed(api, app)
    with statements_sent(app.state.database.reader.sync_engine) as seen:
        async with app.state.database.read_sessions() as session:
            await SqlRelatedReads(session).of_versions(ids["versions"], VERSION_RELATIONS)
    statements = [statement for statement, _ in seen if not statement.startswith("BEGIN")]
    assert len(statements) == 1 and statements[0].count("LATERAL") == 3


@pytest.mark.parametrize("names", _subsets(MODEL_RELATIONS) + [()])
async def test_a_model_read_with_its_relations_answers_what_the_reads_alone_answer(api, app, names):
    ids = await _seed(api, app)
    async with app.state.database.read_sessions() as session:
        models = SqlModelRepository(session)
        for name in ("prepared/a", "prepared/b", "prepared/none"):
            model, related = await models.get_by_name_with(name, names)
            assert model == await models.get_by_name(name)
            read = backend() == "postgresql" and model is not None and names
            assert set(related) == (set(names) if read else set())
            for relation, values in related.items():
                assert values == await _alone(session, "models", relation, [model.id]), relation
    assert ids["models"]


@pytest.mark.parametrize("names", _subsets(VERSION_RELATIONS) + [()])
async def test_newest_versions_read_with_their_relations_answer_what_the_reads_alone_answer(api, app, names):
    from app.domain.entities import Stage

    ids = await _seed(api, app)
    owners = [*ids["models"], 10**9]
    async with app.state.database.read_sessions() as session:
        versions = SqlVersionRepository(session)
        for stages in (
            frozenset({None}),
            frozenset({None, Stage.PRODUCTION, Stage.STAGING}),
            frozenset({Stage.STAGING}),
        ):
            newest, related = await versions.latest_in_stages_with(owners, stages, names)
            assert newest == await versions.latest_in_stages(owners, stages)
            found = sorted({version.id for by_stage in newest.values() for version in by_stage.values()})
            assert found
            assert set(related) == (set(names) if backend() == "postgresql" and names else set())
            for relation, values in related.items():
                # every version found, whatever stage it was found for, with its own children (no other version's)
                assert values == await _alone(session, "versions", relation, found), (relation, stages)
