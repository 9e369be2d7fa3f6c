"""Registered models: create, update, tags, listing with filters, ordering and cursors."""

CREATE_MODEL = """
mutation($input: CreateRegisteredModelInput!) {
  createRegisteredModel(input: $input) {
    registeredModel { id name description owner createdBy { subject } tags { key value } uri }
  }
}
"""
UPDATE_MODEL = """
mutation($input: UpdateRegisteredModelInput!) {
  updateRegisteredModel(input: $input) { registeredModel { description owner updatedAt createdAt } }
}
"""
SET_TAG = """
mutation($input: SetRegisteredModelTagInput!) {
  setRegisteredModelTag(input: $input) { registeredModel { tags { key value } } }
}
"""
DELETE_TAG = """
mutation($input: DeleteRegisteredModelTagInput!) {
  deleteRegisteredModelTag(input: $input) { registeredModel { tags { key value } } }
}
"""
LIST_MODELS = """
query($filter: RegisteredModelFilter, $orderBy: RegisteredModelOrder, $first: Int!, $after: String) {
  registeredModels(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount
    edges { cursor node { name owner } }
    pageInfo { hasNextPage endCursor hasPreviousPage }
  }
}
"""
GET_MODEL = """
query($name: String!) { registeredModel(name: $name) { name description tags { key value } } }
"""
NODE = """
query($id: ID!) { node(id: $id) { id __typename ... on RegisteredModel { name } } }
"""


async def create(api, name, **extra):
    data = await api.ok(CREATE_MODEL, {"input": {"name": name, **extra}}, "data-scientist", sub="alice")
    return data["createRegisteredModel"]["registeredModel"]


BY_NAME = {"field": "NAME", "direction": "ASC"}


async def names(api, first=100, **variables):
    """Model names in a listing, alphabetical unless ``orderBy`` says otherwise."""
    data = await api.ok(LIST_MODELS, {"first": first, "orderBy": BY_NAME, **variables})
    return [edge["node"]["name"] for edge in data["registeredModels"]["edges"]]


async def test_create_sets_owner_to_creator_and_keeps_tags(api):
    model = await create(api, "fraud/scorer", description="Scores card payments",
                         tags=[{"key": "team", "value": "risk"}])
    assert model["owner"] == model["createdBy"]["subject"] == "alice"
    assert model["tags"] == [{"key": "team", "value": "risk"}]
    assert model["uri"] == "models:/fraud/scorer/latest"
    assert (await api.ok(NODE, {"id": model["id"]}))["node"] == {
        "id": model["id"], "__typename": "RegisteredModel", "name": "fraud/scorer"}


async def test_owner_can_be_given_and_changed(api):
    assert (await create(api, "m", owner="team-risk"))["owner"] == "team-risk"
    updated = (await api.ok(UPDATE_MODEL, {"input": {"name": "m", "description": "new", "owner": "bob"}}))
    model = updated["updateRegisteredModel"]["registeredModel"]
    assert (model["description"], model["owner"]) == ("new", "bob")
    assert model["updatedAt"] >= model["createdAt"]


async def test_tags_are_set_overwritten_and_deleted(api):
    await create(api, "m")
    await api.ok(SET_TAG, {"input": {"name": "m", "key": "team", "value": "a"}})
    data = await api.ok(SET_TAG, {"input": {"name": "m", "key": "team", "value": "b"}})
    assert data["setRegisteredModelTag"]["registeredModel"]["tags"] == [{"key": "team", "value": "b"}]
    data = await api.ok(DELETE_TAG, {"input": {"name": "m", "key": "team"}})
    assert data["deleteRegisteredModelTag"]["registeredModel"]["tags"] == []
    error = await api.error(DELETE_TAG, {"input": {"name": "m", "key": "team"}})
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_missing_model_reads_as_null(api):
    assert (await api.ok(GET_MODEL, {"name": "nope"}))["registeredModel"] is None


async def test_name_filters_exact_prefix_and_contains(api):
    for name in ["fraud/scorer", "fraud/explainer", "churn/Scorer", "fraudster"]:
        await create(api, name)
    assert await names(api, filter={"name": {"equals": "fraud/scorer"}}) == ["fraud/scorer"]
    assert await names(api, filter={"name": {"prefix": "fraud/"}}) == ["fraud/explainer", "fraud/scorer"]
    assert await names(api, filter={"name": {"contains": "SCORER"}}) == ["churn/Scorer", "fraud/scorer"]
    assert await names(api, filter={"name": {"prefix": "fraud", "contains": "ster"}}) == ["fraudster"]


async def test_tag_owner_and_creator_filters(api):
    await create(api, "a", tags=[{"key": "team", "value": "risk"}, {"key": "tier", "value": "1"}])
    await create(api, "b", tags=[{"key": "team", "value": "growth"}], owner="bob")
    await create(api, "c")
    assert await names(api, filter={"tags": [{"key": "team"}]}) == ["a", "b"]
    assert await names(api, filter={"tags": [{"key": "team", "value": "risk"}, {"key": "tier"}]}) == ["a"]
    assert await names(api, filter={"owner": "bob"}) == ["b"]
    assert await names(api, filter={"createdBy": "alice"}) == ["a", "b", "c"]
    assert await names(api, filter={"createdAfter": "2000-01-01T00:00:00Z", "createdBefore": "2000-01-02T00:00:00"}) == []
    assert await names(api, filter={"createdAfter": "2000-01-01T00:00:00"}) == ["a", "b", "c"]


async def test_cursor_pagination_walks_every_model_once_in_order(api):
    for i in range(7):
        await create(api, f"m{i}")
    seen, after, pages = [], None, 0
    while True:
        data = (await api.ok(LIST_MODELS, {"first": 3, "after": after,
                                           "orderBy": {"field": "NAME", "direction": "DESC"}}))["registeredModels"]
        assert data["totalCount"] == 7
        assert data["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += [edge["node"]["name"] for edge in data["edges"]]
        pages += 1
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert seen == [f"m{i}" for i in reversed(range(7))]
    assert pages == 3


async def test_ordering_by_creation_time(api):
    for name in ["b", "a", "c"]:
        await create(api, name)
    ordered = await names(api, orderBy={"field": "CREATED_AT", "direction": "ASC"})
    assert ordered == ["b", "a", "c"]
    assert await names(api, orderBy={"field": "CREATED_AT", "direction": "DESC"}) == ["c", "a", "b"]
