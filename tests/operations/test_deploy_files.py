"""deploy/: the Grafana dashboard and the Prometheus alert rules refer only to series modelreg exports; promtool
accepts the rules, their unit tests pass (alerts_test.yml) and it finds nothing wrong in the exposition; every alert
has its section in docs/operations.md."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY, ProcessCollector

from app.observability import metrics
from app.observability.state import RegistryState, StateCollector

pytestmark = pytest.mark.backend_independent

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "modelreg-dashboard.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
ALERT_TESTS = ROOT / "deploy" / "prometheus" / "alerts_test.yml"
OPERATIONS = ROOT / "docs" / "operations.md"
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gauge": ("",),
    "summary": ("_count", "_sum", "_created"),
}
PROMETHEUS_OWN = {"up"}
_NAME = re.compile(r"\b((?:modelreg|process)_[a-z0-9_]+)\b")


def exported() -> set[str]:
    """Every sample name modelreg can export: its own series, the database's gauges, the process collector's."""
    assert metrics.REQUESTS  # the module's series are registered in the default registry
    families = [
        *REGISTRY.collect(),
        *StateCollector(RegistryState(1, 2.0, 3, 4, 5)).collect(),
        *ProcessCollector(registry=None).collect(),
    ]
    names = set()
    for family in families:
        names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
        names |= {sample.name for sample in family.samples}
    return names


def promtool() -> str:
    found = shutil.which("promtool")
    if not found:
        pytest.fail("promtool is needed: apt-get install prometheus (./dev test installs it)", pytrace=False)
    return found


def test_every_dashboard_query_uses_exported_series():
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    assert len(exprs) >= 20
    names = exported()
    unknown = {name for expr in exprs for name in _NAME.findall(expr)} - names
    assert not unknown, unknown
    panels = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
    assert all(panel["targets"] and panel["datasource"]["uid"] == "${datasource}" for panel in panels)


def test_every_alert_uses_exported_series_and_has_a_runbook_section():
    rules = [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]
    names = exported()
    sections = {_anchor(line) for line in OPERATIONS.read_text().splitlines() if line.startswith("#")}
    for rule in rules:
        used = set(_NAME.findall(rule["expr"])) | (PROMETHEUS_OWN & set(re.findall(r"\b(\w+)\{", rule["expr"])))
        assert used and used - PROMETHEUS_OWN <= names, (rule["alert"], used - names)
        runbook = rule["annotations"]["runbook"]
        assert runbook == f"docs/operations.md#{rule['alert'].lower()}" and rule["alert"].lower() in sections, runbook
    wanted = {
        "ModelregHigh5xxRate",
        "ModelregHighLatency",
        "ModelregOutboxStalled",
        "ModelregWebhookDeadLetters",
        "ModelregAuditChainBroken",
    }
    assert wanted <= {rule["alert"] for rule in rules}


def test_promtool_accepts_the_rules_and_their_unit_tests_pass():
    checked = subprocess.run([promtool(), "check", "rules", str(ALERTS)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run([promtool(), "test", "rules", str(ALERT_TESTS)], capture_output=True, text=True, timeout=60)
    assert tested.returncode == 0 and "SUCCESS" in tested.stdout, tested.stdout + tested.stderr


def test_promtool_accepts_the_scrape_configuration():
    checked = subprocess.run(
        [promtool(), "check", "config", str(ROOT / "deploy" / "prometheus" / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0 and re.search(r"SUCCESS: [1-9]\d* rules found", checked.stdout), checked.stdout


def test_promtool_finds_nothing_wrong_in_the_exposition():
    text = metrics.exposition(StateCollector(RegistryState(1, 2.0, 3, 4, 5))).decode()
    assert "modelreg_outbox_pending_deliveries 1.0" in text
    linted = subprocess.run([promtool(), "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert linted.returncode == 0 and not linted.stdout.strip(), linted.stdout + linted.stderr


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    title = heading.lstrip("#").strip().lower()
    return re.sub(r"[^a-z0-9 _-]", "", title).replace(" ", "-")
