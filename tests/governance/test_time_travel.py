"""stageAt and aliasAt against a scripted history: what was in PRODUCTION, and what was @champion, at time T?"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.governance.conftest import error, ok
from tests.governance.test_transitions import APPROVE, REQUEST_ALIAS, ROLLBACK, register, request, to_production

AT = """
query At($time: DateTime!, $stage: Stage! = PRODUCTION) {
  registeredModel(name: "m") {
    stageAt(time: $time, stage: $stage) {
      nodes { version toStage changedBy { subject } reason modelVersion { version } }
    }
    aliasAt(alias: "champion", time: $time) { version changedBy { subject } }
  }
}
"""
ALIAS_AT_BAD = 'query { registeredModel(name: "m") { aliasAt(alias: "1st", time: "2026-01-01T00:00:00Z") { version } } }'
STAGE_AT_NONE = """
query { registeredModel(name: "m") { stageAt(time: "2026-01-01T00:00:00Z", stage: NONE) { nodes { version } } } }
"""


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


async def champion(api, version: int) -> None:
    pending = (await ok(api, REQUEST_ALIAS, {"name": "m", "version": version, "alias": "champion"},
                        "data-scientist", "dana"))["requestAliasTransition"]["transitionRequest"]
    await ok(api, APPROVE, {"id": pending["id"]}, "approver", "alice")


async def at(api, moment: str, stage: str = "PRODUCTION") -> tuple[list[int], int | None]:
    model = (await ok(api, AT, {"time": moment, "stage": stage}, "auditor", "ann"))["registeredModel"]
    alias = model["aliasAt"]["version"] if model["aliasAt"] else None
    return [entry["version"] for entry in model["stageAt"]["nodes"]], alias


async def test_stage_and_alias_at_each_point_of_a_scripted_history(api):
    await register(api, count=3)
    times = {"before": now()}
    await to_production(api, 1)
    times["v1 live"] = now()
    await champion(api, 1)
    times["v1 champion"] = now()
    await to_production(api, 2)
    times["v2 live"] = now()
    await champion(api, 2)
    times["v2 champion"] = now()
    await ok(api, ROLLBACK, {"name": "m"}, "mlops", "olga")
    times["rolled back"] = now()
    await request(api, 3, "STAGING")
    await request(api, 2, "STAGING")  # ARCHIVED -> STAGING
    times["end"] = now()

    assert await at(api, times["before"]) == ([], None)
    assert await at(api, times["v1 live"]) == ([1], None)
    assert await at(api, times["v1 champion"]) == ([1], 1)
    assert await at(api, times["v2 live"]) == ([2], 1)
    assert await at(api, times["v2 champion"]) == ([2], 2)
    assert await at(api, times["rolled back"]) == ([1], 2)  # rollback moves the stage, not the alias
    assert await at(api, times["end"], "STAGING") == ([3, 2], 2)  # newest version first
    assert await at(api, times["v2 live"], "ARCHIVED") == ([1], 1)
    assert await at(api, times["rolled back"], "ARCHIVED") == ([2], 2)

    model = (await ok(api, AT, {"time": times["rolled back"]}, "approver", "x"))["registeredModel"]
    assert model["stageAt"]["nodes"] == [{"version": 1, "toStage": "PRODUCTION", "changedBy": {"subject": "olga"},
                                          "reason": "restored by rollback: error rate doubled",
                                          "modelVersion": {"version": 1}}]
    assert model["aliasAt"] == {"version": 2, "changedBy": {"subject": "alice"}}
    # Times without an offset are UTC; a far future shows the present.
    later = (datetime.now(timezone.utc) + timedelta(days=365)).replace(tzinfo=None).isoformat()
    assert await at(api, later) == ([1], 2)


async def test_bad_time_travel_questions(api):
    await register(api)
    assert (await error(api, ALIAS_AT_BAD, None, "auditor", "ann"))["extensions"]["code"] == "BAD_USER_INPUT"
    refused = await error(api, STAGE_AT_NONE, None, "auditor", "ann")
    assert refused["extensions"]["code"] == "BAD_USER_INPUT" and "stageAt" in refused["message"]
