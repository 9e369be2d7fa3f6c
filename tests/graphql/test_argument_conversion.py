"""``ArgumentConverters`` (app/graphql/argument_conversion.py) convert every input type of the registry's schema as
Strawberry's ``convert_argument`` does: values built from each type's definition (every field given, only the
required ones, explicit nulls), coerced by graphql-core as a request's variables are, then converted both ways."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    coerce_input_value,
)
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_argument

from app.graphql.argument_conversion import ArgumentConverters
from app.graphql.schema import schema

GRAPHQL_SCHEMA = schema._schema
SCALARS = schema.schema_converter.scalar_registry
INPUT_TYPES = sorted(
    name
    for name, graphql_type in GRAPHQL_SCHEMA.type_map.items()
    if isinstance(graphql_type, GraphQLInputObjectType) and not name.startswith("__")
)
SAMPLES: list[Any] = ["text-1", 3, 2.5, True, "2026-12-07T12:00:00+00:00", {"a": [1, "b"]}, "TW9kZWxWZXJzaW9uOjE="]


def _scalar(scalar: GraphQLScalarType) -> Any:
    for sample in SAMPLES:
        try:
            scalar.parse_value(sample)
        except Exception:  # noqa: BLE001, S112 - not a value of this scalar: try the next one
            continue
        return sample
    raise AssertionError(f"no sample value for {scalar.name}")


def _value(graphql_type: Any, *, everything: bool, depth: int = 0) -> Any:
    """A JSON value of ``graphql_type``: every field given (``everything``) or only the required ones."""
    if isinstance(graphql_type, GraphQLNonNull):
        return _value(graphql_type.of_type, everything=everything, depth=depth)
    if isinstance(graphql_type, GraphQLList):
        return [_value(graphql_type.of_type, everything=everything, depth=depth) for _ in range(2)]
    if isinstance(graphql_type, GraphQLEnumType):
        return next(iter(graphql_type.values))
    if isinstance(graphql_type, GraphQLScalarType):
        return _scalar(graphql_type)
    value = {}
    for name, field in graphql_type.fields.items():
        required = isinstance(field.type, GraphQLNonNull) and field.default_value is not None
        if required or (everything and depth < 3):
            value[name] = _value(field.type, everything=everything, depth=depth + 1)
        elif everything:
            value[name] = None  # an explicit null, deep down
    return value


def _origin(name: str) -> Any:
    definition = GRAPHQL_SCHEMA.type_map[name].extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
    return definition.origin


@pytest.mark.parametrize("name", INPUT_TYPES)
@pytest.mark.parametrize("everything", [True, False], ids=["every-field", "required-fields"])
def test_converts_as_strawberry_does(name, everything):
    graphql_type = GRAPHQL_SCHEMA.type_map[name]
    try:
        raw = coerce_input_value(_value(graphql_type, everything=everything), graphql_type)
    except Exception as error:  # noqa: BLE001 - a oneOf input or a value rule the sample breaks: nothing to compare
        pytest.skip(f"no sample value: {error}")
    origin = _origin(name)
    converters = ArgumentConverters(SCALARS, schema.config)
    ours = converters.converter(origin)(raw, None, ("input",))
    strawberrys = convert_argument(raw, origin, SCALARS, schema.config, None, path=("input",))
    assert ours == strawberrys
    assert type(ours) is type(strawberrys)


def test_most_input_types_are_compared():
    """The sample values suit the schema: a change that made most of them skip would make the test above vacuous."""
    compared = 0
    for name in INPUT_TYPES:
        graphql_type = GRAPHQL_SCHEMA.type_map[name]
        try:
            coerce_input_value(_value(graphql_type, everything=True), graphql_type)
        except Exception:  # noqa: BLE001, S112
            continue
        compared += 1
    assert compared >= 0.9 * len(INPUT_TYPES) and compared > 30


def test_a_null_and_an_omitted_list_are_kept_apart():
    converters = ArgumentConverters(SCALARS, schema.config)
    tag_list = next(
        argument.type for argument in _origin("CreateModelVersionInput").__strawberry_definition__.fields
        if argument.python_name == "tags"
    )
    convert = converters.converter(tag_list)
    assert convert(None, None, ()) is None
    raw = [{"key": "a", "value": "b"}]
    assert convert(raw, None, ()) == convert_argument(raw, tag_list, SCALARS, schema.config, None)
