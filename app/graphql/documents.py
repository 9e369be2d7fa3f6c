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
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    return validate_document(schema, document, rules)  # Strawberry's: the graphql-core rules and its own


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
        assert context.graphql_document is not None
        context.pre_execution_errors = _validate(
            context.schema._schema, context.graphql_document, context.validation_rules + self.rules
        )
        yield
