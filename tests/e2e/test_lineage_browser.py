"""The lineage explorer (/lineage) in headless Chromium against a real server: the graph, a click, errors.

Drives Debian's /usr/bin/chromium with playwright-core from node_modules (tests/js/lineage_check.mjs).
Needs `npm ci` and `python scripts/build_web_assets.py`; anything missing is a failure, never a skip.
"""

from __future__ import annotations

import secrets
from collections import Counter
from typing import Any

import httpx
import pytest

from app.auth import dev_issuer
from tests.support.browser import drive, require_browser_tools
from tests.support.live_server import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

COMMIT_SHA = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

REGISTER_VERSION = """
mutation RegisterVersion($input: CreateModelVersionInput!) {
  createModelVersion(input: $input) { modelVersion { id uri } }
}
"""


def assert_local_only(report: dict[str, Any]) -> None:
    """Every request went to the server under test, and none carried the token in its URL."""
    assert report["external"] == [], f"requests to non-loopback hosts: {report['external']}"
    assert all("//127.0.0.1:" in request for request in report["requests"]), report["requests"]
    assert not report["tokenInRequestUrls"], "the token appeared in a request URL"
    assert "token=" not in report["urlAfterLoad"], "the token was left in the address bar"


def register(base_url: str, token: str, variables: dict[str, Any]) -> dict[str, str]:
    response = httpx.post(f"{base_url}/graphql", headers={"Authorization": f"Bearer {token}"},
                          json={"query": REGISTER_VERSION, "variables": {"input": variables}}, timeout=30)
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    return response.json()["data"]["createModelVersion"]["modelVersion"]


def test_upstream_graph_of_a_fine_tuned_version(live_server: LiveServer, tmp_path_factory):
    require_browser_tools("cytoscape.min.js")
    token = dev_issuer.mint_token(live_server.data_dir, subject="alice", roles=["data-scientist"],
                                  audience="modelreg")
    # The live server is shared by the session: unique names keep other tests' lineage out of this graph.
    suffix = secrets.token_hex(3)
    model, run_id, dataset = f"demo/churn-{suffix}", f"r1-{suffix}", f"churn-events-{suffix}"
    parent = register(live_server.url, token, {
        "name": model, "createModelIfMissing": True,
        "run": {"tracker": "MLFLOW", "runId": run_id},
        "code": {"repositoryUrl": "https://github.com/acme/churn", "commitSha": COMMIT_SHA},
        "datasets": [{"dataset": {"name": dataset, "version": "v3"}}],
    })
    child = register(live_server.url, token, {
        "name": model, "parents": [{"id": parent["id"], "relation": "fine-tuned"}],
    })

    screenshot = tmp_path_factory.mktemp("lineage-screens") / "lineage-upstream.png"
    report = drive("lineage_check.mjs", live_server.url, token, screenshot, "--id", child["id"], "--direction", "UPSTREAM",
                   "--depth", "3", "--expect-nodes", "5", "--click-kind", "DATASET")

    assert report["pageStatus"] == 200
    assert "script-src 'self'" in report["contentSecurityPolicy"]
    assert report["tokenStatus"] == "Signed in as alice (data-scientist)"
    assert report["tokenStored"], "the #token fragment was not kept in localStorage"
    drawn = report["lineage"]
    assert drawn["root"] == child["id"]
    assert drawn["truncated"] is False
    kinds = Counter(node["kind"] for node in drawn["nodes"])
    assert kinds == {"MODEL_VERSION": 2, "RUN": 1, "CODE_COMMIT": 1, "DATASET": 1}, drawn["nodes"]
    by_kind = {node["kind"]: node for node in drawn["nodes"]}
    assert {parent["id"], child["id"]} <= {node["id"] for node in drawn["nodes"]}
    assert dataset in by_kind["DATASET"]["label"]
    assert run_id in by_kind["RUN"]["label"]
    edges = {(edge["kind"], edge["upstreamId"], edge["downstreamId"]) for edge in drawn["edges"]}
    assert ("DERIVED_FROM", parent["id"], child["id"]) in edges
    assert {"DERIVED_FROM", "PRODUCED", "TRAINED_ON", "BUILT_FROM"} <= {kind for kind, _, _ in edges}
    assert ("TRAINED_ON", by_kind["DATASET"]["id"], parent["id"]) in edges
    derived = next(edge for edge in drawn["edges"] if edge["kind"] == "DERIVED_FROM")
    assert derived["relation"] == "fine-tuned"
    assert set(report["legendKinds"]) == {"DATASET", "RUN", "CODE_COMMIT", "MODEL_VERSION", "EXTERNAL"}
    assert report["canvasCount"] > 0

    # The click showed the dataset's own fields, and its one-hop expansion added nothing twice.
    assert report["clicked"]["id"] == by_kind["DATASET"]["id"]
    assert report["detailsKind"] == "DATASET"
    assert dataset in report["detailsTitle"]
    assert report["detailsFields"]["Name"] == dataset, report["detailsText"]
    assert report["detailsFields"]["Version"] == "v3", report["detailsText"]
    after = report["lineageAfterClick"]
    assert by_kind["DATASET"]["id"] in after["expanded"]
    assert after["selected"] == by_kind["DATASET"]["id"]
    ids = [node["id"] for node in after["nodes"]]
    assert len(ids) == len(set(ids)) and set(ids) >= {node["id"] for node in drawn["nodes"]}
    edge_keys = [(edge["kind"], edge["upstreamId"], edge["downstreamId"]) for edge in after["edges"]]
    assert len(edge_keys) == len(set(edge_keys)) and set(edge_keys) >= edges

    assert_local_only(report)
    problems = report["pageErrors"] + report["consoleErrors"]
    assert problems == [], f"errors in the page: {problems}"
    assert screenshot.stat().st_size > 10_000


def test_bad_token_shows_unauthenticated(live_server: LiveServer, tmp_path_factory):
    require_browser_tools("cytoscape.min.js")
    screenshot = tmp_path_factory.mktemp("lineage-screens") / "lineage-bad-token.png"
    report = drive("lineage_check.mjs", live_server.url, "not-a-valid-jwt", screenshot, "--id", "TW9kZWxWZXJzaW9uOjE=",
                   "--expect-error")

    assert report["pageStatus"] == 200
    assert report["errorCode"] == "UNAUTHENTICATED"
    assert report["errorStatus"] == "401"
    assert "UNAUTHENTICATED (HTTP 401)" in report["errorText"]
    assert report["tokenStatus"].startswith("Token rejected"), report["tokenStatus"]
    assert_local_only(report)
    assert report["pageErrors"] == [], report["pageErrors"]
    # Chromium logs every 401 response as "Failed to load resource"; nothing else may reach the console.
    other = [text for text in report["consoleErrors"] if "status of 401" not in text]
    assert other == [], other


def test_page_explains_missing_assets(live_server: LiveServer, tmp_path_factory):
    require_browser_tools("cytoscape.min.js")
    screenshot = tmp_path_factory.mktemp("lineage-screens") / "lineage-missing-assets.png"
    report = drive("lineage_check.mjs", live_server.url, "unused", screenshot, "--id", "unused", "--block-vendor")

    assert report["errorCode"] == "ASSETS_MISSING"
    assert "python scripts/build_web_assets.py" in report["errorText"]
    assert report["external"] == [], report["external"]
