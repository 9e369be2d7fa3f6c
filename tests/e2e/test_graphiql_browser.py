"""GraphiQL in headless Chromium against a real server: offline assets, the token bar, the default query.

Drives Debian's /usr/bin/chromium with playwright-core from node_modules (tests/js/graphiql_check.mjs).
Needs `npm ci` and `python scripts/build_web_assets.py`; anything missing is a failure, never a skip.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx
import pytest

from app.auth import dev_issuer
from tests.support.browser import ROOT, drive, require_browser_tools
from tests.support.live_server import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


REGISTER_VERSION = """
mutation RegisterVersion($input: CreateModelVersionInput!) {
  createModelVersion(input: $input) { modelVersion { uri } }
}
"""


def assert_offline(report: dict[str, Any]) -> None:
    """Every request went to the server under test; the page threw nothing."""
    assert report["external"] == [], f"requests to non-loopback hosts: {report['external']}"
    assert all("//127.0.0.1:" in request for request in report["requests"]), report["requests"]
    problems = report["pageErrors"] + report["consoleErrors"]
    assert problems == [], f"errors in the page: {problems}"


def test_default_query_shows_the_registered_model(live_server: LiveServer, tmp_path_factory):
    require_browser_tools("graphiql.min.js")
    token = dev_issuer.mint_token(live_server.data_dir, subject="alice", roles=["data-scientist"],
                                  audience="modelreg")
    # Sorts before other tests' models, so it is on the default query's first page (ordered by name).
    name = f"0-graphiql/churn-{secrets.token_hex(3)}"
    response = httpx.post(f"{live_server.url}/graphql", headers={"Authorization": f"Bearer {token}"},
                          json={"query": REGISTER_VERSION,
                                "variables": {"input": {"name": name, "createModelIfMissing": True}}})
    assert response.status_code == 200 and "errors" not in response.json(), response.text

    screenshot = tmp_path_factory.mktemp("graphiql-screens") / "graphiql-default-query.png"
    report = drive("graphiql_check.mjs", live_server.url, token, screenshot, "--expect", name)

    assert report["pageStatus"] == 200
    assert report["tokenStatus"] == "Signed in as alice (data-scientist)"
    assert name in report["resultVisibleText"]
    result = json.loads(report["resultText"])
    assert result["data"]["viewer"]["subject"] == "alice"
    nodes = result["data"]["registeredModels"]["nodes"]
    assert {"version": 1, "stage": "NONE", "uri": f"models:/{name}/1"} in [node["latestVersion"] for node in nodes]
    # Short enough to read whole at 1280x720: both operations, no scrolling, nothing shrunk.
    editor = report["editor"]
    assert "query Overview" in editor["text"] and "query Lineage" in editor["text"]
    assert "... on ModelVersion {" in editor["text"]
    assert editor["lastLineVisible"] and editor["scrollHeight"] <= editor["clientHeight"] + 1, editor
    assert editor["scrollWidth"] <= editor["clientWidth"] + 1, editor  # no line runs off to the right
    assert editor["fontSize"] >= 12, editor
    assert_offline(report)
    assert screenshot.stat().st_size > 10_000


def quickstart_mutation() -> str:
    """The README's quickstart mutation, as a reader would paste it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quickstart", 1)[1]
    return section.split("```graphql\n", 1)[1].split("```", 1)[0]


def test_default_lineage_query_works_on_the_quickstart_data(live_server: LiveServer, tmp_path_factory):
    require_browser_tools("graphiql.min.js")
    token = dev_issuer.mint_token(live_server.data_dir, subject="alice", roles=["data-scientist"],
                                  audience="modelreg")
    response = httpx.post(f"{live_server.url}/graphql", headers={"Authorization": f"Bearer {token}"},
                          json={"query": quickstart_mutation()})
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    # The session's live server is shared: other tests (the README's CI recipes) may have registered demo/churn too.
    registered = response.json()["data"]["createModelVersion"]["modelVersion"]["version"]

    screenshot = tmp_path_factory.mktemp("graphiql-screens") / "graphiql-lineage-query.png"
    report = drive("graphiql_check.mjs", live_server.url, token, screenshot, "--operation", "Lineage",
                   "--expect", "resolveModelUri")

    result = json.loads(report["resultText"])
    assert "errors" not in result, result
    version = result["data"]["resolveModelUri"]["modelVersion"]
    graph = version["lineage"]
    assert sorted(node["kind"] for node in graph["nodes"]) == ["CODE_COMMIT", "DATASET", "MODEL_VERSION", "RUN"]
    assert {edge["kind"] for edge in graph["edges"]} == {"PRODUCED", "BUILT_FROM", "TRAINED_ON"}
    assert graph["mermaid"].startswith("flowchart LR")
    version_node = next(node for node in graph["nodes"] if node["kind"] == "MODEL_VERSION")
    assert version_node["entity"] == {"name": "demo/churn", "version": registered, "stage": "NONE"}  # was {}
    assert_offline(report)


def test_page_explains_missing_assets(live_server: LiveServer, tmp_path_factory):
    require_browser_tools("graphiql.min.js")
    screenshot = tmp_path_factory.mktemp("graphiql-screens") / "graphiql-missing-assets.png"
    report = drive("graphiql_check.mjs", live_server.url, "unused", screenshot, "--block-vendor")

    assert "not built" in report["noticeText"]
    assert "python scripts/build_web_assets.py" in report["noticeText"]
    assert report["external"] == [], report["external"]
