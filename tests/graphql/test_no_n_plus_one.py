"""Nested fields are batched: a page of 100 models costs as many SQL statements as a page of 5."""

from contextlib import contextmanager

from sqlalchemy import event

MODELS_PAGE = """
query($first: Int!) {
  registeredModels(first: $first) {
    edges { node {
      name tags { key value } aliases { id alias version updatedBy { subject } modelVersion { version aliases { id alias } } }
      latestVersion { version stage tags { key value } metrics { name value } aliases { alias version } params { name value } }
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


def ten_models(first: int) -> str:
    """One document that registers 10 models with two versions each and points @stable at version 1 (within the
    30-alias limit; ten requests instead of 300)."""
    version = ('createModelVersion(input: {name: "n1/model-%03d", createModelIfMissing: true, tags: [{key: "k", '
               'value: "v"}], metrics: [{name: "accuracy", value: 0.9}], params: [{name: "lr", value: "0.1"}]}) '
               "{ modelVersion { version } }")
    alias = 'setModelAlias(input: {name: "n1/model-%03d", alias: "stable", version: 1}) { modelAlias { alias } }'
    fields = [f"{label}{i}: {template % i}" for i in range(first, first + 10)
              for label, template in (("a", version), ("b", version), ("c", alias))]
    return "mutation TenModels {\n" + "\n".join(fields) + "\n}"


async def test_page_of_100_models_costs_the_same_statements_as_5(api, app):
    for first in range(0, 100, 10):
        await api.ok(ten_models(first))

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
