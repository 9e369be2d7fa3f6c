"""DateTime inputs that have no UTC equivalent (issue 20, point 4): every DateTime argument and input field is
BAD_USER_INPUT naming what was wrong, in a variable or a literal, never INTERNAL; extreme times that do exist
in UTC work."""

from __future__ import annotations

import pytest
from graphql import GraphQLInputObjectType, GraphQLObjectType, get_named_type

from app.graphql.schema import schema
from tests.graphql.test_schema_coverage import gql, ok

CREATE_MODEL = 'mutation { createRegisteredModel(input: {name: "m"}) { registeredModel { name } } }'
STAGE_AT = 'query($t: DateTime!) { registeredModel(name: "m") { stageAt(time: $t) { totalCount } } }'
ALIAS_AT = 'query($t: DateTime!) { registeredModel(name: "m") { aliasAt(alias: "champion", time: $t) { version } } }'
MODELS_CREATED_AFTER = "query($t: DateTime) { registeredModels(filter: {createdAfter: $t}) { totalCount } }"
MODELS_CREATED_BEFORE = "query($t: DateTime) { registeredModels(filter: {createdBefore: $t}) { totalCount } }"
VERSIONS_CREATED_AFTER = "query($t: DateTime) { modelVersions(filter: {createdAfter: $t}) { totalCount } }"
VERSIONS_CREATED_BEFORE = "query($t: DateTime) { modelVersions(filter: {createdBefore: $t}) { totalCount } }"
AUDIT_FROM = "query($t: DateTime) { auditEvents(filter: {from: $t}) { totalCount } }"
AUDIT_TO = "query($t: DateTime) { auditEvents(filter: {to: $t}) { totalCount } }"
RUN_STARTED = """mutation($t: DateTime) { registerRun(input: {runId: "r1", startedAt: $t}) { run { runId } } }"""
RUN_ENDED = """mutation($t: DateTime) { registerRun(input: {runId: "r2", endedAt: $t}) { run { runId } } }"""

# Schema coordinate of every DateTime input -> a document passing $t there.
CASES = {
    "RegisteredModel.stageAt(time:)": STAGE_AT,
    "RegisteredModel.aliasAt(time:)": ALIAS_AT,
    "RegisteredModelFilter.createdAfter": MODELS_CREATED_AFTER,
    "RegisteredModelFilter.createdBefore": MODELS_CREATED_BEFORE,
    "ModelVersionFilter.createdAfter": VERSIONS_CREATED_AFTER,
    "ModelVersionFilter.createdBefore": VERSIONS_CREATED_BEFORE,
    "AuditEventFilter.from": AUDIT_FROM,
    "AuditEventFilter.to": AUDIT_TO,
    "RegisterRunInput.startedAt": RUN_STARTED,
    "RegisterRunInput.endedAt": RUN_ENDED,
}
NOT_IN_UTC = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:00:00-01:00"]
EXTREME_BUT_FINE = ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00"]


def datetime_inputs() -> set[str]:
    """Every argument and input field of the exported schema whose type is DateTime."""
    found = set()
    for name, kind in schema._schema.type_map.items():
        if name.startswith("__"):
            continue
        if isinstance(kind, GraphQLObjectType):
            for field_name, field in kind.fields.items():
                for arg_name, arg in field.args.items():
                    if get_named_type(arg.type).name == "DateTime":
                        found.add(f"{name}.{field_name}({arg_name}:)")
        elif isinstance(kind, GraphQLInputObjectType):
            for field_name, field in kind.fields.items():
                if get_named_type(field.type).name == "DateTime":
                    found.add(f"{name}.{field_name}")
    return found


@pytest.mark.backend_independent
def test_every_datetime_input_of_the_schema_has_a_case_here():
    assert datetime_inputs() == set(CASES), "a new DateTime input: add its document to CASES"


@pytest.mark.parametrize("moment", NOT_IN_UTC)
@pytest.mark.parametrize("coordinate", sorted(CASES))
async def test_a_time_without_a_utc_equivalent_is_bad_user_input(api, coordinate, moment):
    await ok(api, CREATE_MODEL)
    document = CASES[coordinate]
    body = await gql(api, document, {"t": moment}, "mlops", "auditor")
    assert body.get("data") is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert "$t" in error["message"] and "UTC" in error["message"], error["message"]
    literal = document.replace("$t", f'"{moment}"').split("{", 1)[1]
    body = await gql(api, "query {" + literal if document.startswith("query") else "mutation {" + literal,
                     None, "mlops", "auditor")
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "UTC" in error["message"], error


@pytest.mark.parametrize("moment", EXTREME_BUT_FINE)
async def test_extreme_times_that_exist_in_utc_are_answered(api, moment):
    await ok(api, CREATE_MODEL)
    for coordinate in sorted(CASES):
        body = await gql(api, CASES[coordinate], {"t": moment}, "mlops", "auditor")
        assert not body.get("errors"), (coordinate, body)
