"""Sign-in of the client against the real OpenID provider (npm oidc-provider, tests/support/oidc.py): people with
`modelreg login` (the device authorization grant, RFC 8628: the test confirms the code on the provider's pages as a
browser would), and a GitHub Actions job with the runner's OIDC token, mapped to the least-privilege `ci` role."""

from __future__ import annotations

import json
import os
import selectors
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from app.config import Settings
from tests.e2e.test_oidc_server import submit_form
from tests.support.live_server import LiveServer
from tests.support.oidc import AUDIENCE, DEVICE_CLIENT, OidcProvider, issuers_file

pytestmark = pytest.mark.e2e

RUNNER_TOKEN = "runner-request-token-0123456789"
# The GitHub Actions preset of docs/identity.md: the main branch of the repository is the ci role.
CI_RULE = "g, repo:acme/fraud-model:ref:refs/heads/main, ci"


@pytest.fixture(scope="module")
def server(idp: OidcProvider, tmp_path_factory, artifact_store_env) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("client-oidc")
    policies = folder / "policies"
    shutil.copytree(Settings().policy_dir, policies)
    with (policies / "policy.csv").open("a", encoding="utf-8") as policy:
        policy.write(f"\n{CI_RULE}\n")
    live = LiveServer(folder, f"sqlite:///{folder / 'registry.db'}", {
        **artifact_store_env, "MODELREG_OIDC_ISSUERS_FILE": str(issuers_file(folder, idp)),
        "MODELREG_POLICY_DIR": str(policies)})
    yield live
    live.stop()


def env(server: LiveServer, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MODELREG_", "ACTIONS_ID_TOKEN", "CI"))}
    return {**base, "MODELREG_URL": server.url, **extra}


def modelreg(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "modelreg_client.cli", *args], env=environment,
                          capture_output=True, text=True, timeout=60)


def start_login(server: LiveServer, idp: OidcProvider, config_dir: Path) -> tuple[subprocess.Popen[str], str]:
    """`modelreg login` running; returns it and the verification URL it printed."""
    login = subprocess.Popen(
        [sys.executable, "-m", "modelreg_client.cli", "login", "--issuer", idp.issuer, "--client-id", DEVICE_CLIENT,
         "--scope", "openid"],
        env=env(server, MODELREG_CONFIG_DIR=str(config_dir)), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    assert login.stderr is not None
    selector = selectors.DefaultSelector()
    selector.register(login.stderr, selectors.EVENT_READ)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not selector.select(timeout=1):
            continue  # nothing yet: a busy machine takes seconds to start the command
        line = login.stderr.readline()
        if line.startswith("To sign in, open "):
            return login, line.removeprefix("To sign in, open ").strip()
        if not line:
            break
    login.kill()
    raise AssertionError(f"modelreg login printed no URL: {login.communicate()}")


def confirm_in_browser(url: str, login_name: str, *, abort: bool = False) -> httpx.Response:
    """What a person does: open the URL, confirm the code, sign in, consent (or abort at the code). The pages are
    the provider's; a browser submits the self-submitting ones by script."""
    with httpx.Client(follow_redirects=True, timeout=15) as browser:
        page = browser.get(url)
        for _ in range(8):
            if "Submitting Callback" in page.text:
                page = submit_form(browser, page, {})
            elif "Confirm Device" in page.text:
                page = submit_form(browser, page, {"abort": "yes"} if abort else {})
            elif 'name="login"' in page.text:
                page = submit_form(browser, page, {"login": login_name, "password": "any"})
            elif "Authorize" in page.text:
                page = submit_form(browser, page, {})
            else:
                return page
        raise AssertionError(f"the sign-in pages did not end: {page.text[:500]}")


def test_device_login_then_commands_use_the_saved_token(server, idp, tmp_path):
    login, url = start_login(server, idp, tmp_path)
    try:
        done = confirm_in_browser(url, "bob")
        assert done.status_code == 200, done.text[:300]
        _, stderr = login.communicate(timeout=30)
    finally:
        login.kill()
    assert login.returncode == 0, stderr
    saved = tmp_path / "login.json"
    assert saved.stat().st_mode & 0o077 == 0  # the owner's only
    whoami = modelreg(env(server, MODELREG_CONFIG_DIR=str(tmp_path)), "whoami", "--json")
    assert whoami.returncode == 0, whoami.stderr
    assert json.loads(whoami.stdout)["subject"] == "bob" and json.loads(whoami.stdout)["roles"] == ["data-scientist"]


def test_device_login_refused_in_the_browser_is_unauthenticated(server, idp, tmp_path):
    login, url = start_login(server, idp, tmp_path)
    try:
        confirm_in_browser(url, "bob", abort=True)
        _, stderr = login.communicate(timeout=30)
    finally:
        login.kill()
    assert login.returncode == 3, stderr
    assert "UNAUTHENTICATED: the sign-in was refused in the browser" in stderr
    assert not (tmp_path / "login.json").exists()


class _Runner(BaseHTTPRequestHandler):
    """The Actions runner's token request endpoint (ACTIONS_ID_TOKEN_REQUEST_URL): GitHub's documented exchange, the
    request token as a bearer, the audience as a query parameter. The token it hands out is a real one of the
    GitHub-like issuer for the client chosen per test."""

    client_id: ClassVar[str] = "gha-fraud-main"
    idp: ClassVar[OidcProvider]
    audiences: ClassVar[list[str]] = []
    url: ClassVar[str] = ""

    def do_GET(self) -> None:
        query = parse_qs(urlparse(self.path).query)
        if self.headers.get("authorization") != f"bearer {RUNNER_TOKEN}":
            self.send_response(401)
            self.end_headers()
            return
        self.audiences.append(query["audience"][0])
        body = json.dumps({"value": self.idp.client_token(self.client_id, issuer="gha")}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def runner(idp) -> Iterator[type[_Runner]]:
    _Runner.idp, _Runner.audiences = idp, []
    http = ThreadingHTTPServer(("127.0.0.1", 0), _Runner)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    _Runner.url = f"http://127.0.0.1:{http.server_address[1]}/token?api-version=2.0"
    yield _Runner
    http.shutdown()
    _Runner.client_id = "gha-fraud-main"


def test_github_actions_oidc_token_is_the_ci_role(server, runner, tmp_path):
    actions = env(server, ACTIONS_ID_TOKEN_REQUEST_URL=runner.url, ACTIONS_ID_TOKEN_REQUEST_TOKEN=RUNNER_TOKEN,
                  MODELREG_AUDIENCE=AUDIENCE, CI="true")
    whoami = modelreg(actions, "whoami")
    assert whoami.returncode == 0, whoami.stderr
    assert whoami.stdout.strip() == "github:gha-fraud-main (SERVICE) roles: ci"
    assert runner.audiences == [AUDIENCE]
    (tmp_path / "model.bin").write_bytes(b"weights from a workflow")
    pushed = modelreg(actions, "push", str(tmp_path / "model.bin"), "--name", "gha/fraud", "--request", "STAGING")
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.splitlines()[0] == "models:/gha/fraud/1"
    assert modelreg(actions, "rollback", "gha/fraud", "--reason", "no").returncode == 4  # ci cannot


def test_github_actions_token_of_another_branch_has_no_role(server, runner, tmp_path):
    runner.client_id = "gha-fraud-branch"
    actions = env(server, ACTIONS_ID_TOKEN_REQUEST_URL=runner.url, ACTIONS_ID_TOKEN_REQUEST_TOKEN=RUNNER_TOKEN,
                  MODELREG_AUDIENCE=AUDIENCE)
    (tmp_path / "model.bin").write_bytes(b"weights from a branch")
    pushed = modelreg(actions, "push", str(tmp_path / "model.bin"), "--name", "gha/fraud")
    assert pushed.returncode == 4 and "FORBIDDEN" in pushed.stderr


def test_github_actions_without_id_token_permission_is_unauthenticated(server, runner):
    actions = env(server, ACTIONS_ID_TOKEN_REQUEST_URL=runner.url, ACTIONS_ID_TOKEN_REQUEST_TOKEN="wrong")
    refused = modelreg(actions, "whoami")
    assert refused.returncode == 3 and "id-token: write" in refused.stderr
