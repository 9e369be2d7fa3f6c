"""The stage history says why a requested move happened: the request's comment and the approvers' (issue 14,
point 6: `reason` was empty for approved moves)."""

from __future__ import annotations

from tests.governance.conftest import ok
from tests.governance.test_transitions import STAGES, approve, history, register, request


async def test_an_approved_move_records_the_request_and_approval_comments(api):
    await register(api, count=1)
    staging = await request(api, 1, "STAGING")
    if staging["status"] != "APPLIED":
        await approve(api, staging["id"])
    pending = await request(api, 1, "PRODUCTION")
    assert (await approve(api, pending["id"], sub="alice"))["status"] == "APPLIED"
    versions = (await ok(api, STAGES, {"name": "m"}, "auditor", "x"))["registeredModel"]["versions"]["nodes"]
    moved = history(versions[0])[0]
    assert (moved["toStage"], moved["changedBy"]) == ("PRODUCTION", "alice")
    assert moved["reason"] == "requested by dana: please; approved by alice: ok"
