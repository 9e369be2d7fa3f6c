"""Strawberry's conversion of a field's arguments, worked out once per type.

Strawberry's ``convert_argument`` finds out for every value what its type is (Maybe, optional, list, scalar, enum,
input object), and for every input object its fields' GraphQL names and types, through some ten calls per value: a
``createModelVersion`` with its run, code, artifact, params, metrics and tags converts about 120 values that way.
``ArgumentConverters`` works that out once per type and keeps a function that converts a value of the type as
``convert_argument`` does. Values of the types it does not take apart (Maybe, input types with ``from_input``,
GlobalID, anything unexpected) are converted by Strawberry's own function, with the same path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING
from typing import Any

from strawberry.relay.types import GlobalID
from strawberry.schema.config import StrawberryConfig
from strawberry.types.arguments import (
    StrawberryArgument,
    _is_leaf_type,
    _is_optional_leaf_type,
    convert_argument,
)
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryOptional,
    has_object_definition,
)
from strawberry.types.enum import has_enum_definition
from strawberry.types.lazy_type import LazyType
from strawberry.types.unset import UNSET

# (value, info, path) -> the Python value
Convert = Callable[[Any, Any, tuple[str | int, ...]], Any]


def _as_is(value: Any, info: Any, path: tuple[str | int, ...]) -> Any:
    return value


def _copied_list(value: Any, info: Any, path: tuple[str | int, ...]) -> Any:
    # graphql-core gives the same default to every request that omits the value: a copy keeps changes to it local
    return value if value is None or value is UNSET else list(value)


class ArgumentConverters:
    """Converters of argument values by type, for one schema's scalars and configuration."""

    def __init__(self, scalar_registry: Mapping[object, Any], config: StrawberryConfig) -> None:
        self._scalars = scalar_registry
        self._config = config
        # by the type's identity, with the type kept alive beside its converter
        self._converters: dict[int, tuple[object, Convert]] = {}

    def plan(self, arguments: Sequence[StrawberryArgument]) -> list[tuple[str, str, Convert]]:
        """(GraphQL name, Python name, converter) of each argument."""
        name_of = self._config.name_converter.from_argument
        return [(name_of(argument), argument.python_name, self.converter(argument.type)) for argument in arguments]

    def converter(self, type_: Any) -> Convert:
        """The function converting a value of ``type_`` as Strawberry's ``convert_argument`` does."""
        found = self._converters.get(id(type_))
        if found is not None:
            return found[1]
        # a recursive input type meets itself while being worked out: it gets this forwarder until then
        worked_out: list[Convert] = []
        self._converters[id(type_)] = (type_, lambda value, info, path: worked_out[0](value, info, path))
        convert = self._work_out(type_)
        worked_out.append(convert)
        self._converters[id(type_)] = (type_, convert)
        return convert

    def _work_out(self, type_: Any) -> Convert:
        scalars, config = self._scalars, self._config

        def strawberrys(value: Any, info: Any, path: tuple[str | int, ...]) -> Any:
            return convert_argument(value, type_, scalars, config, info, path=path)

        if isinstance(type_, StrawberryMaybe):
            return strawberrys
        if isinstance(type_, StrawberryOptional):
            return self.converter(type_.of_type)  # the inner converters answer None with None
        if isinstance(type_, StrawberryList):
            items = type_.of_type
            skip = (GlobalID,)
            if _is_leaf_type(items, scalars, skip_classes=skip) or _is_optional_leaf_type(items, scalars, skip):
                return _copied_list
            return self._list(self.converter(items))
        if _is_leaf_type(type_, scalars):
            return strawberrys if type_ is GlobalID else _as_is
        if isinstance(type_, LazyType):
            return self.converter(type_.resolve_type())
        if has_enum_definition(type_):
            return self.converter(type_.__strawberry_definition__)
        if has_object_definition(type_) and type_.__strawberry_definition__.from_input is None:
            return self._input_object(type_)
        return strawberrys

    def _list(self, convert_item: Convert) -> Convert:
        def convert(value: Any, info: Any, path: tuple[str | int, ...]) -> Any:
            if value is None or value is UNSET:
                return value
            return [convert_item(item, info, (*path, index)) for index, item in enumerate(value)]

        return convert

    def _input_object(self, type_: Any) -> Convert:
        definition = type_.__strawberry_definition__
        # as Strawberry: input fields with no default are None unless given (graphql-core checked required ones)
        defaults = (
            {
                field.python_name: None
                for field in definition.fields
                if field.default_value is MISSING and field.default_factory is MISSING
            }
            if definition.is_input
            else {}
        )
        name_of = self._config.name_converter.from_field
        fields = [
            (name_of(field), field.python_name, self.converter(field.resolve_type(type_definition=definition)))
            for field in definition.fields
        ]

        def convert(value: Any, info: Any, path: tuple[str | int, ...]) -> Any:
            if value is None or value is UNSET:
                return value
            kwargs = dict(defaults)
            for graphql_name, python_name, convert_field in fields:
                if graphql_name in value:
                    kwargs[python_name] = convert_field(value[graphql_name], info, (*path, graphql_name))
            return type_(**kwargs)

        return convert
