"""Parsing and validation of GraphQL documents, each remembered per document text.

One extension instead of Strawberry's four (``MaxTokensLimiter``, ``ParserCache``, ``AddValidationRules``,
``ValidationCache``): Strawberry builds every extension per request and enters each one's hooks, so four did four
times the bookkeeping for one job (about 60 us of a 170 us ``{ __typename }`` execution).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence

from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

_KEPT = 1000  # documents (and validations) remembered, least recently used first out


@functools.lru_cache(maxsize=_KEPT)
def _parse(query: str, max_tokens: int) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


@functools.lru_cache(maxsize=_KEPT)
def _validate(
    schema: GraphQLSchema, query: str, max_tokens: int, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    # Keyed by the document's text, not its tree: a tree's hash walks every node (25 us for get model's).
    return validate_document(schema, _parse(query, max_tokens), rules)  # Strawberry's: graphql-core's rules and its own


class CachedDocuments(SchemaExtension):
    """Parses with a token limit and validates with the schema's rules plus ``rules``; both remembered, so a
    repeated query is neither parsed nor validated again. A refused document raises as the parser raises."""

    def __init__(self, rules: Sequence[type[ASTValidationRule]], max_tokens: int) -> None:
        super().__init__()
        self.rules = tuple(rules)
        self.max_tokens = max_tokens

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None:  # no query: Strawberry reports it
            context.graphql_document = _parse(context.query, self.max_tokens)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.query is not None and context.graphql_document is not None  # parsed from it (on_parse)
        context.pre_execution_errors = _validate(
            context.schema._schema, context.query, self.max_tokens, context.validation_rules + self.rules
        )
        yield
