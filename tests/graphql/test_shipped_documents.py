"""The GraphQL documents the project ships are valid against the schema: GraphiQL's default document and the
benchmarks' operations. A schema change that would break one fails here, not in a new user's first query or the
next person's measurement."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from graphql import parse, validate

from app.graphql.schema import schema

pytestmark = pytest.mark.backend_independent

MODULES = ["benchmarks.scenarios", "benchmarks.lineage_bench", "benchmarks.webhook_bench", "benchmarks.registry_bench"]


def documents() -> list[tuple[str, str]]:
    found = []
    for name in MODULES:
        module = importlib.import_module(name)
        for constant, value in vars(module).items():
            if constant.isupper() and isinstance(value, str) and value.lstrip().startswith(("query", "mutation")):
                found.append((f"{name}.{constant}", value))
    return found


GRAPHIQL = Path(__file__).resolve().parents[2] / "app" / "web" / "graphiql.js"


def graphiql_default_document() -> str:
    """DEFAULT_QUERY of graphiql.js: one JavaScript string per line, joined with newlines."""
    script = GRAPHIQL.read_text(encoding="utf-8")
    block = script[script.index("var DEFAULT_QUERY = ["):]
    block = block[: block.index("].join(")]
    lines = re.findall(r"^\s*'(.*)',?$", block, re.MULTILINE)
    return "\n".join(line.replace("' + TOKEN_COMMAND + '", "").replace("\\'", "'") for line in lines)


def test_graphiql_default_document_is_valid():
    document = graphiql_default_document()
    assert "query Overview" in document and "query Lineage" in document
    errors = validate(schema._schema, parse(document))
    assert not errors, [error.message for error in errors]


def test_there_are_documents_to_check():
    assert len(documents()) >= 8


@pytest.mark.parametrize(("where", "document"), documents(), ids=[where for where, _ in documents()])
def test_benchmark_document_is_valid(where, document):
    errors = validate(schema._schema, parse(document))
    assert not errors, f"{where}: {[error.message for error in errors]}"
