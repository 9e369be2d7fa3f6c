"""Nested fields are batched: a page of 100 models costs as many SQL statements as a page of 5."""

from contextlib import contextmanager

from sqlalchemy import event

CREATE_VERSION = """
mutation($input: CreateModelVersionInput!) { createModelVersion(input: $input) { modelVersion { version } } }
"""
SET_ALIAS = """
mutation($input: SetModelAliasInput!) { setModelAlias(input: $input) { modelAlias { alias } } }
"""
MODELS_PAGE = """
query($first: Int!) {
  registeredModels(first: $first) {
    edges { node {
      name tags { key value } aliases { alias versionNumber version { version } }
      latestVersion { version stage tags { key value } metrics { name value } aliases params { name value } }
      staging: latestVersion(stage: STAGING) { version }
    } }
  }
}
"""


@contextmanager
def count_statements(app):
    engines = {app.state.database.reader.sync_engine, app.state.database.writer.sync_engine}
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


async def test_page_of_100_models_costs_the_same_statements_as_5(api, app):
    for i in range(100):
        for _ in range(2):
            await api.ok(CREATE_VERSION, {"input": {
                "name": f"n1/model-{i:03d}", "createModelIfMissing": True,
                "tags": [{"key": "k", "value": "v"}], "metrics": [{"name": "accuracy", "value": 0.9}],
                "params": [{"name": "lr", "value": "0.1"}],
            }})
        await api.ok(SET_ALIAS, {"input": {"name": f"n1/model-{i:03d}", "alias": "stable", "version": 1}})

    counts = {}
    for size in (5, 100):
        with count_statements(app) as statements:
            data = await api.ok(MODELS_PAGE, {"first": size})
        assert len(data["registeredModels"]["edges"]) == size
        assert data["registeredModels"]["edges"][0]["node"]["latestVersion"]["metrics"] == [
            {"name": "accuracy", "value": 0.9}]
        counts[size] = len([s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))])
    assert counts[100] == counts[5], counts
    assert counts[5] <= 10, counts
