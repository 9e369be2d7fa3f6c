"""ModelAlias and ModelDocument are Nodes: their global ids are stable and `node(id:)` finds them, behind
registry:read; a version lists its aliases as ModelAlias objects."""

from __future__ import annotations

import pytest

from app.domain.public_ids import alias_id, split_alias_key
from app.graphql.relay import from_global_id, split_global_id, to_global_id

CREATE_VERSION = """
mutation($name: String!) { createModelVersion(input: {name: $name, createModelIfMissing: true}) {
  modelVersion { version } } }
"""
SET_ALIAS = """
mutation($name: String!, $alias: String!, $version: Int!) {
  setModelAlias(input: {name: $name, alias: $alias, version: $version}) { modelAlias { id alias version } }
}
"""
DELETE_ALIAS = """
mutation($name: String!, $alias: String!) { deleteModelAlias(input: {name: $name, alias: $alias}) { alias } }
"""
ALIASES = """
query($name: String!) {
  registeredModel(name: $name) {
    aliases { id alias }
    versions(first: 10) { nodes { version aliases { id alias version modelVersion { version } } } }
  }
}
"""
ATTACH = """
mutation($name: String!, $version: Int!, $title: String!) {
  attachDocument(input: {name: $name, version: $version, kind: MODEL_CARD, title: $title, markdown: "# card"}) {
    modelDocument { id revision }
  }
}
"""
NODE = """
query($id: ID!) {
  node(id: $id) {
    __typename id
    ... on ModelAlias { alias name version uri updatedBy { subject } modelVersion { uri } }
    ... on ModelDocument { kind title revision createdBy { subject } modelVersion { uri } }
  }
}
"""


async def versions(api, name: str, count: int) -> None:
    for _ in range(count):
        await api.ok(CREATE_VERSION, {"name": name})


async def set_alias(api, name: str, alias: str, version: int, sub: str = "tester") -> dict:
    return (await api.ok(SET_ALIAS, {"name": name, "alias": alias, "version": version}, sub=sub))["setModelAlias"][
        "modelAlias"]


async def test_an_alias_keeps_its_id_when_it_moves_and_node_finds_it(api):
    await versions(api, "m", 2)
    await versions(api, "other", 1)
    first = await set_alias(api, "m", "winner", 1)
    moved = await set_alias(api, "m", "winner", 2, sub="bob")
    assert moved["id"] == first["id"]
    challenger = await set_alias(api, "m", "challenger", 1)
    elsewhere = await set_alias(api, "other", "winner", 1)
    assert len({first["id"], challenger["id"], elsewhere["id"]}) == 3
    found = (await api.ok(NODE, {"id": first["id"]}, "auditor"))["node"]
    assert found == {"__typename": "ModelAlias", "id": first["id"], "alias": "winner", "name": "m", "version": 2,
                     "uri": "models:/m@winner", "updatedBy": {"subject": "bob"},
                     "modelVersion": {"uri": "models:/m/2"}}
    await api.ok(DELETE_ALIAS, {"name": "m", "alias": "winner"})
    assert (await api.ok(NODE, {"id": first["id"]}))["node"] is None


async def test_a_version_lists_its_aliases_as_objects_with_the_models_ids(api):
    await versions(api, "m", 2)
    for alias, version in (("stable", 1), ("winner", 2), ("beta", 2)):
        await set_alias(api, "m", alias, version)
    model = (await api.ok(ALIASES, {"name": "m"}))["registeredModel"]
    by_name = {a["alias"]: a["id"] for a in model["aliases"]}
    assert [a["alias"] for a in model["aliases"]] == ["beta", "stable", "winner"]
    listed = {v["version"]: v["aliases"] for v in model["versions"]["nodes"]}
    assert listed[2] == [{"id": by_name["beta"], "alias": "beta", "version": 2, "modelVersion": {"version": 2}},
                         {"id": by_name["winner"], "alias": "winner", "version": 2,
                          "modelVersion": {"version": 2}}]
    assert listed[1] == [{"id": by_name["stable"], "alias": "stable", "version": 1, "modelVersion": {"version": 1}}]


async def test_node_finds_a_document(api):
    await versions(api, "m", 1)
    first = (await api.ok(ATTACH, {"name": "m", "version": 1, "title": "Card"}, sub="dana"))["attachDocument"]
    second = (await api.ok(ATTACH, {"name": "m", "version": 1, "title": "Card"}))["attachDocument"]
    assert first["modelDocument"]["id"] != second["modelDocument"]["id"]
    found = (await api.ok(NODE, {"id": first["modelDocument"]["id"]}, "auditor"))["node"]
    assert found == {"__typename": "ModelDocument", "id": first["modelDocument"]["id"], "kind": "MODEL_CARD",
                     "title": "Card", "revision": 1, "createdBy": {"subject": "dana"},
                     "modelVersion": {"uri": "models:/m/1"}}
    _, key = from_global_id(second["modelDocument"]["id"])
    assert (await api.ok(NODE, {"id": to_global_id("ModelDocument", key + 1)}))["node"] is None


@pytest.mark.parametrize("kind", ["alias", "document"])
async def test_node_of_an_alias_or_document_needs_registry_read(api, kind):
    await versions(api, "m", 1)
    if kind == "alias":
        node_id = (await set_alias(api, "m", "stable", 1))["id"]
    else:
        node_id = (await api.ok(ATTACH, {"name": "m", "version": 1, "title": "Card"}))["attachDocument"]["modelDocument"][
            "id"]
    denied = await api.error(NODE, {"id": node_id}, "nobody")
    assert denied["extensions"]["code"] == "FORBIDDEN" and "registry:read" in denied["message"]


@pytest.mark.backend_independent
def test_alias_ids_name_their_model_and_alias_exactly():
    """An alias id carries its model's key and its name, so two aliases never share one."""
    assert alias_id(7, "winner") == alias_id(7, "winner")
    assert len({alias_id(7, "winner"), alias_id(8, "winner"), alias_id(7, "challenger")}) == 3
    type_name, key = split_global_id(alias_id(2**63 - 1, "x@y" + "z" * 60))
    assert type_name == "ModelAlias" and split_alias_key(key) == (2**63 - 1, "x@y" + "z" * 60)
    assert split_alias_key("7") is None and split_alias_key("x@winner") is None and split_alias_key("7@") is None


async def test_an_alias_id_that_names_nothing_is_refused_or_null(api):
    await versions(api, "m", 1)
    assert (await api.ok(NODE, {"id": alias_id(999, "stable")}))["node"] is None
    refused = await api.error(NODE, {"id": to_global_id("ModelAlias", "not-a-key")})
    assert refused["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}