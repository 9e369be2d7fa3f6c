"""The request budget of /graphql (issue 20, points 1-3): body size, list lengths, static cost, malformed bodies.
Every refusal comes before execution: no SQL statement is issued."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, parse

from app.config import Settings
from app.graphql.cost import operation_cost
from app.graphql.schema import schema
from tests.graphql.test_no_n_plus_one import count_statements
from tests.graphql.test_shipped_documents import documents, graphiql_default_document

ROOT = Path(__file__).resolve().parents[2]
DEFAULTS = Settings()

# The issue's stall: four connections of 100 nested through model -> versions.
NESTED_VERSIONS = """
{ registeredModels(first: 100, filter: {name: {equals: "big/m"}}) { nodes { versions(first: 100) { nodes { model {
  versions(first: 100) { nodes { model { versions(first: 100) { nodes { version } } } } } } } } } } }
"""
VERSIONS_BY_METRICS = "query($f: ModelVersionFilter) { modelVersions(filter: $f) { totalCount } }"
MANY_LINEAGE_WALKS = """
{ modelVersions(first: 100) { nodes { lineage(maxNodes: 2000, depth: 50) { nodes { id label } } } } }
"""
TWO_PAGES = "{ registeredModels(first: 100) { nodes { versions(first: 100) { nodes { version } } } } }"
VIEWER = "{ viewer { subject } }"


def metrics(count: int) -> dict:
    return {"f": {"metrics": [{"name": f"m{i}", "gte": 0.5} for i in range(count)]}}


async def post_raw(api, body: bytes, **headers: str):
    return await api.client.post("/graphql", content=body, headers={
        "content-type": "application/json", "authorization": f"Bearer {api.token('mlops')}", **headers})


def only_error(response) -> dict:
    body = response.json()
    assert "data" not in body or body["data"] is None, body
    assert len(body["errors"]) == 1, body
    return body["errors"][0]


# Cost model


def test_cost_multiplies_page_sizes_through_nested_connections():
    assert operation_cost(schema._schema, parse(TWO_PAGES), {}) == 1 + 100 * (1 + 1 + 100 * (1 + 1))
    assert operation_cost(schema._schema, parse("{ registeredModels { totalCount } }"), {}) == 1 + 20 * 1
    by_variable = "query($n: Int) { registeredModels(first: $n) { totalCount } }"
    assert operation_cost(schema._schema, parse(by_variable), {"n": 7}) == 1 + 7
    assert operation_cost(schema._schema, parse(by_variable), {}) == 1 + 20
    walk = '{ lineage(id: "x", maxNodes: 50) { nodes { id } } }'
    assert operation_cost(schema._schema, parse(walk), {}) == 1 + 50 * 2
    assert operation_cost(schema._schema, parse(NESTED_VERSIONS), {}) > 10**8


def test_cost_of_cyclic_fragments_terminates():
    cyclic = "query { viewer { ...A } } fragment A on Viewer { subject ...B } fragment B on Viewer { ...A }"
    assert operation_cost(schema._schema, parse(cyclic), {}) < 10


def documented_documents() -> list[tuple[str, str]]:
    """Every GraphQL document the project ships: ```graphql blocks of docs/ and README, GraphiQL's default document,
    the benchmarks' documents."""
    found = [("graphiql default document", graphiql_default_document()), *documents()]
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for index, block in enumerate(re.findall(r"```graphql\n(.*?)```", path.read_text(encoding="utf-8"), re.S)):
            found.append((f"{path.name} block {index}", block))
    return found


@pytest.mark.backend_independent
@pytest.mark.parametrize(("where", "document"), documented_documents(), ids=[w for w, _ in documented_documents()])
def test_every_shipped_document_is_within_the_default_cost(where, document):
    parsed = parse(document)
    for operation in parsed.definitions:
        if isinstance(operation, OperationDefinitionNode):
            name = operation.name.value if operation.name else None
            cost = operation_cost(schema._schema, parsed, {}, name)
            assert cost <= DEFAULTS.max_query_cost, f"{where} {name}: cost {cost}"


# Refusals before execution


async def test_an_expensive_query_is_refused_with_its_cost_before_any_sql(api, app):
    with count_statements(app) as statements:
        response = await api.post(NESTED_VERSIONS, token=api.token("mlops"))
    error = only_error(response)
    assert response.status_code == 200  # a request error, with application/json
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["cost"] > DEFAULTS.max_query_cost
    assert error["extensions"]["limit"] == DEFAULTS.max_query_cost
    assert statements == []
    walks = await api.post(MANY_LINEAGE_WALKS, token=api.token("mlops"))
    assert only_error(walks)["extensions"]["cost"] == 1 + 100 * (1 + 1 + 2000 * (1 + 1 + 1))


async def test_a_refusal_with_graphql_response_json_is_a_400(api):
    response = await api.post(NESTED_VERSIONS, token=api.token("mlops"),
                              headers={"accept": "application/graphql-response+json"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/graphql-response+json")
    assert only_error(response)["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_query_within_the_budget_runs(api):
    assert (await api.ok(TWO_PAGES)) == {"registeredModels": {"nodes": []}}


async def test_a_long_list_in_the_variables_is_refused_before_coercion_and_sql(api, app):
    with count_statements(app) as statements:
        response = await api.post(VERSIONS_BY_METRICS, metrics(DEFAULTS.max_input_items + 1),
                                  token=api.token("no-role"))
    error = only_error(response)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "limit": DEFAULTS.max_input_items,
                                   "actual": DEFAULTS.max_input_items + 1, "path": "f.metrics"}
    assert statements == []
    allowed = await api.gql(VERSIONS_BY_METRICS, metrics(50))  # at most 50 metric conditions per filter
    assert allowed == {"data": {"modelVersions": {"totalCount": 0}}}


async def test_a_long_list_literal_in_the_document_is_refused(api):
    values = ", ".join(["STAGING"] * (DEFAULTS.max_input_items + 1))
    for _ in range(2):  # the second time from the per-document cache: refused all the same
        response = await api.post(f"{{ modelVersions(filter: {{stage: [{values}]}}) {{ totalCount }} }}",
                                  token=api.token("mlops"))
        assert only_error(response)["extensions"]["actual"] == DEFAULTS.max_input_items + 1


async def test_a_body_over_the_limit_is_refused_while_reading(api):
    limit = DEFAULTS.max_request_bytes
    declared = await post_raw(api, b" " * (limit + 1))
    assert declared.status_code == 413
    assert only_error(declared)["extensions"] == {"code": "BAD_USER_INPUT", "limit": limit, "actual": limit + 1}

    sent = []

    async def chunks():  # no Content-Length: the server stops reading once past the limit
        for _ in range(64):
            sent.append(1)
            yield b" " * (128 * 1024)

    streamed = await api.client.post("/graphql", content=chunks(), headers={
        "content-type": "application/json", "authorization": f"Bearer {api.token('mlops')}"})
    assert streamed.status_code == 413
    assert only_error(streamed)["extensions"]["actual"] > limit
    assert len(sent) < 64


# Point 3: malformed bodies


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000, b'{"query":"\xff\xfe"}', b"\xff", b'{"a": ' * 50_000,
                                  b"[1, 2]", b'"query"'], ids=["nested arrays", "invalid utf-8 in a string",
                                                                "invalid utf-8", "nested objects", "array of numbers",
                                                                "a string"])
async def test_a_malformed_body_is_a_graphql_shaped_400(api, body):
    response = await post_raw(api, body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = only_error(response)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Traceback" not in response.text


async def test_malformed_get_variables_are_a_graphql_shaped_400(api):
    response = await api.client.get("/graphql", params={"query": VIEWER, "variables": "[" * 5000},
                                    headers={"authorization": f"Bearer {api.token('mlops')}"})
    assert response.status_code == 400
    assert only_error(response)["extensions"]["code"] == "BAD_USER_INPUT"



# MODELREG_STATEMENT_TIMEOUT


async def test_postgresql_connections_carry_the_statement_timeout(database_url):
    from sqlalchemy import text

    from app.db.engine import create_database, is_sqlite

    database = create_database(database_url, statement_timeout=7)
    try:
        async with database.reader.connect() as connection:
            if is_sqlite(database_url):  # SQLite has no statement timeout; the setting is ignored there
                assert (await connection.execute(text("SELECT 1"))).scalar() == 1
            else:
                assert (await connection.execute(text("SHOW statement_timeout"))).scalar() == "7s"
    finally:
        await database.dispose()


@pytest.mark.parametrize("body", [
    b'{"query": "{ a }", "variables": {"n": 1, "f": 0.1, "s": "\\u00e9", "l": [true, null]}}',
    b'{"n": 123456789012345678901234567890}',  # beyond 64 bits: orjson would give a float
    b'{"n": -9223372036854775809}',
    b'{"n": NaN, "i": Infinity}',  # not JSON, but the standard library reads them: so do we
    b'"\\ud800"',  # a lone surrogate
    '{"s": "text given as str"}',
    b'{"a": 1, "a": 2}',
])
def test_request_json_reads_as_the_standard_library_reads_it(body):
    import json

    from app.graphql.budget import decode

    got, expected = decode(body), json.loads(body)
    assert repr(got) == repr(expected)  # repr: NaN is not equal to itself; types too (1 and 1.0 print apart)


def test_a_remembered_cost_is_the_cost_walked_again_whatever_the_variables():
    """Costs are remembered per document by the values of the variables the walk reads; each answer must be what
    a fresh walk gives, as the variables change (True, 1 and 1.0 are equal in Python, not in cost)."""
    from app.graphql import cost as cost_module

    document = parse(
        "query($n: Int, $m: Int, $l: Int, $name: String) { registeredModels(first: $n) { edges { node { name "
        "versions(first: $m, last: $l) { edges { node { version } } } } } } registeredModel(name: $name) { name } }"
    )
    graphql_schema = schema._schema
    sequences = [
        {"n": 5, "m": 3, "name": "a"}, {"n": 5, "m": 3, "name": "b"}, {"n": 5, "m": None, "l": 7},
        {"n": 5, "m": None, "l": 2}, {"n": True, "m": 1}, {"n": 1, "m": 1}, {"n": 1.0, "m": 1}, {},
        {"n": [1]}, {"n": 5, "m": 3, "name": "c"}, {"n": 100, "l": 4},
    ]
    walked = []
    for variables in sequences:
        cost_module._KNOWN_COSTS.clear()
        walked.append(operation_cost(graphql_schema, document, variables))
    cost_module._KNOWN_COSTS.clear()
    for _ in range(3):  # the first round learns, the next ones answer from what was learnt
        for variables, expected in zip(sequences, walked, strict=True):
            assert operation_cost(graphql_schema, document, variables) == expected, variables
    (known,) = cost_module._KNOWN_COSTS.values()
    assert set(known.consulted) == {"n", "m", "l"} and len(known.by_values) >= 8


async def test_a_long_document_parsed_afresh_leaves_no_remembered_cost(api):
    """Documents over the budget's parse cache are parsed anew per request: their cost entries could never be found
    again, so they are not kept (they would only push out the entries of repeated queries)."""
    from app.graphql import budget
    from app.graphql import cost as cost_module

    padding = " " * (budget._PARSE_CACHE_CHARS + 10)
    short, long = "{ viewer { subject } }", "{ viewer { subject } }" + padding
    assert budget.parse_is_remembered(short) and not budget.parse_is_remembered(long)
    await api.ok(short, None, "mlops")
    kept = len(cost_module._KNOWN_COSTS)
    for _ in range(3):
        await api.ok(long, None, "mlops")
    assert len(cost_module._KNOWN_COSTS) == kept
