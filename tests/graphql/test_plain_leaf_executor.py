"""The plain-leaf executor (app/graphql/execution.py) answers exactly as graphql-core's own path: same data, same
errors with the same paths, same order, for plain fields, resolvers, enums, nulls and values that do not coerce, and
for lists of objects (non-null items, nested lists, async fields inside items, errors inside items)."""

from __future__ import annotations

from enum import Enum

import pytest
import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from app.graphql.execution import NOT_READY, READY_ANSWER, PlainLeafExecutor, plain_leaves


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

    @strawberry.field
    def named(self, prefix: str = "", times: int = 1) -> str:
        return prefix + self.name * times

    @strawberry.field
    def best_friend(self) -> Item | None:
        return None if self.name == "b" else ITEMS[-1]

    @strawberry.field
    def must_friend(self) -> Item:
        return None if self.name == "b" else ITEMS[0]  # type: ignore[return-value]  # a broken resolver

    @strawberry.field
    def broken(self) -> str | None:
        raise ValueError(f"broken {self.name}")

    @strawberry.field
    def returns_error(self) -> str | None:
        return ValueError(f"returned {self.name}")  # type: ignore[return-value]  # graphql-core raises it


ITEMS = [
    Item(name="a", colour=Colour.RED, score=1.5, label="x"),
    Item(name="b", colour=None, score=None, label=None),  # type: ignore[arg-type]
    Item(name="c", colour="purple", score="not a number", label="z"),  # type: ignore[arg-type]
    Item(name="d", colour=Colour.BLUE, score=float("inf"), label="w"),  # a Float that does not coerce
    Item(name="e", colour=Colour.BLUE, score=2, label="v"),  # an int answered as a Float
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
    # resolver fields: arguments (defaults, literals), nullable and non-null objects, errors raised and returned
    '{ items { named short: named(prefix: "p-") bestFriend { name named(times: 2) } } }',
    "{ items { name mustFriend { name } } }",  # a null for a non-null object nulls the (nullable) item
    "{ strict { name mustFriend { name } } }",  # ... and, through non-null items, the list
    "{ strict { name broken returnsError bestFriend { broken } } }",
    # lists whose items select plain leaves only, answered in one loop unless something is unusual
    "{ later { name colour score label } }",
    "{ strict { name score } }",  # an infinite and a non-numeric Float: errors, with their items' paths
    "{ strict { colour } }",  # an enum value that does not coerce
    "{ maybe { name label } }",  # a null where the item's field is non-null
    "{ strict { friends { name colour } } }",
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


@pytest.mark.parametrize("variables", [{"p": "x-", "n": 2}, {"p": "", "n": 0}], ids=["given", "empty"])
async def test_arguments_from_variables_answer_as_graphql_core_does(variables):
    """Arguments are worked out once per field of a selection: each object of a list still gets the request's."""
    document = "query($p: String!, $n: Int!) { strict { named(prefix: $p, times: $n) friends { named(prefix: $p) } } }"
    fast = await _schema(PlainLeafExecutor).execute(document, variable_values=variables)
    reference = await _schema(StrawberryGraphQLCoreExecutionContext).execute(document, variable_values=variables)
    assert fast.errors is None and fast.data == reference.data
    assert fast.data["strict"][0]["named"] == variables["p"] + "a" * variables["n"]


async def test_errors_keep_their_paths():
    result = await _schema(PlainLeafExecutor).execute("{ items { label } }")
    assert result.data == {"items": [{"label": "x"}, None, {"label": "z"}, {"label": "w"}, {"label": "v"}]}
    assert [e.path for e in result.errors] == [["items", 1, "label"]]
    result = await _schema(PlainLeafExecutor).execute("{ items { colour score } }")
    assert sorted(tuple(e.path) for e in result.errors) == [
        ("items", 2, "colour"),
        ("items", 2, "score"),
        ("items", 3, "score"),
    ]
    result = await _schema(PlainLeafExecutor).execute("{ later { name score } strict { name score } }")
    assert result.data["later"] == [{"name": "a", "score": 1.5}]
    assert sorted(tuple(e.path) for e in result.errors) == [("strict", 2, "score"), ("strict", 3, "score")]


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


async def test_an_asynchronous_type_check_is_left_to_graphql_core():
    """A type whose ``is_type_of`` is a coroutine function takes graphql-core's path, which awaits it: the short paths
    would call it and, if it did not say True at once, leave its coroutine to graphql-core's second call."""
    import gc
    import warnings

    from graphql import (
        GraphQLField,
        GraphQLList,
        GraphQLNonNull,
        GraphQLObjectType,
        GraphQLSchema,
        GraphQLString,
        execute,
        parse,
    )

    async def is_thing(value, info):
        return isinstance(value, dict)

    thing = GraphQLObjectType("Thing", {"name": GraphQLField(GraphQLString)}, is_type_of=is_thing)
    query = GraphQLObjectType(
        "Query",
        {
            "one": GraphQLField(thing, resolve=lambda *_: {"name": "a"}),
            "many": GraphQLField(GraphQLList(GraphQLNonNull(thing)), resolve=lambda *_: [{"name": "b"}, {"name": "c"}]),
        },
    )
    schema = GraphQLSchema(query)
    document = parse("{ one { name } many { name } }")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = await execute(schema, document, executor_class=PlainLeafExecutor)
        gc.collect()
    assert result.errors is None
    assert result.data == {"one": {"name": "a"}, "many": [{"name": "b"}, {"name": "c"}]}
    assert not [warning for warning in caught if "never awaited" in str(warning.message)]


# A field whose value may be at hand (READY_ANSWER): the executor answers it without calling the resolver.
class _Ready:
    """Values at hand for some sources (a relation read ahead); the resolver answers the same for every source."""

    def __init__(self) -> None:
        self.values = {"a": ["x", "y"], "c": "boom"}

    def ready(self, context, source):
        value = self.values.get(source.name, NOT_READY)
        if value == "boom":
            raise ValueError(f"boom {source.name}")
        return value


READY = _Ready()
RESOLVER_CALLS: list[str] = []


def _resolved(name: str) -> list[str]:
    RESOLVER_CALLS.append(name)
    value = READY.values.get(name, [name.upper()])
    if value == "boom":
        raise ValueError(f"boom {name}")
    return value


class _Deny(strawberry.BasePermission):
    message = "denied"

    def has_permission(self, source, info, **kwargs) -> bool:
        return source.name != "b"


@strawberry.type
class Holder:
    name: str

    @strawberry.field(metadata={READY_ANSWER: READY})
    def labels(self) -> list[str]:
        return _resolved(self.name)

    @strawberry.field(metadata={READY_ANSWER: READY})
    def shouted(self, loud: bool = True) -> list[str]:  # an argument: the resolver answers
        return _resolved(self.name)

    @strawberry.field(metadata={READY_ANSWER: READY}, permission_classes=[_Deny])
    def guarded(self) -> list[str] | None:  # an extension: the resolver (and the permission) answer
        return _resolved(self.name)


@strawberry.type
class HolderQuery:
    @strawberry.field
    def holders(self) -> list[Holder | None]:
        return [Holder(name=name) for name in ("a", "b", "c")]


def _holder_schema(executor: type, direct: bool) -> strawberry.Schema:
    from app.graphql import direct_resolvers

    built = strawberry.Schema(query=HolderQuery, execution_context_class=executor)
    if direct:
        direct_resolvers.install(built)
    return built


@pytest.mark.parametrize(
    ("document", "called"),
    [
        ("{ holders { name labels } }", ["b"]),  # "a" and "c" (which raises) answered without the resolver
        ("{ holders { shouted } }", ["a", "b", "c"]),
        ("{ holders { guarded } }", ["a", "c"]),  # "b" is refused before its resolver
    ],
)
async def test_a_value_at_hand_is_answered_without_the_resolver_as_the_resolver_answers_it(document, called):
    RESOLVER_CALLS.clear()
    fast = await _holder_schema(PlainLeafExecutor, direct=True).execute(document)
    assert RESOLVER_CALLS == called
    reference = await _holder_schema(StrawberryGraphQLCoreExecutionContext, direct=False).execute(document)
    assert fast.data == reference.data
    assert [(e.message, e.path) for e in fast.errors or []] == [(e.message, e.path) for e in reference.errors or []]
