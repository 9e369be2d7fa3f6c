"""The API is frozen at 1.0: the schema the code builds may add to every released schema in releases/, never
break it (graphql-core's find_breaking_changes: a removed or renamed type, field, argument or enum value, a
changed type, a new required argument or input field...). Changes go through `@deprecated` and are recorded in
docs/api-changelog.md; docs/api-conventions.md says how to release a new minor version."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from graphql import build_schema, find_breaking_changes, find_dangerous_changes

from app.graphql.schema import schema

pytestmark = pytest.mark.backend_independent

RELEASES = Path(__file__).resolve().parents[2] / "releases"


def released() -> list[Path]:
    return sorted(RELEASES.glob("schema-*.graphql"))


def describe(changes: list) -> str:
    return "\n".join(f"  {change.type.name}: {change.description}" for change in changes)


# A released schema never changes: clients were built on it. A new release adds its file and its digest here.
RELEASED_DIGESTS = {
    "schema-1.0.graphql": "72960c491e09b2caa181367765c16752709fe31da506a412e3708e6b9df332e6",
}


def test_version_1_0_is_released():
    assert RELEASES / "schema-1.0.graphql" in released()


def test_released_schemas_are_never_edited():
    found = {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in released()}
    assert found == RELEASED_DIGESTS, "a file in releases/ was edited, added or removed without its digest here"


@pytest.mark.parametrize("release", released(), ids=lambda path: path.stem)
def test_the_schema_does_not_break_a_released_one(release):
    breaking = find_breaking_changes(build_schema(release.read_text(encoding="utf-8")), schema._schema)
    assert not breaking, (
        f"breaking changes against {release.name} (clients built on it would fail); make them additive or "
        f"deprecate instead:\n{describe(breaking)}"
    )


def test_the_check_fails_on_a_removed_field():
    """The comparison is wired to the real schema: dropping one field of it is reported."""
    current = schema.as_str()
    viewer = re.search(r'\n  """[^"]*"""\n  viewer: Viewer\n', current)
    assert viewer, "Query.viewer with its description"
    without_viewer = build_schema(current.replace(viewer.group(0), "\n", 1))
    breaking = find_breaking_changes(schema._schema, without_viewer)
    assert [change.description for change in breaking] == ["Field Query.viewer was removed."]


def test_dangerous_changes_are_only_additions():
    """Dangerous (not breaking) changes are allowed if additive; a changed default value changes what existing
    calls do, so it is refused too."""
    allowed = {"VALUE_ADDED_TO_ENUM", "OPTIONAL_ARG_ADDED", "OPTIONAL_INPUT_FIELD_ADDED", "TYPE_ADDED_TO_UNION",
               "IMPLEMENTED_INTERFACE_ADDED"}
    for release in released():
        dangerous = find_dangerous_changes(build_schema(release.read_text(encoding="utf-8")), schema._schema)
        unexpected = [change for change in dangerous if change.type.name not in allowed]
        assert not unexpected, f"against {release.name}:\n{describe(unexpected)}"
