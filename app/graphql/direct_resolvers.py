"""Synchronous resolvers called with less ceremony than Strawberry's general wrapper.

For every resolver field Strawberry's wrapper builds an ``Info``, converts the arguments through its general
machinery (even when there are none), builds a closure and an extension chain with ``functools.reduce``, and calls
the resolver through two more layers: about 16% of a catalogue page's CPU, whose relation fields (``tags``,
``aliases``, ``latestVersion``, ``metrics``) answer synchronously from what the page loaded ahead.

``install(schema)`` replaces that wrapper, once, for the fields where nothing in it applies: a synchronous resolver
with no field extension (permissions are extensions), no exception handler and no ``parent`` parameter. The
replacement calls the same function with the same values: the ``Info`` when the resolver asks for one (built only
then), the source as ``self`` or ``root``, and the arguments converted by Strawberry's own ``convert_arguments``
when the query gave any other than nulls (``latestVersion``'s ``stage`` defaults to one): those
are None. Other fields keep Strawberry's wrapper.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLField, GraphQLObjectType, GraphQLResolveInfo
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_arguments
from strawberry.types.base import StrawberryMaybe
from strawberry.types.field import StrawberryField


def _direct(definition: StrawberryField, schema: strawberry.Schema) -> Callable[..., Any] | None:
    """A plain resolver for the field, or None when Strawberry's wrapper has work to do for it."""
    resolver = definition.base_resolver
    if (
        resolver is None
        or definition.is_async
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
    config = schema.config
    scalars = schema.schema_converter.scalar_registry
    # Strawberry converts a null to None for every argument type but Maybe; such nulls need no conversion
    python_names = {config.name_converter.from_argument(argument): argument.python_name for argument in arguments}
    nulls_are_none = not any(isinstance(argument.type, StrawberryMaybe) for argument in arguments)

    def resolve(source: Any, info: GraphQLResolveInfo, **given: Any) -> Any:
        strawberry_info = info_class(_raw_info=info, _field=definition)
        if not given:
            kwargs = {}
        elif nulls_are_none and all(value is None for value in given.values()):
            kwargs = {python_names[name]: None for name in given}
        else:
            kwargs = convert_arguments(given, arguments, scalar_registry=scalars, config=config, info=strawberry_info)
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


def install(schema: strawberry.Schema) -> list[str]:
    """Give the eligible fields of every object type of ``schema`` a direct resolver; the names it changed."""
    if schema.schema_converter._exception_handler_specs:  # union results from exceptions: keep Strawberry's wrapper
        return []
    changed = []
    for type_name, graphql_type in schema._schema.type_map.items():
        if not isinstance(graphql_type, GraphQLObjectType) or type_name.startswith("__"):
            continue
        for field_name, field in graphql_type.fields.items():
            direct = _direct_for(field, schema)
            if direct is not None:
                field.resolve = direct
                changed.append(f"{type_name}.{field_name}")
    return changed


def _direct_for(field: GraphQLField, schema: strawberry.Schema) -> Callable[..., Any] | None:
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField):
        return None
    return _direct(definition, schema)
