"""The hash chain finds edited, deleted, swapped and renumbered rows (through auditIntegrity and `modelreg audit
verify`), and on PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE of audit events."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from typing import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from app.db.migrate import sync_engine
from tests.graphql.test_schema_coverage import error, ok
from tests.support.databases import backend

INTEGRITY = "query { auditIntegrity { ok checkedEvents firstBrokenSequence problem headSequence headHash } }"
MAKE_EVENTS = """
mutation MakeEvents {
  a: createRegisteredModel(input: {name: "a"}) { registeredModel { name } }
  b: createRegisteredModel(input: {name: "b"}) { registeredModel { name } }
  c: setRegisteredModelTag(input: {name: "a", key: "k", value: "v"}) { registeredModel { name } }
  d: updateRegisteredModel(input: {name: "b", description: "x"}) { registeredModel { name } }
  e: deleteRegisteredModelTag(input: {name: "a", key: "k"}) { registeredModel { name } }
}
"""


@contextmanager
def tampering(database_url: str) -> Iterator[Connection]:
    """A connection that may change audit rows: PostgreSQL's append-only triggers are skipped in replica mode
    (the suite connects as a superuser, as an attacker with full control would)."""
    engine = sync_engine(database_url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SET LOCAL session_replication_role = replica"))
            yield connection
    finally:
        engine.dispose()


async def integrity(api) -> dict:
    return (await ok(api, INTEGRITY, None, "auditor"))["auditIntegrity"]


async def five_events(api) -> None:
    await ok(api, MAKE_EVENTS)
    report = await integrity(api)
    assert report["ok"] and report["checkedEvents"] == 5 and report["headSequence"] == 5, report
    assert report["firstBrokenSequence"] is None and len(report["headHash"]) == 64
    assert type(report["headSequence"]) is int  # a Long is a JSON integer (it was a Float: 5.0 in Python)


def verify_cli(database_url: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MODELREG_")}
    return subprocess.run([sys.executable, "-m", "app", "audit", "verify"], capture_output=True, text=True,
                          env={**clean, "MODELREG_DATABASE_URL": database_url}, timeout=60, stdin=subprocess.DEVNULL)


async def test_intact_chain_verifies(api, database_url):
    await five_events(api)
    done = verify_cli(database_url)
    assert done.returncode == 0, done.stderr
    assert '"ok": true' in done.stdout and '"checked": 5' in done.stdout


@pytest.mark.parametrize("tamper,broken,problem", [
    ("UPDATE audit_events SET detail = 'nothing happened' WHERE seq = 3", 3, "edited"),
    ("UPDATE audit_events SET after = '{\"tags\":{\"k\":\"w\"}}' WHERE seq = 3", 3, "edited"),
    ("UPDATE audit_events SET actor_subject = 'someone-else' WHERE seq = 5", 5, "edited"),
    ("DELETE FROM audit_events WHERE seq = 3", 4, "missing"),
    ("DELETE FROM audit_events WHERE seq = 1", 2, "missing"),
    ("UPDATE audit_events SET seq = seq + 100 WHERE seq = 2", 3, "missing"),
], ids=["detail edited", "after edited", "actor edited", "middle deleted", "first deleted", "renumbered"])
async def test_tampering_is_found_at_the_first_broken_event(api, database_url, tamper, broken, problem):
    await five_events(api)
    with tampering(database_url) as connection:
        connection.execute(text(tamper))
    report = await integrity(api)
    assert not report["ok"] and report["firstBrokenSequence"] == broken and problem in report["problem"], report
    assert type(report["firstBrokenSequence"]) is int
    done = verify_cli(database_url)
    assert done.returncode == 1
    assert f"audit chain broken at event {broken}" in done.stderr


async def test_swapped_rows_are_found(api, database_url):
    """Rows 2 and 3 exchange everything but their sequence numbers (a reordering of history)."""
    await five_events(api)
    columns = ("occurred_at, actor_subject, actor_kind, actor_roles, action, target_type, target_id, target_name, "
               "target_version, before, after, outcome, detail, request_id, client_address, user_agent, prev_hash, "
               "hash")
    with tampering(database_url) as connection:
        rows = {seq: connection.execute(text(f"SELECT {columns} FROM audit_events WHERE seq = :s"), {"s": seq}).one()
                for seq in (2, 3)}
        names = [name.strip() for name in columns.split(",")]
        for seq, other in ((2, 3), (3, 2)):
            connection.execute(text(f"UPDATE audit_events SET {', '.join(f'{n} = :{n}' for n in names)} "
                                    "WHERE seq = :seq"), {**dict(zip(names, rows[other])), "seq": seq})
    report = await integrity(api)
    assert (report["ok"], report["firstBrokenSequence"]) == (False, 2), report


async def test_integrity_is_for_auditors_only(api):
    for role in ("data-scientist", "mlops", "approver"):
        refused = await error(api, INTEGRITY, None, role)
        assert refused["extensions"]["code"] == "FORBIDDEN" and "audit:read" in refused["message"]


@pytest.mark.skipif(backend() != "postgresql", reason="the append-only trigger exists on PostgreSQL only")
@pytest.mark.parametrize("statement", ["UPDATE audit_events SET detail = 'x'", "DELETE FROM audit_events",
                                       "TRUNCATE audit_events"])
async def test_postgresql_refuses_changing_or_deleting_events(api, database_url, statement):
    await five_events(api)
    engine = sync_engine(database_url)
    try:
        with pytest.raises(DBAPIError, match="append-only"):
            with engine.begin() as connection:
                connection.execute(text(statement))
    finally:
        engine.dispose()
    assert (await integrity(api))["ok"]
