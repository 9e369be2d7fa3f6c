"""Documents on versions (revisioned, Markdown or stored content, readable by every role) and business metadata
on models (typed fields with filters)."""

from __future__ import annotations

import hashlib

import pytest

from tests.governance.conftest import error, ok
from tests.governance.test_transitions import register
from tests.graphql.test_schema_coverage import token

ATTACH = """
mutation Attach($input: AttachDocumentInput!) {
  attachDocument(input: $input) { modelDocument { kind title revision markdown artifactDigest createdBy { subject } } }
}
"""
DOCUMENTS = """
query Documents($kind: DocumentKind) {
  modelVersion(name: "m", version: 1) {
    documents(kind: $kind) { totalCount nodes { kind title revision markdown artifactDigest } }
  }
}
"""
PDF = b"%PDF-1.7 bias audit"


async def test_documents_are_revisioned_and_readable_by_every_role(api):
    await register(api, card=False)
    card = {"name": "m", "version": 1, "kind": "MODEL_CARD", "title": "Card", "markdown": "# v1"}
    first = (await ok(api, ATTACH, {"input": card}, "data-scientist", "dana"))["attachDocument"]["modelDocument"]
    assert (first["revision"], first["createdBy"]) == (1, {"subject": "dana"})
    second = (await ok(api, ATTACH, {"input": {**card, "markdown": "# v1, fixed"}}, "mlops", "olga"))[
        "attachDocument"]["modelDocument"]
    assert second["revision"] == 2

    stored = await api.client.put("/api/artifacts/blobs", content=PDF,
                                  headers={"authorization": f"Bearer {token(api, 'data-scientist')}"})
    digest = stored.json()["digest"]
    assert digest == "sha256:" + hashlib.sha256(PDF).hexdigest()
    audit = {"name": "m", "version": 1, "kind": "BIAS_AUDIT", "title": "Bias audit", "artifactDigest": digest[7:]}
    attached = (await ok(api, ATTACH, {"input": audit}, "data-scientist", "dana"))["attachDocument"]["modelDocument"]
    assert (attached["artifactDigest"], attached["markdown"], attached["revision"]) == (digest, None, 1)

    for role in ("data-scientist", "mlops", "approver", "auditor"):
        documents = (await ok(api, DOCUMENTS, None, role, "r"))["modelVersion"]["documents"]["nodes"]
        assert [(d["kind"], d["revision"]) for d in documents] == [("BIAS_AUDIT", 1), ("MODEL_CARD", 2),
                                                                     ("MODEL_CARD", 1)]  # newest first
    cards = (await ok(api, DOCUMENTS, {"kind": "MODEL_CARD"}, "auditor", "r"))["modelVersion"]["documents"]
    assert cards["totalCount"] == 2 and [c["markdown"] for c in cards["nodes"]] == ["# v1, fixed", "# v1"]
    for role in ("approver", "auditor"):
        refused = await error(api, ATTACH, {"input": card}, role, "x")
        assert refused["extensions"]["code"] == "FORBIDDEN" and "document:write" in refused["message"]


async def test_garbage_collection_keeps_content_a_document_refers_to(api, app):
    from datetime import timedelta

    from app.services.maintenance import collect_garbage

    await register(api, card=False)
    stored = await api.client.put("/api/artifacts/blobs", content=PDF,
                                  headers={"authorization": f"Bearer {token(api, 'data-scientist')}"})
    digest = stored.json()["digest"]
    await ok(api, ATTACH, {"input": {"name": "m", "version": 1, "kind": "OTHER", "title": "Scan",
                                     "artifactDigest": digest}}, "data-scientist", "dana")
    services = app.state.services
    report = await collect_garbage(app.state.uow, services.artifacts.store, grace=timedelta(0),
                                   dry_run=True)
    assert digest not in report.deleted


CREATE = """
mutation Create($input: CreateRegisteredModelInput!) {
  createRegisteredModel(input: $input) { registeredModel { name useCase riskTier regulatoryStatus } }
}
"""
UPDATE = """
mutation Update($input: UpdateRegisteredModelInput!) {
  updateRegisteredModel(input: $input) { registeredModel { name useCase riskTier regulatoryStatus } }
}
"""
FIND = "query Find($filter: RegisteredModelFilter) { registeredModels(filter: $filter) { nodes { name } } }"


async def test_business_metadata_is_typed_and_filterable(api):
    created = (await ok(api, CREATE, {"input": {"name": "fraud", "useCase": "card fraud scoring",
                                                "riskTier": "HIGH", "regulatoryStatus": "UNDER_REVIEW"}},
                        "data-scientist", "dana"))["createRegisteredModel"]["registeredModel"]
    assert created == {"name": "fraud", "useCase": "card fraud scoring", "riskTier": "HIGH",
                       "regulatoryStatus": "UNDER_REVIEW"}
    await ok(api, CREATE, {"input": {"name": "churn", "useCase": "churn propensity", "riskTier": "LOW"}},
             "data-scientist", "dana")
    await ok(api, CREATE, {"input": {"name": "plain"}}, "data-scientist", "dana")
    updated = (await ok(api, UPDATE, {"input": {"name": "fraud", "regulatoryStatus": "APPROVED"}}, "mlops",
                        "olga"))["updateRegisteredModel"]["registeredModel"]
    assert (updated["riskTier"], updated["regulatoryStatus"]) == ("HIGH", "APPROVED")

    async def names(filter):
        return [n["name"] for n in (await ok(api, FIND, {"filter": filter}, "auditor", "a"))["registeredModels"]["nodes"]]

    assert await names({"riskTier": ["HIGH", "CRITICAL"]}) == ["fraud"]
    assert await names({"riskTier": ["LOW", "HIGH"]}) == ["churn", "fraud"]
    assert await names({"regulatoryStatus": ["APPROVED"]}) == ["fraud"]
    assert await names({"useCase": {"contains": "CHURN"}}) == ["churn"]
    assert await names({"useCase": {"equals": "card fraud scoring"}, "riskTier": ["HIGH"]}) == ["fraud"]


@pytest.mark.parametrize("value", ["high", "EXTREME"])
async def test_unknown_risk_tier_is_bad_input(api, value):
    refused = await error(api, CREATE, {"input": {"name": "x", "riskTier": value}}, "mlops", "olga")
    assert refused["extensions"]["code"] == "BAD_USER_INPUT"
