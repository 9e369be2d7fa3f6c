"""The GraphQL-over-HTTP audit suite (npm graphql-http, auditServer) against a real server: all 61 pass.

Needs Node and `npm install` in the project root. Either missing is a failure, never a skip.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from app.auth import dev_issuer

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
AUDIT_SCRIPT = ROOT / "tests" / "js" / "http_audit.mjs"
GRAPHQL_HTTP = ROOT / "node_modules" / "graphql-http" / "package.json"
EXPECTED_AUDITS = 61
TIMEOUT_SECONDS = 180


def describe(failures: list[dict]) -> str:
    return "\n".join(
        f"  [{f['status']}] {f['id']} {f['name']}\n      reason: {f.get('reason')}\n"
        f"      got: HTTP {f.get('httpStatus')} {f.get('contentType')} {f.get('body')}"
        for f in failures
    )


def test_graphql_over_http_audit_passes(live_server):
    node = shutil.which("node")
    assert node, "node is not on PATH: the GraphQL-over-HTTP audit needs Node 20+"
    assert GRAPHQL_HTTP.is_file(), f"{GRAPHQL_HTTP} is missing: run `npm install` in {ROOT}"
    token = dev_issuer.mint_token(live_server.data_dir, subject="audit", roles=["data-scientist"],
                                  audience="modelreg")
    try:
        done = subprocess.run([node, str(AUDIT_SCRIPT), f"{live_server.url}/graphql", token], cwd=ROOT,
                              capture_output=True, text=True, timeout=TIMEOUT_SECONDS, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"the audit did not finish in {TIMEOUT_SECONDS}s; stderr:\n{error.stderr}\n"
                    f"server log:\n{live_server.log()[-3000:]}")

    try:
        summary = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"the audit printed no JSON summary (exit {done.returncode})\nstdout:\n{done.stdout}\n"
                    f"stderr:\n{done.stderr}")
    assert "fatal" not in summary, f"the audit crashed:\n{summary['fatal']}\nserver log:\n{live_server.log()[-3000:]}"

    counts = {key: summary[key] for key in ("total", "ok", "notice", "warn", "error")}
    assert not summary["failures"], f"audits not passing {counts}:\n{describe(summary['failures'])}"
    assert counts == {"total": EXPECTED_AUDITS, "ok": EXPECTED_AUDITS, "notice": 0, "warn": 0, "error": 0}, (
        f"expected all {EXPECTED_AUDITS} audits to run and pass (graphql-http version changed?): {counts}")
    assert done.returncode == 0, done.stderr
