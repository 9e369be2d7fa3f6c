"""The conventions of the 1.0 API (docs/api-conventions.md), each with the reproduction that showed it missing:
null paging arguments mean the default, a denied root field leaves the others' data, every connection pages
both ways, cursors belong to one list, lists default to newest first, lineage takes `models:/` URIs."""

from __future__ import annotations

import pytest

from app.domain.errors import BadUserInput
from app.domain.queries import PageRequest
from app.graphql.relay import connection_from_list
from tests.graphql.test_schema_coverage import error, gql, ok, seed

CREATE_MODEL = """
mutation($name: String!) { createRegisteredModel(input: {name: $name}) { registeredModel { id name } } }
"""
MODELS = """
query($first: Int, $after: String, $last: Int, $before: String, $orderBy: RegisteredModelOrder) {
  registeredModels(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy) {
    totalCount
    nodes { name }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
BY_NAME = {"field": "NAME", "direction": "ASC"}


async def create_models(api, count: int) -> list[str]:
    names = [f"m{i}" for i in range(count)]
    for name in names:
        await ok(api, CREATE_MODEL, {"name": name}, "data-scientist")
    return names


async def test_explicit_null_paging_arguments_mean_the_defaults(api):
    """Generated paging code sends `first: null`; it answered INTERNAL when `first` was `Int! = 20`."""
    await create_models(api, 21)
    page = (await ok(api, MODELS, {"first": None, "after": None, "last": None, "before": None}))["registeredModels"]
    assert len(page["nodes"]) == 20 and page["pageInfo"]["hasNextPage"] is True


async def test_explicit_null_lineage_arguments_mean_the_defaults(api):
    seeded = await seed(api)
    body = await gql(api, "query($id: ID!, $d: Int, $n: Int, $dir: LineageDirection) {"
                          " lineage(id: $id, depth: $d, maxNodes: $n, direction: $dir) { root } }",
                     {"id": seeded["version_id"], "d": None, "n": None, "dir": None})
    assert "errors" not in body, body
    assert body["data"]["lineage"]["root"] == seeded["version_id"]


async def test_an_argument_coercion_error_is_bad_user_input_not_internal(api):
    """A null for a non-null argument that has no default is the caller's mistake, whatever its position."""
    await seed(api)
    found = await error(api, "query($n: String!) { registeredModel(name: $n) { name } }", {"n": None})
    assert found["extensions"]["code"] == "BAD_USER_INPUT", found
    body = await gql(api, "query($v: Int!) { modelVersion(name: \"x\", version: $v) { version } }", {"v": "1"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body


async def test_a_denied_root_field_leaves_the_others_data(api):
    """As a data-scientist, auditEvents is FORBIDDEN; it nulled the whole response when root fields were non-null."""
    await seed(api)
    body = await gql(api, "{ viewer { subject } registeredModels { totalCount } auditEvents { totalCount } }",
                     None, "data-scientist")
    assert body["data"]["viewer"] == {"subject": "tester"}
    assert body["data"]["registeredModels"]["totalCount"] >= 1
    assert body["data"]["auditEvents"] is None
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [(["auditEvents"], "FORBIDDEN")]


async def test_pages_walk_backward_with_last_and_before(api):
    names = sorted(await create_models(api, 7))
    seen, before, pages = [], None, 0
    while True:
        page = (await ok(api, MODELS, {"last": 3, "before": before, "orderBy": BY_NAME}))["registeredModels"]
        assert page["totalCount"] == 7
        assert page["pageInfo"]["hasNextPage"] is (before is not None)
        seen = [node["name"] for node in page["nodes"]] + seen
        pages += 1
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert seen == names and pages == 3


async def test_after_and_before_bound_one_window(api):
    names = sorted(await create_models(api, 6))
    everything = (await ok(api, MODELS, {"first": 6, "orderBy": BY_NAME}))["registeredModels"]
    cursors = (await ok(api, "query { registeredModels(first: 6, orderBy: {field: NAME, direction: ASC})"
                             " { edges { cursor } } }"))["registeredModels"]["edges"]
    assert everything["nodes"] == [{"name": name} for name in names]
    window = {"after": cursors[0]["cursor"], "before": cursors[5]["cursor"], "orderBy": BY_NAME}
    assert [n["name"] for n in (await ok(api, MODELS, window))["registeredModels"]["nodes"]] == names[1:5]
    assert [n["name"] for n in (await ok(api, MODELS, {**window, "first": 2}))["registeredModels"]["nodes"]] == names[1:3]
    assert [n["name"] for n in (await ok(api, MODELS, {**window, "last": 2}))["registeredModels"]["nodes"]] == names[3:5]


async def test_first_and_last_together_are_refused(api):
    await seed(api)
    found = await error(api, MODELS, {"first": 2, "last": 2})
    assert found["extensions"] == {"code": "BAD_USER_INPUT", "field": "last"}


@pytest.mark.parametrize("argument", ["after", "before"])
async def test_a_cursor_of_another_list_is_refused(api, argument):
    """A modelVersions cursor was accepted by registeredModels (both ordered by creation time)."""
    await seed(api)
    cursor = (await ok(api, "{ modelVersions(first: 1) { pageInfo { endCursor } } }"))["modelVersions"]
    found = await error(api, MODELS, {argument: cursor["pageInfo"]["endCursor"]})
    assert found["extensions"] == {"code": "BAD_USER_INPUT", "field": argument}
    assert "not a cursor of this list" in found["message"]


async def test_a_cursor_taken_with_another_order_is_refused(api):
    """Both orderings sort on a time, so the sort value alone could not tell them apart."""
    await create_models(api, 3)
    newest = {"field": "CREATED_AT", "direction": "DESC"}
    cursor = (await ok(api, MODELS, {"first": 1, "orderBy": newest}))["registeredModels"]["pageInfo"]["endCursor"]
    assert len((await ok(api, MODELS, {"after": cursor, "orderBy": newest}))["registeredModels"]["nodes"]) == 2
    for other in ({"field": "UPDATED_AT", "direction": "DESC"}, {"field": "CREATED_AT", "direction": "ASC"}):
        found = await error(api, MODELS, {"after": cursor, "orderBy": other})
        assert found["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}, other


async def test_models_and_versions_default_to_newest_first(api):
    await create_models(api, 3)
    page = (await ok(api, "{ registeredModels { nodes { name } } }"))["registeredModels"]
    assert page["nodes"] == [{"name": "m2"}, {"name": "m1"}, {"name": "m0"}]


async def test_lineage_and_impact_accept_a_models_uri(api):
    seeded = await seed(api)
    uri = (await ok(api, "query($id: ID!) { node(id: $id) { ... on ModelVersion { uri } } }",
                    {"id": seeded["version_id"]}))["node"]["uri"]
    by_uri = await ok(api, "query($id: ID!) { lineage(id: $id) { root } }", {"id": uri})
    assert by_uri["lineage"]["root"] == seeded["version_id"]
    impacted = await ok(api, "query($id: ID!) { impactedModelVersions(nodeId: $id) { totalCount } }", {"id": uri})
    assert impacted["impactedModelVersions"]["totalCount"] >= 0
    missing = await error(api, "query($id: ID!) { lineage(id: $id) { root } }", {"id": "models:/nope/1"})
    assert missing["extensions"]["code"] == "NOT_FOUND"


# The in-memory connection (short lists a parent already holds) follows the same rules as the keyset one.

ITEMS = list("abcdefg")


def take(page: PageRequest) -> tuple[list[str], bool, bool, list[str]]:
    connection = connection_from_list(ITEMS, "letters", page)
    info = connection.page_info
    return connection.nodes(), info.has_previous_page, info.has_next_page, [e.cursor for e in connection.edges]


@pytest.mark.backend_independent
def test_an_in_memory_list_pages_both_ways():
    first, previous, following, cursors = take(PageRequest(first=3))
    assert (first, previous, following) == (["a", "b", "c"], False, True)
    assert take(PageRequest(first=3, after=cursors[-1]))[:3] == (["d", "e", "f"], True, True)
    last, previous, following, cursors = take(PageRequest(last=2))
    assert (last, previous, following) == (["f", "g"], True, False)
    assert take(PageRequest(last=10, before=cursors[0]))[:3] == (["a", "b", "c", "d", "e"], False, True)
    assert take(PageRequest())[0] == ITEMS


@pytest.mark.backend_independent
@pytest.mark.parametrize("page", [PageRequest(first=1, last=1), PageRequest(first=101), PageRequest(last=-1),
                                  PageRequest(after="bm90LWEtY3Vyc29y"), PageRequest(before="x")])
def test_an_in_memory_list_refuses_what_a_keyset_list_refuses(page):
    with pytest.raises(BadUserInput):
        connection_from_list(ITEMS, "letters", page)


@pytest.mark.backend_independent
def test_a_newest_first_cursor_stays_on_its_item_while_newer_items_arrive():
    newest_first = ["e", "d", "c", "b", "a"]
    page = connection_from_list(newest_first, "history", PageRequest(first=2), newest_first=True)
    assert page.nodes() == ["e", "d"]
    grown = ["g", "f", *newest_first]  # two newer items arrived at the front
    following = connection_from_list(grown, "history", PageRequest(first=2, after=page.edges[-1].cursor),
                                     newest_first=True)
    assert following.nodes() == ["c", "b"]
    preceding = connection_from_list(grown, "history", PageRequest(last=5, before=page.edges[0].cursor),
                                     newest_first=True)
    assert preceding.nodes() == ["g", "f"]


@pytest.mark.backend_independent
def test_an_in_memory_cursor_belongs_to_its_list():
    cursor = connection_from_list(ITEMS, "letters", PageRequest(first=1)).edges[0].cursor
    with pytest.raises(BadUserInput, match="not a cursor of this list"):
        connection_from_list(ITEMS, "numbers", PageRequest(after=cursor))


@pytest.mark.backend_independent
def test_node_finds_every_node_type():
    """Each type implementing Node registers how `node(id:)` fetches it (app/graphql/relay.py, fetches_node)."""
    from app.graphql.relay import node_type_names
    from app.graphql.schema import schema

    implementations = schema._schema.get_implementations(schema._schema.get_type("Node")).objects
    assert sorted(t.name for t in implementations) == node_type_names()


LONG = """mutation($n: Long) {
  registerDataset(input: {name: "d", version: "1", uri: "s3://d", rowCount: $n}) { dataset { rowCount } }
}"""


@pytest.mark.parametrize("value", [2**63 - 1, str(-(2**63)), 4.0])
async def test_long_accepts_64_bit_integers_and_answers_json_integers(api, value):
    body = await gql(api, LONG, {"n": value})
    if int(value) < 0:  # a negative row count is refused by the rule, after the scalar accepted it
        assert body["errors"][0]["extensions"]["field"] == "rowCount", body
    else:
        assert body["data"]["registerDataset"]["dataset"]["rowCount"] == int(value)
        assert isinstance(body["data"]["registerDataset"]["dataset"]["rowCount"], int)


@pytest.mark.parametrize("value", [2**63, "12a", 1.5, True, float(2**60)])
async def test_long_refuses_what_is_not_a_64_bit_integer(api, value):
    found = await error(api, LONG, {"n": value})
    assert found["extensions"]["code"] == "BAD_USER_INPUT" and "64-bit" in found["message"], found


@pytest.mark.backend_independent
def test_optional_arguments_are_nullable():
    """An argument with a default is nullable (null means the default): `Int! = 20` answered INTERNAL to the
    `null` that generated code sends for an unset variable."""
    from graphql import GraphQLNonNull, GraphQLObjectType
    from graphql.pyutils import Undefined

    from app.graphql.schema import schema

    offending = [
        f"{type_name}.{field_name}({argument_name})"
        for type_name, graphql_type in schema._schema.type_map.items()
        if isinstance(graphql_type, GraphQLObjectType) and not type_name.startswith("__")
        for field_name, field in graphql_type.fields.items()
        for argument_name, argument in field.args.items()
        if isinstance(argument.type, GraphQLNonNull) and argument.default_value is not Undefined
    ]
    assert offending == []
