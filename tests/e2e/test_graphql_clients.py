"""Real GraphQL clients against a real server (tests/js/clients/clients_check.mjs):

- Relay: relay-compiler compiles a @refetchable fragment on RegisteredModel (it generates the node(id:) refetch
  query), a @connection list of registeredModels and createRegisteredModel against schema.graphql, into this test's
  temporary folder; relay-runtime runs them: the mutation, the connection paged with first:2 and merged in the
  store, and the refetch by id returning the same model.
- Apollo Client (core): createRegisteredModel; relayStylePagination() paging forward (first/after) and backward
  (last/before) through five models two at a time; and partial data: with errorPolicy 'all' a data-scientist's
  query of viewer, registeredModels and auditEvents gets the first two and one FORBIDDEN error for the third.
- Apollo automatic persisted queries (createPersistedQueryLink + HttpLink, then with useGETForHashedQueries): an
  unknown hash is answered PERSISTED_QUERY_NOT_FOUND, the link's retry with the query registers it, and the next
  request, hash only (POST, then GET), runs the stored document; a recording fetch shows each request's body.
- Apollo BatchHttpLink: five queries travel as one POST of an array and each gets its result; twelve in one batch
  (over MODELREG_MAX_BATCH, 10) are refused together: each query rejects with a ServerError 400 whose result
  carries the server's BAD_USER_INPUT error with limit and actual.

Needs Node and `npm ci` in the project root (./dev setup). Either missing is a failure, never a skip.
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
SCRIPT = ROOT / "tests" / "js" / "clients" / "clients_check.mjs"
NODE_PACKAGES = ("relay-compiler", "relay-runtime", "@apollo/client")
SUBJECT = "clients-e2e"
TIMEOUT_SECONDS = 60

CHECKS = (
    "apollo.mutation",
    "apollo.pagination.forward",
    "apollo.pagination.backward",
    "apollo.partialData",
    "apollo.persistedQueries",
    "apollo.batchedRequests",
    "relay.compile",
    "relay.mutation",
    "relay.connection",
    "relay.refetch",
)


def describe(checks: list[dict]) -> str:
    return "\n".join(f"  [{'pass' if c['ok'] else 'FAIL'}] {c['name']} ({c.get('ms', '?')} ms): {c['detail']}"
                     for c in checks)


def test_relay_and_apollo_clients_work_against_the_server(live_server, tmp_path):
    node = shutil.which("node")
    assert node, "node is not on PATH: the client checks need Node 20+"
    for package in NODE_PACKAGES:
        manifest = ROOT / "node_modules" / package / "package.json"
        assert manifest.is_file(), f"{manifest} is missing: run `./dev setup` (npm ci) in {ROOT}"
    token = dev_issuer.mint_token(live_server.data_dir, subject=SUBJECT, roles=["data-scientist"],
                                  audience="modelreg")
    try:
        done = subprocess.run([node, str(SCRIPT), f"{live_server.url}/graphql", token, SUBJECT, str(tmp_path)],
                              cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_SECONDS,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"the client checks did not finish in {TIMEOUT_SECONDS}s; stderr:\n{error.stderr}\n"
                    f"server log:\n{live_server.log()[-3000:]}")

    try:
        summary = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"the client checks printed no JSON summary (exit {done.returncode})\nstdout:\n{done.stdout}\n"
                    f"stderr:\n{done.stderr[-3000:]}\nserver log:\n{live_server.log()[-3000:]}")
    if "fatal" in summary:
        pytest.fail(f"the client checks crashed:\n{summary['fatal']}\nso far:\n{describe(summary['checks'])}\n"
                    f"server log:\n{live_server.log()[-3000:]}")

    checks = summary["checks"]
    names = [c["name"] for c in checks]
    failed = [c for c in checks if not c["ok"]]
    if failed or sorted(names) != sorted(CHECKS):
        missing = sorted(set(CHECKS) - set(names))
        pytest.fail(f"{len(failed)} of {len(checks)} client checks failed"
                    + (f", missing {missing}" if missing else "") + f":\n{describe(checks)}\n"
                    f"stderr:\n{done.stderr[-2000:]}\nserver log:\n{live_server.log()[-3000:]}", pytrace=False)
    assert done.returncode == 0, done.stderr
