"""A GraphQL executor that completes plain leaf fields without the per-field machinery.

graphql-core executes every field the same way: a response path, a resolve-info object, the resolver (Strawberry's
wrapper around ``getattr`` for a field without a resolver), then value completion through several calls. That costs
about 10 us per field, and a catalogue page has some 2,000 fields, most of them plain attributes of an object the
loaders already built (``name``, ``version``, ``stage``, a tag's ``key`` and ``value``). For such a field — no
resolver, no field extension, a scalar or enum type — the answer is the attribute, coerced for output, which is what
``PlainLeafExecutor`` computes directly. Anything else (a resolver, an object or list type, a null where the schema
says non-null, a value that does not coerce, schema extensions that wrap resolvers) takes graphql-core's own path,
so errors, their paths and locations are exactly graphql-core's.

Lists of objects (``[Tag!]!``, a connection's edges) get the same treatment one level up: each item's fields are
executed straight away with the list's collected sub-selection, instead of through four calls of value completion
per item; lists with nullable items, awaitable items, ``@defer``/``@stream`` or a failed type check take
graphql-core's path.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLResolveInfoHelpers,
    GraphQLSchema,
    Undefined,
    is_leaf_type,
)
from graphql.pyutils import Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter


@dataclass(frozen=True, slots=True)
class PlainLeaf:
    """How to answer one plain leaf field: read the attribute, coerce it for output."""

    attribute: str
    read: Callable[[Any, str], Any]
    coerce: Callable[[Any], Any]
    nullable: bool


def plain_leaf(field: GraphQLField) -> PlainLeaf | None:
    """The plain-leaf recipe for ``field``, or None when the field must take graphql-core's path."""
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if definition is None or not getattr(field.resolve, "_is_default", False) or not definition.is_basic_field:
        return None
    field_type = field.type
    nullable = not isinstance(field_type, GraphQLNonNull)
    leaf = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
    if not is_leaf_type(leaf) or field.args:
        return None
    assert isinstance(leaf, GraphQLLeafType)
    return PlainLeaf(definition.python_name, definition.default_resolver, leaf.coerce_output_value, nullable)


_recipes: dict[tuple[int, str], dict[str, PlainLeaf]] = {}


def plain_leaves(schema: GraphQLSchema, parent_type: GraphQLObjectType) -> dict[str, PlainLeaf]:
    """The plain leaf fields of ``parent_type`` by field name, worked out once per schema and type."""
    key = (id(schema), parent_type.name)
    recipes = _recipes.get(key)
    if recipes is None:
        recipes = {name: recipe for name, field in parent_type.fields.items() if (recipe := plain_leaf(field))}
        _recipes[key] = recipes
    return recipes


class PlainLeafExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, with plain leaf fields answered directly (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # graphql-core keeps two of the executor's bound methods on the executor itself: a reference cycle, through
        # which a request's whole object graph (context, loaders, everything loaded) waited for the cyclic garbage
        # collector instead of being freed when the request ended. Reaching the executor weakly breaks the cycle;
        # it is alive while its resolvers run.
        executor = weakref.ref(self)
        self.async_helpers = GraphQLResolveInfoHelpers(
            gather=lambda values: _alive(executor).gather_async_work(values),
            track=lambda values: _alive(executor).track_async_work(values),
        )

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        if self.middleware_manager is not None and self.middleware_manager.middlewares:
            # schema extensions that wrap every resolver (tracing) see every field
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        recipes = plain_leaves(self.schema, parent_type)
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list in grouped_field_set.items():
                recipe = recipes.get(field_details_list[0].node.name.value)
                if recipe is not None:
                    answer = _answer(recipe, source_value)
                    if answer is not Undefined:
                        results[response_name] = answer
                        continue
                result = self.execute_field(
                    parent_type,
                    source_value,
                    field_details_list,
                    Path(path, response_name, parent_type.name),
                    position_context,
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:  # as graphql-core does: settle what other fields started, they may fail too
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return _awaited(results, awaitable_fields)

    def complete_list_value(
        self,
        return_type: GraphQLList[Any],
        field_details_list: Any,
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        object_type = self._plain_items_type(return_type, field_details_list, info, path, result, position_context)
        if object_type is None:
            return super().complete_list_value(return_type, field_details_list, info, path, result, position_context)
        grouped_field_set = self.collect_subfields(object_type, field_details_list)[0]
        is_awaitable = self.is_awaitable
        completed: list[Any] = []
        awaitable_indices: list[int] = []
        for index, item in enumerate(result):
            item_path = path.add_key(index, None)
            try:
                value = self.execute_fields(object_type, item, item_path, grouped_field_set, None)
            except Exception as error:
                if awaitable_indices:  # as graphql-core does: settle what other items started
                    self.settle_in_background([completed[i] for i in awaitable_indices])
                self.handle_field_error(error, return_type.of_type, field_details_list, item_path)  # raises: non-null
                raise
            if is_awaitable(value):
                awaitable_indices.append(index)
            completed.append(value)
        if not awaitable_indices:
            return completed
        return _awaited(completed, awaitable_indices)

    def _plain_items_type(
        self,
        return_type: GraphQLList[Any],
        field_details_list: Any,
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> GraphQLObjectType | None:
        """The object type of the items when the list can take the short path (see the module's docstring)."""
        item_type = return_type.of_type
        if (
            not isinstance(item_type, GraphQLNonNull)
            or not isinstance(item_type.of_type, GraphQLObjectType)
            or not isinstance(result, list | tuple)
            or position_context is not None
            or not self.error_propagation
            or self.get_stream_usage(field_details_list, path) is not None
        ):
            return None
        object_type = item_type.of_type
        if self.collect_subfields(object_type, field_details_list)[1]:  # @defer inside
            return None
        is_awaitable = self.is_awaitable
        is_type_of = object_type.is_type_of
        for item in result:
            if is_awaitable(item):
                return None
            if is_type_of is not None and is_type_of(item, info) is not True:
                return None  # graphql-core's path reports it (or awaits an asynchronous check)
        return object_type


def _alive(executor: weakref.ref[PlainLeafExecutor]) -> PlainLeafExecutor:
    found = executor()
    if found is None:
        raise RuntimeError("the execution this resolver belonged to has ended")
    return found


def _answer(recipe: PlainLeaf, source: Any) -> Any:
    """The field's output value, or Undefined to let graphql-core's path answer (and report any error)."""
    try:
        value = recipe.read(source, recipe.attribute)
        if value is None:
            return None if recipe.nullable else Undefined
        coerced = recipe.coerce(value)
    except Exception:  # noqa: BLE001 - graphql-core's path reports it, with its path and location
        return Undefined
    return Undefined if coerced is None or coerced is Undefined else coerced


async def _awaited(values: Any, keys: list[Any]) -> Any:
    """``values`` (a field's results by response name, or a list's items by index) with the awaitables at ``keys``
    awaited, as graphql-core's ``execute_fields`` and ``complete_iterable_value`` do."""
    if len(keys) == 1:
        values[keys[0]] = await values[keys[0]]
    else:
        awaited = await gather_with_cancel(*(values[key] for key in keys))
        for key, value in zip(keys, awaited, strict=True):
            values[key] = value
    return values
