"""Aliases (set, move, delete, history) and resolving models:/ URIs."""

from sqlalchemy import text

from app.db.migrate import sync_engine

CREATE_VERSION = """
mutation($input: CreateModelVersionInput!) { createModelVersion(input: $input) { modelVersion { version } } }
"""
SET_ALIAS = """
mutation($input: SetModelAliasInput!) {
  setModelAlias(input: $input) {
    modelAlias { alias name version uri updatedBy { subject } modelVersion { version aliases { alias } } }
  }
}
"""
DELETE_ALIAS = """
mutation($input: DeleteModelAliasInput!) { deleteModelAlias(input: $input) { name alias } }
"""
MODEL_ALIASES = """
query { registeredModel(name: "m") { aliases { alias version } } }
"""
RESOLVE = """
query($uri: String!) { resolveModelUri(uri: $uri) { uri alias pinnedUri digest artifactUri modelVersion { version } } }
"""


async def seed(api, versions=3):
    for i in range(versions):
        await api.ok(CREATE_VERSION, {"input": {"name": "m", "createModelIfMissing": True, "artifact": {
            "uri": f"file:///m/{i + 1}", "digest": "sha256:" + str(i + 1) * 64}}})


def alias_history(database_url):
    engine = sync_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT alias, from_version, to_version, changed_by FROM model_alias_changes ORDER BY id")).all()
    engine.dispose()
    return [tuple(row) for row in rows]


async def test_alias_is_set_moved_and_deleted_with_history(api, database_url):
    await seed(api)
    data = await api.ok(SET_ALIAS, {"input": {"name": "m", "alias": "stable", "version": 1}}, sub="alice")
    assert data["setModelAlias"]["modelAlias"] == {
        "alias": "stable", "name": "m", "version": 1, "uri": "models:/m@stable", "updatedBy": {"subject": "alice"},
        "modelVersion": {"version": 1, "aliases": [{"alias": "stable"}]}}
    await api.ok(SET_ALIAS, {"input": {"name": "m", "alias": "stable", "version": 2}}, sub="bob")
    await api.ok(SET_ALIAS, {"input": {"name": "m", "alias": "stable", "version": 2}}, sub="bob")  # no-op
    await api.ok(SET_ALIAS, {"input": {"name": "m", "alias": "challenger", "version": 3}})
    assert (await api.ok(MODEL_ALIASES))["registeredModel"]["aliases"] == [
        {"alias": "challenger", "version": 3}, {"alias": "stable", "version": 2}]
    await api.ok(DELETE_ALIAS, {"input": {"name": "m", "alias": "challenger"}})
    assert alias_history(database_url) == [
        ("stable", None, 1, "alice"), ("stable", 1, 2, "bob"), ("challenger", None, 3, "tester"),
        ("challenger", 3, None, "tester")]
    error = await api.error(DELETE_ALIAS, {"input": {"name": "m", "alias": "challenger"}})
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_alias_to_unknown_version_is_not_found(api):
    await seed(api, 1)
    error = await api.error(SET_ALIAS, {"input": {"name": "m", "alias": "stable", "version": 7}})
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_resolve_each_uri_form(api, database_url):
    await seed(api)
    await api.ok(SET_ALIAS, {"input": {"name": "m", "alias": "stable", "version": 2}})
    engine = sync_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE model_versions SET stage = 'STAGING' WHERE version = 1"))
    engine.dispose()

    async def resolve(uri):
        return (await api.ok(RESOLVE, {"uri": uri}))["resolveModelUri"]

    assert (await resolve("models:/m/3"))["modelVersion"] == {"version": 3}
    assert (await resolve("models:/m/latest"))["pinnedUri"] == "models:/m/3"
    staging = await resolve("models:/m/Staging")
    assert (staging["pinnedUri"], staging["digest"], staging["artifactUri"]) == (
        "models:/m/1", "sha256:" + "1" * 64, "file:///m/1")
    stable = await resolve("models:/m@stable")
    assert (stable["alias"], stable["pinnedUri"]) == ("stable", "models:/m/2")


async def test_unresolvable_uris_say_why(api):
    await seed(api, 1)
    cases = {
        "models:/m/Production": "NOT_FOUND",
        "models:/m@nobody": "NOT_FOUND",
        "models:/m/9": "NOT_FOUND",
        "models:/ghost/1": "NOT_FOUND",
        "runs:/abc/model": "BAD_USER_INPUT",
        "models:/m/Prod": "BAD_USER_INPUT",
        "models:/m": "BAD_USER_INPUT",
    }
    for uri, code in cases.items():
        error = await api.error(RESOLVE, {"uri": uri})
        assert error["extensions"]["code"] == code, (uri, error)
