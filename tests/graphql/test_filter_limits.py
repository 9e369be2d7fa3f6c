"""A filter with more tag or metric conditions than a screen would ask for is BAD_USER_INPUT: on SQLite about
1,000 metric conditions (within the request's list limit) answered INTERNAL ("Expression tree is too large")."""

from __future__ import annotations

import pytest

from app.domain.queries import MAX_FILTER_CONDITIONS
from tests.graphql.test_schema_coverage import error, ok, seed

VERSIONS = "query($f: ModelVersionFilter) { modelVersions(filter: $f) { totalCount } }"
MODELS = "query($f: RegisteredModelFilter) { registeredModels(filter: $f) { totalCount } }"


def metrics(count: int) -> list[dict]:
    return [{"name": f"m{i}", "gte": 0.5} for i in range(count)]


def tags(count: int) -> list[dict]:
    return [{"key": f"k{i}"} for i in range(count)]


@pytest.mark.parametrize(("document", "field", "conditions"), [
    (VERSIONS, "metrics", metrics), (VERSIONS, "tags", tags), (MODELS, "tags", tags)])
async def test_filter_conditions_are_bounded(api, document, field, conditions):
    await seed(api)
    assert await ok(api, document, {"f": {field: conditions(MAX_FILTER_CONDITIONS)}}, "data-scientist")
    refused = await error(api, document, {"f": {field: conditions(999)}}, "data-scientist")
    assert refused["extensions"] == {"code": "BAD_USER_INPUT", "field": f"filter.{field}"}, refused
    assert f"at most {MAX_FILTER_CONDITIONS}" in refused["message"]
