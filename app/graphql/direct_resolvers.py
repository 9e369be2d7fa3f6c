"""Resolvers called with less ceremony than Strawberry's general wrapper.

For every resolver field Strawberry's wrapper builds an ``Info``, converts the arguments through its general
machinery (even when there are none), builds a closure and an extension chain with ``functools.reduce``, and calls
the resolver through two more layers: about 16% of a catalogue page's CPU, whose relation fields (``tags``,
``aliases``, ``latestVersion``, ``metrics``) answer synchronously from what the page loaded ahead, and for a
mutation the conversion of its input, value by value (app/graphql/argument_conversion.py).

``install(schema)`` replaces that wrapper, once, for the fields where nothing in it applies: a resolver, synchronous
or not, with no field extension (permissions are extensions), no exception handler and no ``parent`` parameter,
that is not a subscription. The replacement calls the same function with the same values: the ``Info`` when the
resolver asks for one (built only then), the source as ``self`` or ``root``, and the arguments the query gave,
converted as Strawberry converts them, with converters worked out once per type. An asynchronous resolver's
coroutine is returned for graphql-core to await, as Strawberry's wrapper awaits it. Other fields keep Strawberry's
wrapper.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLField, GraphQLObjectType, GraphQLResolveInfo
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from .argument_conversion import ArgumentConverters, Convert


def _direct(
    definition: StrawberryField, schema: strawberry.Schema, converters: ArgumentConverters
) -> Callable[..., Any] | None:
    """A plain resolver for the field, or None when Strawberry's wrapper has work to do for it."""
    resolver = definition.base_resolver
    if (
        resolver is None
        or definition.extensions
        or definition.is_subscription
        or resolver.parent_parameter is not None
        or not callable(resolver.wrapped_func)
    ):
        return None
    function = resolver.wrapped_func
    info_name = resolver.info_parameter.name if resolver.info_parameter is not None else None
    takes_self = resolver.self_parameter is not None
    root_name = resolver.root_parameter.name if resolver.root_parameter is not None else None
    arguments = definition.arguments
    info_class = schema.config.info_class
    plan: list[tuple[str, str, Convert]] = []  # worked out on the first call, when every type is resolved

    def resolve(source: Any, info: GraphQLResolveInfo, **given: Any) -> Any:
        strawberry_info = info_class(_raw_info=info, _field=definition)
        kwargs = {}
        if given:
            if not plan:
                plan.extend(converters.plan(arguments))
            for graphql_name, python_name, convert in plan:
                if graphql_name in given:
                    kwargs[python_name] = convert(given[graphql_name], strawberry_info, (graphql_name,))
        if info_name is not None:
            kwargs[info_name] = strawberry_info
        if root_name is not None:
            kwargs[root_name] = source
        return function(source, **kwargs) if takes_self else function(**kwargs)

    def resolve_plain(source: Any, info: GraphQLResolveInfo) -> Any:
        if root_name is not None:
            return function(**{root_name: source})
        return function(source) if takes_self else function()

    # A resolver without an Info parameter or arguments needs neither an Info nor a conversion.
    return resolve if info_name is not None or arguments else resolve_plain


# Set on the resolvers ``install`` made: nothing but the field's own function runs for such a field.
DIRECT_RESOLVER = "_modelreg_direct"


def install(schema: strawberry.Schema) -> list[str]:
    """Give the eligible fields of every object type of ``schema`` a direct resolver; the names it changed."""
    if schema.schema_converter._exception_handler_specs:  # union results from exceptions: keep Strawberry's wrapper
        return []
    changed = []
    converters = ArgumentConverters(schema.schema_converter.scalar_registry, schema.config)
    for type_name, graphql_type in schema._schema.type_map.items():
        if not isinstance(graphql_type, GraphQLObjectType) or type_name.startswith("__"):
            continue
        for field_name, field in graphql_type.fields.items():
            direct = _direct_for(field, schema, converters)
            if direct is not None:
                setattr(direct, DIRECT_RESOLVER, True)
                field.resolve = direct
                changed.append(f"{type_name}.{field_name}")
    return changed


def _direct_for(
    field: GraphQLField, schema: strawberry.Schema, converters: ArgumentConverters
) -> Callable[..., Any] | None:
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField):
        return None
    return _direct(definition, schema, converters)
