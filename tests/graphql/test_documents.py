"""Parsing and validation are remembered per document text (app/graphql/documents.py): a repeated document is
neither parsed nor validated again, and a refused one is refused every time."""

from __future__ import annotations

from app.graphql import documents


async def test_a_repeated_document_is_validated_once(api):
    query = '{ registeredModel(name: "documents/remembered") { name description } }'
    await api.gql(query, token=api.token("auditor"))
    validated, parsed = documents._validate.cache_info(), documents._parse.cache_info()
    for _ in range(3):
        body = await api.gql(query, token=api.token("auditor"))
        assert body == {"data": {"registeredModel": None}}
    assert documents._validate.cache_info().misses == validated.misses
    assert documents._validate.cache_info().hits >= validated.hits + 3
    assert documents._parse.cache_info().misses == parsed.misses


async def test_an_invalid_document_is_refused_each_time(api):
    query = '{ registeredModel(name: "x") { noSuchField } }'
    for _ in range(2):
        body = await api.gql(query, token=api.token("auditor"))
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert "noSuchField" in body["errors"][0]["message"]
