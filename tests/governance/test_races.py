"""Concurrent approvals: each request applies once, and a model never has two versions in PRODUCTION, on SQLite
and PostgreSQL (the suite runs on both)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from app.db.migrate import sync_engine
from tests.governance.conftest import call
from tests.governance.test_transitions import APPROVE, register, request

ROUNDS, APPROVERS = 20, 4


async def test_racing_approvals_apply_each_request_once_and_keep_one_production_version(api, database_url):
    for round_ in range(ROUNDS):
        name = f"race/{round_}"
        await register(api, name, count=2)
        pending = []
        for number in (1, 2):
            await request(api, number, "STAGING", name=name)
            pending.append((await request(api, number, "PRODUCTION", name=name))["id"])
        calls = [call(api, APPROVE, {"id": request_id}, "approver", f"approver-{index}")
                 for index in range(APPROVERS) for request_id in pending]
        bodies = await asyncio.gather(*calls)
        accepted = [b for b in bodies if not b.get("errors")]
        refused = [b["errors"][0] for b in bodies if b.get("errors")]
        # One approval applies the first request. Both were made with PRODUCTION empty, so the second's
        # completing approval holds it at APPROVED (PRODUCTION changed since) and the next approval applies it.
        statuses = sorted(b["data"]["approveTransitionRequest"]["transitionRequest"]["status"] for b in accepted)
        assert statuses == ["APPLIED", "APPLIED", "APPROVED"], bodies
        assert len(refused) == 2 * APPROVERS - 3
        assert all(e["extensions"]["code"] == "FAILED_PRECONDITION" and "APPLIED" in e["message"] for e in refused)

    engine = sync_engine(database_url)
    with engine.connect() as connection:
        per_model = connection.execute(text(
            "SELECT m.name, count(*) FROM model_versions v JOIN registered_models m ON m.id = v.model_id "
            "WHERE v.stage = 'PRODUCTION' GROUP BY m.name")).all()
        applies = connection.execute(text(
            "SELECT model_id, version, count(*) FROM model_stage_changes WHERE to_stage = 'PRODUCTION' "
            "GROUP BY model_id, version")).all()
        decisions = connection.execute(text("SELECT count(*) FROM transition_decisions")).scalar_one()
    engine.dispose()
    assert sorted(count for _, count in per_model) == [1] * ROUNDS
    assert len(applies) == 2 * ROUNDS and {count for *_, count in applies} == {1}
    assert decisions == 3 * ROUNDS  # two requests, one approved twice; refused approvals left nothing behind
