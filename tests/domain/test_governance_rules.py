"""The stage machine, the promotion policy file (parsing, overrides, gates) and the audit hash chain, as plain
Python."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest

from app.config import Settings
from app.domain.audit import AuditDraft, AuditTarget, IntegrityReport, chain, utc_text
from app.domain.entities import Metric, ModelVersion, Stage, VersionStatus
from app.domain.errors import FailedPrecondition
from app.domain.governance import MOVES, DocumentKind, check_move
from app.domain.promotion import PolicyError, PromotionPolicy, evaluate, parse_policy
from app.promotion import load_promotion_policy

pytestmark = pytest.mark.backend_independent

ALLOWED = {("NONE", "STAGING"), ("NONE", "ARCHIVED"), ("STAGING", "PRODUCTION"), ("STAGING", "ARCHIVED"),
           ("PRODUCTION", "STAGING"), ("PRODUCTION", "ARCHIVED"), ("ARCHIVED", "STAGING")}


@pytest.mark.parametrize("current", list(Stage))
@pytest.mark.parametrize("target", list(Stage))
def test_stage_machine(current, target):
    if (current.value, target.value) in ALLOWED:
        check_move(current, target)
        return
    with pytest.raises(FailedPrecondition) as refused:
        check_move(current, target)
    allowed = ", ".join(f"{current.value} -> {s.value}" for s in MOVES[current])
    assert refused.value.message.endswith(f"allowed from {current.value}: {allowed}")


def test_shipped_policy_has_the_issue_defaults():
    policy = load_promotion_policy(Settings().promotion_policy_path)
    assert policy == PromotionPolicy()
    assert [policy.rule_for("any", s).required_approvals for s in (Stage.STAGING, Stage.PRODUCTION, Stage.ARCHIVED)] \
        == [0, 1, 0]
    assert policy.rule_for("any", Stage.PRODUCTION).documents == (DocumentKind.MODEL_CARD,)
    assert policy.protected_aliases == {"champion"}


def test_first_matching_override_wins_and_keeps_unlisted_keys():
    policy = parse_policy({
        "stages": {"PRODUCTION": {"required_approvals": 2}},
        "overrides": [{"models": "fraud/*", "stages": {"PRODUCTION": {"gates": {"metrics": ["auc > 0.8"]}}}},
                      {"models": "fraud/legacy", "stages": {"PRODUCTION": {"required_approvals": 5}}},
                      {"models": "*", "stages": {"STAGING": {"required_approvals": 1}}}],
    })
    fraud = policy.rule_for("fraud/scorer", Stage.PRODUCTION)
    assert (fraud.required_approvals, [str(g) for g in fraud.metrics], fraud.documents) == (
        2, ["auc > 0.8"], (DocumentKind.MODEL_CARD,))
    assert policy.rule_for("fraud/legacy", Stage.PRODUCTION).required_approvals == 2  # the first match won
    assert policy.rule_for("fraud/scorer", Stage.STAGING).required_approvals == 0  # not in the matching override
    assert policy.rule_for("churn", Stage.STAGING).required_approvals == 1


@pytest.mark.parametrize("data,says", [
    ({"stages": {"LIVE": {}}}, "'LIVE' is not a target stage"),
    ({"stages": {"NONE": {}}}, "'NONE' is not a target stage"),
    ({"stages": {"PRODUCTION": {"required_approvals": -1}}}, "stages.PRODUCTION.required_approvals"),
    ({"stages": {"PRODUCTION": {"required_approvals": True}}}, "required_approvals"),
    ({"stages": {"PRODUCTION": {"approvals": 1}}}, "unknown key(s) ['approvals']"),
    ({"stages": {"PRODUCTION": {"gates": {"metrics": ["accuracy >> 0.9"]}}}}, "stages.PRODUCTION.gates.metrics[0]"),
    ({"stages": {"PRODUCTION": {"gates": {"metrics": ["acc >= inf"]}}}}, "metrics[0]"),
    ({"stages": {"PRODUCTION": {"gates": {"documents": ["MEMO"]}}}}, "document kinds"),
    ({"stages": {"PRODUCTION": {"gates": {"version_ready": "yes"}}}}, "version_ready"),
    ({"protected_aliases": ["1st"]}, "protected_aliases"),
    ({"overrides": [{"stages": {}}]}, "overrides[0]"),
    ({"overrides": {"models": "x"}}, "overrides must be a list"),
    ({"version": 2}, "version must be 1"),
    ({"stage": {}}, "unknown key(s) ['stage']"),
    ([1, 2], "must be a mapping"),
    ({"stages": {"PRODUCTION": {"approver_groups": ["risk-office"]}}}, "approver_groups must be a mapping"),
    ({"stages": {"PRODUCTION": {"approver_groups": {"risk-office": 0}}}}, "approver_groups.risk-office must be"),
    ({"stages": {"PRODUCTION": {"approver_groups": {" x": 1}}}}, "is not a group name"),
    ({"stages": {"PRODUCTION": {"required_approvals": 1, "approver_groups": {"risk-office": 2}}}},
     "stages.PRODUCTION.required_approvals (1) counts every approval"),
    ({"overrides": [{"models": "fraud/*", "stages": {"STAGING": {"approver_groups": {"risk-office": 1}}}}]},
     "overrides[0].stages.STAGING.required_approvals (0)"),
])
def test_policy_errors_name_the_entry(data, says):
    with pytest.raises(PolicyError) as refused:
        parse_policy(data)
    assert says in str(refused.value)


def test_approver_groups_per_model_pattern():
    policy = parse_policy({"overrides": [{"models": "fraud/*", "stages": {"PRODUCTION": {
        "required_approvals": 2, "approver_groups": {"risk-office": 1, "model-validation": 2}}}}]})
    fraud = policy.rule_for("fraud/cards/x", Stage.PRODUCTION)
    assert fraud.approver_groups == (("risk-office", 1), ("model-validation", 2)) and fraud.required_approvals == 2
    assert policy.rule_for("churn/x", Stage.PRODUCTION).approver_groups == ()
    assert policy.alias_rule("fraud/x").approver_groups == fraud.approver_groups  # protected aliases follow


def version(status=VersionStatus.READY) -> ModelVersion:
    now = datetime.now(timezone.utc)
    return ModelVersion(id=1, model_id=1, model_name="m", version=1, status=status, stage=Stage.STAGING,
                        description=None, flavor=None, signature=None, run=None, code=None, artifact=None, params={},
                        created_at=now, created_by="dana", updated_at=now)


def test_gates_report_each_result():
    rule = parse_policy({"stages": {"PRODUCTION": {"gates": {
        "metrics": ["accuracy >= 0.9", "loss[val] < 0.2", "f1", "auc == 1"], "documents": ["MODEL_CARD"]}}}}
    ).rule_for("m", Stage.PRODUCTION)
    metrics = [Metric("accuracy", 0.85), Metric("accuracy", 0.92, "test"), Metric("loss", 0.1, "train"),
               Metric("auc", 1.0)]
    results = evaluate(rule, version(VersionStatus.PENDING_REGISTRATION), metrics, set())
    assert [(r.gate, r.passed) for r in results] == [
        ("version READY", False), ("metric accuracy >= 0.9", True), ("metric loss[val] < 0.2", False),
        ("metric f1", False), ("metric auc == 1", True), ("document MODEL_CARD", False)]
    assert results[2].detail == "the version has no 'loss' metric on dataset 'val'"


def test_invalid_policy_file_stops_start_up_with_one_line(modelreg, tmp_path):
    bad = tmp_path / "promotion.yaml"
    for content in ("stages:\n  PRODUCTION:\n    required_approvals: many\n", "stages: [unclosed\n"):
        bad.write_text(content, encoding="utf-8")
        done = modelreg("serve", MODELREG_DATA_DIR=str(tmp_path), MODELREG_PROMOTION_POLICY=str(bad))
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1, done.stderr
        assert "MODELREG_PROMOTION_POLICY" in lines[0] and str(bad) in lines[0]


def draft(n: int) -> AuditDraft:
    return AuditDraft(occurred_at=datetime(2026, 1, 1, 12, 0, n, 5, tzinfo=timezone.utc), actor_subject="s",
                      actor_kind="USER", actor_roles=("mlops",), action="model.create",
                      target=AuditTarget("RegisteredModel", str(n), f"m{n}"), after={"n": n, "x": 0.1})


def test_chain_links_each_event_to_the_one_before():
    events, prev = [], "0" * 64
    for n in range(1, 5):
        events.append(chain(n, draft(n), prev))
        prev = events[-1].hash
    report = IntegrityReport()
    assert report.feed(events) and (report.checked, report.head_seq, report.head_hash) == (4, 4, events[-1].hash)
    edited = [*events[:2], replace(events[2], draft=replace(events[2].draft, after={"n": 99})), events[3]]
    report = IntegrityReport()
    assert not report.feed(edited) and report.first_broken_seq == 3
    assert utc_text(draft(1).occurred_at) == "2026-01-01T12:00:01.000005Z"
