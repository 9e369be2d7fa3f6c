"""The client's `modelreg` command against a live server (issue 16's "done when"): push a folder with lineage and a
model card, request PRODUCTION and wait while a second identity approves from its own terminal, pull by alias and
compare bytes, resume a cut download; and each error class gives its exit code. Every command runs as a real
process (`python -m modelreg_client.cli`), one through the `modelreg` on the virtualenv's PATH."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.auth import dev_issuer
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.e2e

FILES = {
    "MLmodel": b"flavors: {sklearn: {}}\n",
    "model.pkl": os.urandom(3 * 1024 * 1024 + 17),
    "conda.yaml": b"dependencies: [python=3.11]\n",
    "data/vocab.txt": b"alpha\nbeta\n",
}
CARD = "# Churn model\n\nTrained on churn-events v3.\n"
SET_ALIAS = """
mutation SetAlias($input: SetModelAliasInput!) { setModelAlias(input: $input) { modelAlias { uri } } }
"""
LINEAGE = """
query Lineage($name: String!, $version: Int!) {
  modelVersion(name: $name, version: $version) {
    stage flavor metrics { name value } params { name value } tags { key value }
    run { tracker runId } code { repositoryUrl commitSha }
    documents { nodes { kind markdown } }
    reproducibility { datasets { dataset { name version uri } kind } parents { modelVersion { uri } } }
  }
}
"""


def token(server: LiveServer, sub: str, *roles: str, service: bool = False) -> str:
    return dev_issuer.mint_token(server.data_dir, subject=sub, roles=list(roles), audience="modelreg",
                                 ttl_seconds=3600, service=service)


def cli_env(server: LiveServer, bearer: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELREG_", "ACTIONS_ID_TOKEN", "CI"))}
    env.update({"MODELREG_URL": server.url, "MODELREG_POLL_INTERVAL": "0.2", "MODELREG_CONFIG_DIR": "/nonexistent",
                **extra})
    if bearer:
        env["MODELREG_TOKEN"] = bearer
    return env


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "modelreg_client.cli", *args]


def modelreg(server: LiveServer, bearer: str | None, *args: str, cwd: Path | None = None,
             **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(*args), env=cli_env(server, bearer, **extra), cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def graphql(server: LiveServer, bearer: str, query: str, variables: dict) -> dict:
    body = httpx.post(f"{server.url}/graphql", json={"query": query, "variables": variables},
                      headers={"authorization": f"Bearer {bearer}"}, timeout=30).json()
    assert not body.get("errors"), body
    return body["data"]


def model_folder(root: Path) -> Path:
    folder = root / "model"
    for path, data in FILES.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    (root / "card.md").write_text(CARD)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "remote", "add", "origin", "git@github.com:acme/churn.git"], check=True)
    subprocess.run(["git", "-C", str(root), "-c", "user.name=ci", "-c", "user.email=ci@example.test", "commit", "-q",
                    "--allow-empty", "-m", "train"], check=True)
    return folder


def pending_request(server: LiveServer, approver: str, name: str, deadline: float) -> dict:
    while time.monotonic() < deadline:
        listed = modelreg(server, approver, "requests", "--pending", "--name", name, "--json")
        assert listed.returncode == 0, listed.stderr
        production = [r for r in json.loads(listed.stdout) if r["toStage"] == "PRODUCTION"]
        if production:
            return production[0]
        time.sleep(0.2)
    raise AssertionError("no PRODUCTION request appeared")


def test_push_with_lineage_request_production_approve_wait_then_pull_by_alias(live_server, tmp_path):
    ci, alice = token(live_server, "ci-churn", "ci", service=True), token(live_server, "alice", "approver")
    folder = model_folder(tmp_path)
    parent = modelreg(live_server, ci, "push", str(folder / "MLmodel"), "--name", "cli/churn")
    assert parent.returncode == 0, parent.stderr
    assert parent.stdout.strip() == "models:/cli/churn/1"

    push = subprocess.Popen(
        command("push", str(folder), "--name", "cli/churn", "--flavor", "sklearn", "--metric", "auc=0.93",
                "--param", "max_depth=6", "--tag", "team=growth", "--dataset", "churn-events@v3=s3://lake/churn/v3",
                "--run", "mlflow:8f2c1a", "--code", "auto", "--parent", "models:/cli/churn/1",
                "--document", f"MODEL_CARD={tmp_path / 'card.md'}", "--request", "PRODUCTION",
                "--comment", "beats v1", "--wait", "--timeout", "60", "--json"),
        env=cli_env(live_server, ci), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        request = pending_request(live_server, alice, "cli/churn", time.monotonic() + 60)
        assert request["status"] == "PENDING" and request["requestedBy"]["subject"] == "ci-churn"
        approved = modelreg(live_server, alice, "approve", request["id"], "--comment", "card reviewed")
        assert approved.returncode == 0, approved.stderr
        stdout, stderr = push.communicate(timeout=60)
    finally:
        push.kill()
    assert push.returncode == 0, stderr
    pushed = json.loads(stdout)
    assert pushed["uri"] == "models:/cli/churn/2" and pushed["files"] == 4 and pushed["skippedFiles"] == 1  # MLmodel
    assert [r["toStage"] for r in pushed["requests"]] == ["STAGING", "PRODUCTION"]
    assert [r["status"] for r in pushed["requests"]] == ["APPLIED", "APPLIED"]
    assert pushed["version"]["stage"] == "PRODUCTION" and pushed["version"]["status"] == "READY"

    commit = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    version = graphql(live_server, ci, LINEAGE, {"name": "cli/churn", "version": 2})["modelVersion"]
    assert version["flavor"] == "sklearn" and version["metrics"] == [{"name": "auc", "value": 0.93}]
    assert version["params"] == [{"name": "max_depth", "value": "6"}]
    assert version["tags"] == [{"key": "team", "value": "growth"}]
    assert version["run"] == {"tracker": "MLFLOW", "runId": "8f2c1a"}
    assert version["code"] == {"repositoryUrl": "https://github.com/acme/churn", "commitSha": commit.strip()}
    assert version["documents"]["nodes"] == [{"kind": "MODEL_CARD", "markdown": CARD}]
    assert version["reproducibility"]["datasets"] == [
        {"dataset": {"name": "churn-events", "version": "v3", "uri": "s3://lake/churn/v3"}, "kind": "TRAINED_ON"}]
    assert version["reproducibility"]["parents"] == [{"modelVersion": {"uri": "models:/cli/churn/1"}}]

    graphql(live_server, token(live_server, "ops", "mlops"), SET_ALIAS,
            {"input": {"name": "cli/churn", "alias": "challenger", "version": 2}})
    dest = tmp_path / "pulled"
    pulled = modelreg(live_server, ci, "pull", "models:/cli/churn@challenger", str(dest), "--json")
    assert pulled.returncode == 0, pulled.stderr
    assert json.loads(pulled.stdout) == {"uri": "models:/cli/churn/2", "files": 4, "downloaded": 4,
                                         "bytes": sum(len(data) for data in FILES.values())}
    assert {p.relative_to(dest).as_posix(): p.read_bytes() for p in dest.rglob("*") if p.is_file()} == FILES

    # A download cut in the middle: half the file in model.pkl.part; the next pull asks for the rest only.
    (dest / "model.pkl").unlink()
    (dest / "model.pkl.part").write_bytes(FILES["model.pkl"][: len(FILES["model.pkl"]) // 2])
    resumed = modelreg(live_server, ci, "pull", "models:/cli/churn/Production", str(dest), "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["downloaded"] == 1
    assert (dest / "model.pkl").read_bytes() == FILES["model.pkl"] and not (dest / "model.pkl.part").exists()

    status = modelreg(live_server, ci, "status", "models:/cli/churn@challenger")
    assert status.returncode == 0 and "models:/cli/churn/2  stage PRODUCTION  status READY" in status.stdout


def test_one_modelreg_on_path_runs_client_and_server_commands(live_server):
    binary = Path(sys.executable).parent / "modelreg"
    env = cli_env(live_server, token(live_server, "ci-bot", "ci", service=True))
    whoami = subprocess.run([str(binary), "whoami"], env=env, capture_output=True, text=True, timeout=60)
    assert whoami.returncode == 0 and whoami.stdout.strip() == "ci-bot (SERVICE) roles: ci", whoami.stderr
    server_help = subprocess.run([str(binary), "token", "--help"], capture_output=True, text=True, timeout=60)
    assert server_help.returncode == 0 and "--sub" in server_help.stdout


@pytest.fixture(scope="module")
def promoted(live_server, tmp_path_factory) -> str:
    """A version of its own model with a model card, in STAGING, with a PRODUCTION request pending."""
    folder = tmp_path_factory.mktemp("exit-codes")
    (folder / "weights.bin").write_bytes(b"weights for exit codes")
    (folder / "card.md").write_text("# card")
    ci = token(live_server, "ci-exit", "ci", service=True)
    pushed = modelreg(live_server, ci, "push", str(folder / "weights.bin"), "--name", "cli/exit-codes",
                      "--document", f"MODEL_CARD={folder / 'card.md'}", "--request", "PRODUCTION", "--json")
    assert pushed.returncode == 0, pushed.stderr
    assert [r["status"] for r in json.loads(pushed.stdout)["requests"]] == ["APPLIED", "PENDING"]
    return json.loads(pushed.stdout)["uri"]


def test_exit_codes_one_per_error_class(live_server, tmp_path, promoted):
    ci = token(live_server, "ci-exit", "ci", service=True)
    (tmp_path / "f.bin").write_bytes(b"x")
    cases = {
        # class: (exit code, token, arguments)
        "bad input (client)": (2, ci, ("push", str(tmp_path / "missing"), "--name", "m")),
        "bad input (metric)": (2, ci, ("push", str(tmp_path / "f.bin"), "--name", "m", "--metric", "auc=high")),
        "bad input (server)": (2, ci, ("push", str(tmp_path / "f.bin"), "--name", "bad name/../x")),
        "unauthenticated": (3, "not-a-jwt", ("whoami",)),
        "forbidden": (4, token(live_server, "audrey", "auditor"), ("push", str(tmp_path / "f.bin"), "--name", "m")),
        "forbidden for ci: rollback": (4, ci, ("rollback", "cli/exit-codes", "--reason", "no")),
        "not found": (5, ci, ("pull", "models:/cli/nothing/1", str(tmp_path / "out"))),
        "conflict": (6, ci, ("promote", promoted, "--to", "PRODUCTION")),
        "precondition (gate: no model card)": (7, ci, ("push", str(tmp_path / "f.bin"), "--name", "cli/no-card",
                                                       "--request", "PRODUCTION")),
        "timed out": (8, ci, ("push", str(tmp_path / "f.bin"), "--name", "cli/exit-codes", "--document",
                              f"MODEL_CARD={tmp_path / 'f.bin'}", "--request", "PRODUCTION", "--wait",
                              "--timeout", "0.5")),
        "server unreachable": (9, ci, ("whoami", "--url", "http://127.0.0.1:9")),
    }
    results = {}
    for name, (_, bearer, args) in cases.items():
        done = modelreg(live_server, bearer, *args)
        results[name] = (done.returncode, done.stderr.strip().splitlines()[-1:] if done.stderr else [])
    assert {name: code for name, (code, _) in results.items()} == {n: c[0] for n, c in cases.items()}, results
    codes = {2: "BAD_USER_INPUT", 3: "UNAUTHENTICATED", 4: "FORBIDDEN", 5: "NOT_FOUND", 6: "CONFLICT",
             7: "FAILED_PRECONDITION", 8: "TIMED_OUT", 9: "UNAVAILABLE"}
    for name, (code, last_line) in results.items():
        assert last_line and last_line[0].startswith(f"modelreg: {codes[code]}: "), (name, last_line)


def test_reject_from_a_terminal_fails_the_waiting_push_then_rollback(live_server, tmp_path):
    ci, alice = token(live_server, "ci-fraud", "ci", service=True), token(live_server, "alice", "approver")
    ops = token(live_server, "ops", "mlops")
    (tmp_path / "card.md").write_text("# card")
    card = f"MODEL_CARD={tmp_path / 'card.md'}"

    def push_version(content: bytes, *extra: str) -> subprocess.Popen[str]:
        (tmp_path / "w.bin").write_bytes(content)
        return subprocess.Popen(command("push", str(tmp_path / "w.bin"), "--name", "cli/fraud", "--document", card,
                                        "--request", "PRODUCTION", *extra), env=cli_env(live_server, ci),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def decide(verb: str, *extra: str) -> subprocess.CompletedProcess[str]:
        request = pending_request(live_server, alice, "cli/fraud", time.monotonic() + 60)
        return modelreg(live_server, alice, verb, request["id"], *extra)

    assert push_version(b"v1").wait(timeout=60) == 0
    assert decide("approve").returncode == 0  # version 1 in PRODUCTION

    waiting = push_version(b"v2", "--wait", "--timeout", "60")
    rejected = decide("reject", "--comment", "needs recalibration")
    assert rejected.returncode == 0 and "REJECTED" in rejected.stdout, rejected.stderr
    _, stderr = waiting.communicate(timeout=60)
    assert waiting.returncode == 7, stderr
    assert "to PRODUCTION was REJECTED: needs recalibration" in stderr

    assert push_version(b"v3").wait(timeout=60) == 0
    assert decide("approve").returncode == 0  # version 3 in PRODUCTION, 1 archived

    mine = modelreg(live_server, ci, "requests", "--mine", "--json")
    assert mine.returncode == 0, mine.stderr
    assert {(r["version"], r["toStage"], r["status"]) for r in json.loads(mine.stdout)} >= {
        (1, "PRODUCTION", "APPLIED"), (2, "PRODUCTION", "REJECTED"), (3, "PRODUCTION", "APPLIED")}
    assert modelreg(live_server, alice, "requests", "--mine", "--json").stdout.strip() == "[]"

    rolled = modelreg(live_server, ops, "rollback", "cli/fraud", "--reason", "bad canary", "--from-version", "3")
    assert rolled.returncode == 0, rolled.stderr
    assert rolled.stdout.strip() == "models:/cli/fraud/1 is in PRODUCTION again; models:/cli/fraud/3 archived"
    again = modelreg(live_server, ops, "rollback", "cli/fraud", "--reason", "retry", "--from-version", "3")
    assert again.returncode == 7 and "FAILED_PRECONDITION" in again.stderr


def test_a_retried_push_with_its_idempotency_key_registers_nothing_twice(live_server, tmp_path):
    ci = token(live_server, "ci-retry", "ci", service=True)
    (tmp_path / "w.bin").write_bytes(b"retried weights")
    (tmp_path / "card.md").write_text("# retried")
    arguments = ("push", str(tmp_path / "w.bin"), "--name", "cli/retry", "--document",
                 f"MODEL_CARD={tmp_path / 'card.md'}", "--request", "PRODUCTION", "--idempotency-key", "job-4711",
                 "--json")
    first, again = (modelreg(live_server, ci, *arguments) for _ in range(2))
    assert first.returncode == 0 and again.returncode == 0, (first.stderr, again.stderr)
    first_push, second_push = json.loads(first.stdout), json.loads(again.stdout)
    assert first_push["uri"] == second_push["uri"] == "models:/cli/retry/1"
    # The retry finds the version in STAGING: it asks for PRODUCTION only, and gets the first push's request back.
    assert [r["toStage"] for r in first_push["requests"]] == ["STAGING", "PRODUCTION"]
    assert [r["id"] for r in second_push["requests"]] == [first_push["requests"][1]["id"]]
    documents = graphql(live_server, ci, LINEAGE, {"name": "cli/retry", "version": 1})["modelVersion"]["documents"]
    assert documents["nodes"] == [{"kind": "MODEL_CARD", "markdown": "# retried"}]
    assert graphql(live_server, ci, "query { modelVersions(filter: {name: {equals: \"cli/retry\"}}) { totalCount } }",
                   {})["modelVersions"]["totalCount"] == 1
