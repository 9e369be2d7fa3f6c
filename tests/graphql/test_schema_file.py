"""schema.graphql at the repository root is the exported schema; this fails when it drifts from the code."""

from pathlib import Path

import pytest
from graphql import build_schema as parse_sdl
from graphql.utilities import find_breaking_changes, find_dangerous_changes

from app.graphql.schema import schema

pytestmark = pytest.mark.backend_independent

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_exported_schema_matches_code():
    exported = SCHEMA_FILE.read_text(encoding="utf-8")
    assert exported == schema.as_str() + "\n", (
        "schema.graphql is out of date: run `modelreg export-schema --output schema.graphql`"
    )


def test_exported_schema_is_valid_sdl():
    parsed = parse_sdl(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert not find_breaking_changes(parsed, schema._schema)
    assert not find_dangerous_changes(parsed, schema._schema)


def test_every_type_field_argument_and_enum_value_is_described():
    """GraphiQL is the manual: nothing in our schema may lack a description."""
    missing = []
    for name, graphql_type in schema._schema.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Float", "Boolean", "ID", "DateTime", "JSON"}:
            continue
        if not graphql_type.description:
            missing.append(name)
        for field_name, field in getattr(graphql_type, "fields", {}).items():
            if not field.description:
                missing.append(f"{name}.{field_name}")
            for arg_name, arg in getattr(field, "args", {}).items():
                if not arg.description:
                    missing.append(f"{name}.{field_name}({arg_name})")
        for value_name, value in getattr(graphql_type, "values", {}).items():
            if not value.description:
                missing.append(f"{name}.{value_name}")
    assert not missing, f"undescribed schema elements: {missing}"
