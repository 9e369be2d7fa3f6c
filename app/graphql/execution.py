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

Fields with a resolver run graphql-core's steps, with what is the same for every object of a list worked out once
per execution and selection: the field's definition, its nodes, its arguments (the variables are the execution's),
and which fields of the selection are plain leaves. So the objects of a list get the same argument values: a
resolver must not change them (Strawberry's conversion builds new input objects and copies lists of leaves; a JSON
scalar's value is shared, as a variable's always was). Their values complete by the exact class of the type (no chain
of ``is_*_type`` calls), and an object whose type check passes has its fields executed at once. About 12% of a
catalogue page's instructions.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
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
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, gather_with_cancel
from graphql.type.scalars import serialize_boolean, serialize_float, serialize_id, serialize_string
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

from .direct_resolvers import DIRECT_RESOLVER


@dataclass(frozen=True, slots=True)
class PlainLeaf:
    """How to answer one plain leaf field: read the attribute, coerce it for output."""

    attribute: str
    read: Callable[[Any, str], Any]
    coerce: Callable[[Any], Any]
    nullable: bool
    unchanged: type | None  # values of this exact class are their own output (a String's str), no coercion needed


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
    coerce = leaf.coerce_output_value
    unchanged = _UNCHANGED.get(coerce)
    coerce = _FASTER.get(coerce, coerce)
    return PlainLeaf(definition.python_name, definition.default_resolver, coerce, nullable, unchanged)


# graphql-core's coercions that return a value of this class as it is
_UNCHANGED: dict[Callable[[Any], Any], type] = {serialize_string: str, serialize_id: str, serialize_boolean: bool}


def _finite_float(value: Any) -> Any:
    """graphql-core's Float coercion, a finite float answered at once (a metric's value: 500 a catalogue page)."""
    if type(value) is float and value - value == 0.0:  # inf - inf and nan - nan are nan
        return value
    return serialize_float(value)


# graphql-core's coercions, and quicker ones answering the same
_FASTER: dict[Callable[[Any], Any], Callable[[Any], Any]] = {serialize_float: _finite_float}

_recipes: dict[tuple[int, str], dict[str, PlainLeaf]] = {}

# A resolver field's metadata (``strawberry.field(metadata=...)``) under this key: an object whose
# ``ready(context, source)`` answers the field's value when it is at hand (a relation a list read ahead), else
# ``NOT_READY``; the executor then answers it without calling the resolver (prefetch.py's ``LoadedRelation``).
# Only for fields with a direct resolver (direct_resolvers.py: no field extension) and no arguments.
READY_ANSWER = "modelreg.ready_answer"
NOT_READY = object()

# Results that are never awaitable, checked before graphql-core's general test (as Strawberry's own does first).
_PLAIN_RESULTS = frozenset({type(None), bool, int, float, str, list, tuple, dict})
# Classes of list items found not awaitable whose instances cannot become awaitable (no ``__await__`` or
# ``__getattr__`` on the class), so that graphql-core's test, a failed attribute lookup, runs once per class.
_SYNC_CLASSES: set[type] = set()


def plain_leaves(schema: GraphQLSchema, parent_type: GraphQLObjectType) -> dict[str, PlainLeaf]:
    """The plain leaf fields of ``parent_type`` by field name, worked out once per schema and type."""
    key = (id(schema), parent_type.name)
    recipes = _recipes.get(key)
    if recipes is None:
        recipes = {name: recipe for name, field in parent_type.fields.items() if (recipe := plain_leaf(field))}
        _recipes[key] = recipes
    return recipes


# A selection's fields in order: response name, field details, plain-leaf recipe (None: graphql-core's path)
_Plan = list[tuple[str, Any, PlainLeaf | None]]


@dataclass(frozen=True, slots=True)
class _FieldCall:
    """What does not change between calls of one field of one selection within an execution: its definition, its
    resolver, its nodes and, once they have been worked out without an error, its arguments (the variables are the
    execution's)."""

    definition: GraphQLField
    resolve: Callable[..., Any]
    nodes: list[FieldNode]
    arguments: dict[str, Any] | None
    ready_answer: Any | None  # see READY_ANSWER


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
        # Per selection (a grouped field set, which graphql-core collects once per execution and reuses for every
        # object of a list): its fields in order with their plain-leaf recipes, and its resolver fields' calls. Keyed
        # by identity, so each entry keeps its key object alive, as graphql-core's own memo does.
        self._plans: dict[tuple[GraphQLObjectType, int], tuple[Any, _Plan, bool]] = {}
        self._calls: dict[tuple[GraphQLObjectType, int], tuple[Any, _FieldCall]] = {}
        self._synchronous_checks: dict[str, bool] = {}  # by object type name: one schema per execution
        self._wrapped = self.middleware_manager is not None and bool(self.middleware_manager.middlewares)

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        if self._wrapped:
            # schema extensions that wrap every resolver (tracing) see every field
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        planned = self._plans.get((parent_type, id(grouped_field_set))) or self._plan(parent_type, grouped_field_set)
        plan = planned[1]
        try:
            for response_name, field_details_list, recipe in plan:
                if recipe is not None:
                    # the field's output value; on anything unusual graphql-core's path answers (and reports errors)
                    try:
                        value = recipe.read(source_value, recipe.attribute)
                        if value is None:
                            if recipe.nullable:
                                results[response_name] = None
                                continue
                        elif type(value) is recipe.unchanged:
                            results[response_name] = value
                            continue
                        else:
                            value = recipe.coerce(value)
                            if value is not None and value is not Undefined:
                                results[response_name] = value
                                continue
                    except Exception:  # noqa: BLE001 - graphql-core's path reports it, with path and location
                        pass
                result = self.execute_field(
                    parent_type,
                    source_value,
                    field_details_list,
                    Path(path, response_name, parent_type.name),
                    position_context,
                )
                if result is not Undefined:
                    results[response_name] = result
                    if type(result) not in _PLAIN_RESULTS and is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:  # as graphql-core does: settle what other fields started, they may fail too
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return _awaited(results, awaitable_fields)

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> tuple[Any, _Plan, bool]:
        """The selection's fields in order, each with its plain-leaf recipe or None, and whether all have one:
        worked out once per execution and kept with the selection (``_plans``)."""
        key = (parent_type, id(grouped_field_set))
        recipes = plain_leaves(self.schema, parent_type)
        plan = [
            (response_name, field_details_list, recipes.get(field_details_list[0].node.name.value))
            for response_name, field_details_list in grouped_field_set.items()
        ]
        planned = self._plans[key] = (grouped_field_set, plan, bool(plan) and all(recipe for _, _, recipe in plan))
        return planned

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        """graphql-core's ``execute_field``, with what does not change between the objects of a list (the field's
        definition, nodes and arguments) worked out once per selection."""
        if self._wrapped:
            return super().execute_field(parent_type, source, field_details_list, path, position_context)
        call = self._call(parent_type, field_details_list)
        if call is None:
            return Undefined
        return_type = call.definition.type
        info = self.build_resolve_info(call.definition, call.nodes, parent_type, path)
        try:
            result = NOT_READY if call.ready_answer is None else call.ready_answer.ready(self.context_value, source)
            if result is NOT_READY:
                arguments = call.arguments
                if arguments is None:  # their coercion failed before: fail again, where graphql-core fails
                    arguments = self._arguments(call.definition, field_details_list)
                result = call.resolve(source, info, **arguments)
            if type(result) not in _PLAIN_RESULTS and self.is_awaitable(result):
                return self.complete_awaitable_value(
                    return_type, field_details_list, info, path, result, position_context
                )
            completed = self.complete_value(return_type, field_details_list, info, path, result, position_context)
            if type(completed) not in _PLAIN_RESULTS and self.is_awaitable(completed):
                return self._await_completed(completed, return_type, field_details_list, path)
        except Exception as raw_error:  # noqa: BLE001 - as graphql-core: a field's error is the response's
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        return completed

    async def _await_completed(self, completed: Any, return_type: Any, field_details_list: Any, path: Path) -> Any:
        try:
            return await completed
        except Exception as raw_error:  # noqa: BLE001 - as graphql-core: a field's error is the response's
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None

    def _call(self, parent_type: GraphQLObjectType, field_details_list: Any) -> _FieldCall | None:
        key = (parent_type, id(field_details_list))
        cached = self._calls.get(key)
        if cached is not None:
            return cached[1]
        definition = self.schema.get_field(parent_type, field_details_list[0].node.name.value)
        if definition is None:
            return None
        try:
            arguments: dict[str, Any] | None = self._arguments(definition, field_details_list)
        except Exception:  # noqa: BLE001 - raised again in execute_field, inside graphql-core's error handling
            arguments = None
        call = _FieldCall(
            definition,
            definition.resolve or self.field_resolver,
            [field_details.node for field_details in field_details_list],
            arguments,
            _ready_answer(definition),
        )
        self._calls[key] = (field_details_list, call)
        return call

    def _arguments(self, definition: GraphQLField, field_details_list: Any) -> dict[str, Any]:
        first = field_details_list[0]
        if not (definition.args or first.node.arguments):
            return {}
        return get_argument_values(
            definition, first.node, self.variable_values, first.fragment_variable_values, self.hide_suggestions
        )

    def complete_value(
        self,
        return_type: Any,
        field_details_list: Any,
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's ``complete_value``, dispatching on the exact type class, with an object whose type check
        passes executed straight away; anything else (errors included) takes graphql-core's path."""
        kind = type(return_type)
        if kind is GraphQLNonNull:
            nullable = return_type.of_type
            completed = self.complete_value(nullable, field_details_list, info, path, result, position_context)
            if completed is None:  # graphql-core raises its error
                return super().complete_value(return_type, field_details_list, info, path, result, position_context)
            return completed
        if result is None or result is Undefined or isinstance(result, Exception):
            return super().complete_value(return_type, field_details_list, info, path, result, position_context)
        if kind is GraphQLList:
            return self.complete_list_value(return_type, field_details_list, info, path, result, position_context)
        if kind is GraphQLObjectType and position_context is None and self._checks_synchronously(return_type):
            is_type_of = return_type.is_type_of
            if is_type_of is None or is_type_of(result, info) is True:
                grouped_field_set, defer_usages, _ = self.collect_subfields(return_type, field_details_list)
                if not defer_usages:
                    return self.execute_fields(return_type, result, path, grouped_field_set, None)
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)

    def _checks_synchronously(self, object_type: GraphQLObjectType) -> bool:
        """Whether the type's ``is_type_of`` (if any) answers at once: the short paths call it and, unless it says
        True, leave the object to graphql-core's path, which calls it again; an asynchronous check would leave a
        coroutine that nobody awaits. Worked out once per type and execution."""
        found = self._synchronous_checks.get(object_type.name)
        if found is None:
            is_type_of = object_type.is_type_of
            found = self._synchronous_checks[object_type.name] = is_type_of is None or not inspect.iscoroutinefunction(
                is_type_of
            )
        return found

    def complete_list_value(
        self,
        return_type: GraphQLList[Any],
        field_details_list: Any,
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        plain = self._plain_items(return_type, field_details_list, info, path, result, position_context)
        if plain is None:
            return super().complete_list_value(return_type, field_details_list, info, path, result, position_context)
        object_type, grouped_field_set = plain
        if not self._wrapped:
            key = (object_type, id(grouped_field_set))
            _, plan, leaves_only = self._plans.get(key) or self._plan(object_type, grouped_field_set)
            if leaves_only:
                rows = _leaf_rows(plan, result)
                if rows is not None:
                    return rows
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
            if type(value) is not dict and is_awaitable(value):
                awaitable_indices.append(index)
            completed.append(value)
        if not awaitable_indices:
            return completed
        return _awaited(completed, awaitable_indices)

    def _plain_items(
        self,
        return_type: GraphQLList[Any],
        field_details_list: Any,
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> tuple[GraphQLObjectType, Any] | None:
        """The object type of the items and their selection, when the list can take the short path (see the module's
        docstring)."""
        item_type = return_type.of_type
        if (
            type(item_type) is not GraphQLNonNull
            or type(item_type.of_type) is not GraphQLObjectType
            or type(result) not in (list, tuple)
            or position_context is not None
            or not self.error_propagation
            # @stream: validation lets only the first node of a field's nodes decide
            or (field_details_list[0].node.directives and self.get_stream_usage(field_details_list, path) is not None)
        ):
            return None
        object_type = item_type.of_type
        if not self._checks_synchronously(object_type):
            return None
        grouped_field_set, defer_usages, _ = self.collect_subfields(object_type, field_details_list)
        if defer_usages:
            return None
        is_awaitable = self.is_awaitable
        is_type_of = object_type.is_type_of
        for item in result:
            item_class = type(item)
            if item_class not in _SYNC_CLASSES:
                if is_awaitable(item):
                    return None
                if not hasattr(item_class, "__await__") and not hasattr(item_class, "__getattr__"):
                    _SYNC_CLASSES.add(item_class)
            if is_type_of is not None and is_type_of(item, info) is not True:
                return None  # graphql-core's path reports it (or awaits an asynchronous check)
        return object_type, grouped_field_set


def _ready_answer(field: GraphQLField) -> Any | None:
    """The field's ready answer (see ``READY_ANSWER``), if it has one and nothing else would run for it: a direct
    resolver and no arguments."""
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if definition is None or field.args or not getattr(field.resolve, DIRECT_RESOLVER, False):
        return None
    return (definition.metadata or {}).get(READY_ANSWER)


def _leaf_rows(plan: _Plan, items: Any) -> list[dict[str, Any]] | None:
    """The items of a list whose selected fields are all plain leaves (a tag's key and value), each a dict, in one
    loop: no path or ``execute_fields`` call per item. None on anything unusual (a null where the schema says non-null,
    a value that does not coerce): the list is then executed item by item, which reports it."""
    rows = []
    try:
        for item in items:
            row = {}
            for response_name, _, recipe in plan:
                value = recipe.read(item, recipe.attribute)  # type: ignore[union-attr]
                if value is None:
                    if not recipe.nullable:  # type: ignore[union-attr]
                        return None
                elif type(value) is not recipe.unchanged:  # type: ignore[union-attr]
                    value = recipe.coerce(value)  # type: ignore[union-attr]
                    if value is None or value is Undefined:
                        return None
                row[response_name] = value
            rows.append(row)
    except Exception:  # noqa: BLE001 - the item-by-item execution reports it, with path and location
        return None
    return rows


def _alive(executor: weakref.ref[PlainLeafExecutor]) -> PlainLeafExecutor:
    found = executor()
    if found is None:
        raise RuntimeError("the execution this resolver belonged to has ended")
    return found


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
