"""The plain-leaf executor (app/graphql/execution.py) answers exactly as graphql-core's own path: same data, same
errors with the same paths, same order, for plain fields, resolvers, enums, nulls and values that do not coerce, and
for lists of objects (non-null items, nested lists, async fields inside items, errors inside items)."""

from __future__ import annotations

from enum import Enum

import pytest
import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from app.graphql.execution import PlainLeafExecutor, plain_leaves


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Item:
    name: str
    colour: Colour | None
    score: float | None
    label: str  # sometimes None: a broken object, answered with graphql-core's error

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()

    @strawberry.field
    def friends(self) -> list[Item]:
        return [item for item in ITEMS if item.name != self.name]

    @strawberry.field
    async def echo(self) -> str:
        return self.name


ITEMS = [
    Item(name="a", colour=Colour.RED, score=1.5, label="x"),
    Item(name="b", colour=None, score=None, label=None),  # type: ignore[arg-type]
    Item(name="c", colour="purple", score="not a number", label="z"),  # type: ignore[arg-type]
]


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return ITEMS

    @strawberry.field
    async def later(self) -> list[Item]:
        return ITEMS[:1]

    @strawberry.field
    def strict(self) -> list[Item]:
        return ITEMS

    @strawberry.field
    def maybe(self) -> list[Item] | None:
        return ITEMS


DOCUMENTS = [
    "{ items { name colour score shout } }",
    "{ items { name label } }",
    "{ items { n: name name ...F } later { name again: name } } fragment F on Item { colour score }",
    "{ items { __typename name @include(if: false) score @skip(if: false) } }",
    "{ strict { name echo friends { name shout friends { name } } } }",
    "{ strict { name label } }",  # a null inside a non-null item: the error nulls the list, up to `strict`
    "{ maybe { name label } items { name } }",  # ... up to a nullable list
    "{ maybe { friends { name colour } } }",
    "{ strict { ... on Item { name } friends { echo ...F } } } fragment F on Item { score }",
]


def _schema(executor: type) -> strawberry.Schema:
    return strawberry.Schema(query=Query, execution_context_class=executor)


@pytest.mark.parametrize("document", DOCUMENTS)
async def test_answers_as_graphql_core_does(document):
    fast = await _schema(PlainLeafExecutor).execute(document)
    reference = await _schema(StrawberryGraphQLCoreExecutionContext).execute(document)
    assert fast.data == reference.data
    assert list(fast.data or {}) == list(reference.data or {})
    assert [(e.message, e.path) for e in fast.errors or []] == [(e.message, e.path) for e in reference.errors or []]


async def test_errors_keep_their_paths():
    result = await _schema(PlainLeafExecutor).execute("{ items { label } }")
    assert result.data == {"items": [{"label": "x"}, None, {"label": "z"}]}
    assert [e.path for e in result.errors] == [["items", 1, "label"]]
    result = await _schema(PlainLeafExecutor).execute("{ items { colour score } }")
    assert sorted(tuple(e.path) for e in result.errors) == [("items", 2, "colour"), ("items", 2, "score")]


def test_only_plain_leaf_fields_take_the_short_path():
    graphql_schema = _schema(PlainLeafExecutor)._schema
    assert set(plain_leaves(graphql_schema, graphql_schema.type_map["Item"])) == {"name", "colour", "score", "label"}
    assert plain_leaves(graphql_schema, graphql_schema.type_map["Query"]) == {}


async def test_an_error_inside_a_list_item_keeps_its_path():
    result = await _schema(PlainLeafExecutor).execute("{ maybe { name label } }")
    assert result.data == {"maybe": None}
    assert [e.path for e in result.errors] == [["maybe", 1, "label"]]


def test_the_registry_schema_uses_it():
    from app.graphql.schema import schema

    assert schema.execution_context_class is PlainLeafExecutor
    model = schema._schema.type_map["RegisteredModel"]
    assert {"name", "owner", "createdAt"} <= set(plain_leaves(schema._schema, model))
    assert "tags" not in plain_leaves(schema._schema, model)
