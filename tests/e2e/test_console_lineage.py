"""The console's lineage explorer (#/lineage) in headless Chromium on a seeded graph of 30+ nodes: a layered layout
(each version's sources in the layer just before it, no overlapping boxes), labels at 12 px or more, stage badges
on versions, the side panel (metrics, files, human-readable times, links onward), reached with the keyboard from the
version page; axe-core finds nothing serious.

Drives tests/js/console_check.mjs (scenario `lineage`) against a real server, like test_console_browser.py.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest

from tests.e2e.test_console_browser import REQUEST_STAGE, Registry, run_plan
from tests.support.live_server import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

HOSTILE = '<img src=x onerror="window.__pwned=1">'
VERSIONS = 8


def seed(registry: Registry, token: str, prefix: str) -> tuple[str, dict[int, str]]:
    """churn v1..v8, each trained on its own dataset, evaluated on a shared holdout, from its own run and one of
    four commits, derived from the version before; ranker v1..v3 derived from churn v8. 35 nodes around churn v8."""
    model = f"{prefix}/churn"
    digest = registry.upload(token, b"weights\n")
    ids: dict[int, str] = {}
    for number in range(1, VERSIONS + 1):
        version = registry.register(
            token, name=model,
            run={"tracker": "MLFLOW", "runId": f"run-{prefix}-{number}", "experimentName": "churn",
                 "startedAt": "2026-11-02T09:15:00Z", "endedAt": "2026-11-02T09:47:00Z",
                 "metrics": [{"name": "auc", "value": 0.8 + number / 100}]},
            code={"repositoryUrl": "https://github.com/acme/churn", "commitSha": f"{number % 4:x}" * 40},
            datasets=[{"dataset": {"name": f"events-{prefix}-{number}", "version": f"2026-11-{number:02d}",
                                   "uri": f"s3://lake/events/{number}", "rowCount": 1000 * number,
                                   "sourceSystem": HOSTILE if number == 3 else "lake"}},
                      {"dataset": {"name": f"holdout-{prefix}", "version": "v1"}, "kind": "EVALUATED_ON"}],
            parents=[{"uri": f"models:/{model}/{number - 1}", "relation": "fine-tuned"}] if number > 1 else None,
            metrics=[{"name": "auc", "value": 0.8 + number / 100}, {"name": "f1", "value": 0.6 + number / 100}],
            files=[{"path": "model/model.pkl", "digest": digest}],
            description=HOSTILE if number == 3 else None,
        )
        ids[number] = version["id"]
    registry.call(token, REQUEST_STAGE, input={"name": model, "version": VERSIONS, "toStage": "STAGING"})
    for _ in range(3):
        registry.register(token, name=f"{prefix}/ranker", parents=[{"uri": f"models:/{model}/{VERSIONS}"}])
    return model, ids


def test_lineage_explorer_on_a_real_graph(live_server: LiveServer, tmp_path: Path):
    registry = Registry(live_server)
    token = registry.token("lin", "data-scientist")
    prefix = f"lineage-{secrets.token_hex(3)}"
    model, ids = seed(registry, token, prefix)

    report = run_plan(live_server, token, tmp_path, {
        "scenario": "lineage", "model": model, "version": VERSIONS, "rootId": ids[VERSIONS], "depth": 20,
        "datasetLabel": f"events-{prefix}-3", "runLabel": f"run-{prefix}-3",
    })

    graph = report["graph"]
    nodes = graph["nodes"]
    assert len(nodes) >= 30, len(nodes)
    by_kind: dict[str, int] = {}
    for node in nodes:
        by_kind[node["kind"]] = by_kind.get(node["kind"], 0) + 1
    assert by_kind == {"MODEL_VERSION": 11, "DATASET": 9, "RUN": 8, "CODE_COMMIT": 4}, by_kind
    # Readable at 30+ nodes: no text below 12 px at the zoom shown (the canvas scrolls instead).
    assert graph["scale"] >= 1
    assert min(graph["fontSizes"]) >= 12, sorted(set(graph["fontSizes"]))
    # No two node boxes overlap, and no edge label sits on a node.
    assert graph["overlaps"] == [], graph["overlaps"][:5]
    assert graph["labelOnNode"] == [], graph["labelOnNode"][:5]
    assert graph["labelsOverlap"] == [], graph["labelsOverlap"][:5]
    # Too big for the canvas at a readable size: it scrolls instead of shrinking.
    assert graph["canvas"]["scrollWidth"] > graph["canvas"]["width"], graph["canvas"]
    # Layered: every edge runs left to right, and a version's own sources sit in the layer just before it.
    assert graph["backwards"] == [], graph["backwards"][:5]
    assert graph["sourcesFarAway"] == [], graph["sourcesFarAway"][:5]
    # Keyboard: Tab moves from node to node, never back a layer.
    tabbed = graph["tabbed"]
    assert all(step["testid"] == "lineage-node" for step in tabbed), tabbed
    assert [step["rank"] for step in tabbed] == sorted(step["rank"] for step in tabbed), tabbed
    # Stage badges on every version node, as the server says.
    stages = {node["label"]: node["stage"] for node in nodes if node["kind"] == "MODEL_VERSION"}
    assert stages[f"models:/{model}/{VERSIONS}"] == "STAGING" and stages[f"models:/{model}/1"] == "NONE", stages
    assert all(stages.values()), stages

    panel = report["panel"]
    assert panel["fromVersionPage"] == f"models:/{model}/{VERSIONS}"  # the version page's link starts on that version
    version = panel["version"]
    assert version["title"] == f"models:/{model}/3"
    assert version["metrics"] == ["auc\t0.83", "f1\t0.63"], version
    assert version["files"] == ["model/model.pkl"]
    assert version["versionLink"].endswith(f"#/models/{model.replace('/', '%2F')}/versions/3"), version
    assert any(row.startswith("Dataset events-") for row in version["inputs"]), version["inputs"]
    dataset = panel["dataset"]
    assert dataset["title"].startswith(f"events-{prefix}-3")
    assert "Rows\n3,000" in dataset["facts"] or "Rows\t3,000" in dataset["facts"], dataset
    assert HOSTILE in dataset["facts"]  # as text
    run = panel["run"]
    assert "Started" in run["facts"] and not re.search(r"\d{4}-\d\d-\d\dT", run["facts"]), run  # a human time
    assert run["timeTitle"] == "2026-11-02T09:15:00+00:00" or run["timeTitle"].startswith("2026-11-02T09:15"), run
    assert panel["recentred"] >= 1
    # v2 and one hop upstream: its run, commit, two datasets and v1
    assert panel["byUri"] == {"root": f"models:/{model}/2", "nodes": 6}, panel["byUri"]
    assert report["injected"] == {"pwned": None, "scripts": 0, "handlers": 0, "images": 0}
