"""A real OpenID provider for tests: the npm package oidc-provider (tests/js/oidc_provider.mjs), started once
per test session on free loopback ports, with two issuers:

- ``idp``: a company provider (RS256). One client-credentials client per registry role (``svc-<role>``, the
  role in a ``roles`` claim), ``svc-groups`` whose token carries ``groups``, ``svc-ci`` with no role claim at
  all (for grouping by client id), and ``browser``: a public client for the authorization code flow with PKCE.
  User accounts (any login name, any password) get access token claims from ACCOUNTS (``dana``: a member of
  ``ml-churn``, which tests map to a role within a namespace).
- ``gha``: a GitHub Actions-like issuer (ES256) whose client-credentials tokens carry ``repository`` and
  ``ref`` claims.

Both issue RFC 9068 JWT access tokens for the audience AUDIENCE. A missing Node.js or ``npm ci`` is a test
failure with what to do, never a skip.
"""

from __future__ import annotations

import atexit
import json
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.support.live_server import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "js" / "oidc_provider.mjs"
AUDIENCE = "api://modelreg"
ROLES = ("data-scientist", "mlops", "approver", "auditor", "nobody")
SECRET = "test-client-secret-0123456789abcdef"
BROWSER_CLIENT = "browser"
DEVICE_CLIENT = "cli"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ACCOUNTS = {"alice": {"groups": ["ml-approvers", "staff"]}, "bob": {"roles": ["data-scientist"]},
            "dana": {"groups": ["ml-churn", "staff"]}}
GHA_CLIENTS = {"gha-fraud-main": ("acme/fraud-model", "refs/heads/main"),
               "gha-fraud-branch": ("acme/fraud-model", "refs/heads/experiment")}
START_TIMEOUT_S = 30


class ProviderUnavailable(RuntimeError):
    """The provider could not be started; the message says what to install or run."""


def _check_tools() -> None:
    problems = []
    if not shutil.which("node"):
        problems.append("`node` is not on PATH (install Node.js 20 or later)")
    if not (ROOT / "node_modules" / "oidc-provider" / "package.json").is_file():
        problems.append("node_modules/oidc-provider is missing (run `npm ci` in the project folder)")
    if problems:
        raise ProviderUnavailable("the OpenID provider for the tests cannot start:\n  " + "\n  ".join(problems))


@dataclass
class OidcProvider:
    """The running provider process and helpers to get tokens from it and to steer it."""

    workdir: Path
    urls: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    _tokens: dict[tuple[str, str], tuple[str, float]] = field(default_factory=dict)

    def start(self) -> "OidcProvider":
        _check_tools()
        clients = [{"client_id": f"svc-{role}", "client_secret": SECRET, "grant_types": ["client_credentials"],
                    "claims": {"roles": [role]}} for role in ROLES]
        clients.append({"client_id": "svc-groups", "client_secret": SECRET, "grant_types": ["client_credentials"],
                        "claims": {"groups": ["ml-platform"]}})
        clients.append({"client_id": "svc-ci", "client_secret": SECRET, "grant_types": ["client_credentials"]})
        # A public client (PKCE, no secret). "native" lets a loopback redirect URI use any port (RFC 8252 7.3),
        # so live servers on free ports can take the callback.
        clients.append({"client_id": BROWSER_CLIENT, "grant_types": ["authorization_code"],
                        "application_type": "native", "redirect_uris": ["http://127.0.0.1/auth/callback"]})
        clients.append({"client_id": DEVICE_CLIENT, "grant_types": [DEVICE_GRANT]})
        gha = [{"client_id": name, "client_secret": SECRET, "grant_types": ["client_credentials"],
                "claims": {"repository": repo, "ref": ref, "repository_owner": "acme"}}
               for name, (repo, ref) in GHA_CLIENTS.items()]
        config = {"issuers": [
            {"name": "idp", "port": free_port(), "audience": AUDIENCE, "alg": "RS256", "accessTokenTTL": 1800,
             "keysFile": str(self.workdir / "idp-keys.json"), "clients": clients, "accounts": ACCOUNTS},
            {"name": "gha", "port": free_port(), "audience": AUDIENCE, "alg": "ES256", "accessTokenTTL": 1800,
             "keysFile": str(self.workdir / "gha-keys.json"), "clients": gha},
        ]}
        config_path = self.workdir / "oidc-provider.json"
        config_path.write_text(json.dumps(config))
        self._log = open(self.workdir / "oidc-provider.log", "wb")
        self.process = subprocess.Popen(["node", str(SCRIPT), str(config_path)], cwd=ROOT, stdout=subprocess.PIPE,
                                        stderr=self._log, stdin=subprocess.DEVNULL)
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], START_TIMEOUT_S)
        line = self.process.stdout.readline() if ready else b""  # the ready line, or EOF when it died
        if not line:
            self.stop()
            raise ProviderUnavailable(f"oidc-provider did not start:\n{self.log()[-3000:]}")
        self.urls = json.loads(line)["issuers"]
        return self

    def log(self) -> str:
        self._log.flush()
        return (self.workdir / "oidc-provider.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @property
    def issuer(self) -> str:
        return self.urls["idp"]

    @property
    def gha_issuer(self) -> str:
        return self.urls["gha"]

    # Tokens.

    def client_token(self, client_id: str, issuer: str = "idp", *, fresh: bool = False) -> str:
        """A client-credentials access token (cached per client until a minute before it expires)."""
        key = (issuer, client_id)
        cached = self._tokens.get(key)
        if cached and not fresh and cached[1] > time.time() + 60:
            return cached[0]
        response = httpx.post(f"{self.urls[issuer]}/token", data={"grant_type": "client_credentials"},
                              auth=(client_id, SECRET), timeout=10)
        assert response.status_code == 200, response.text
        body = response.json()
        self._tokens[key] = (body["access_token"], time.time() + body["expires_in"])
        return body["access_token"]

    def role_token(self, role: str, *, fresh: bool = False) -> str:
        return self.client_token(f"svc-{role}", fresh=fresh)

    def signing_keys(self, issuer: str = "idp") -> KeySet:
        """The provider's private signing keys (first: the current one), to forge hostile tokens."""
        return KeySet.import_key_set(json.loads((self.workdir / f"{issuer}-keys.json").read_text()))

    def forge(self, claims: dict[str, Any], *, issuer: str = "idp", header: dict[str, Any] | None = None,
              drop: tuple[str, ...] = ()) -> str:
        """A token signed with the provider's real current key: valid claims unless overridden."""
        key = self.signing_keys(issuer).keys[0]
        now = int(time.time())
        body = {"iss": self.urls[issuer], "aud": AUDIENCE, "sub": "forged", "client_id": "forged", "iat": now,
                "exp": now + 300, "jti": f"j{now}", **claims}
        for name in drop:
            body.pop(name, None)
        return jwt.encode({"alg": key.alg or "RS256", "kid": key.kid, "typ": "at+jwt", **(header or {})}, body, key)

    # Steering.

    def _admin(self, issuer: str, method: str, path: str) -> dict[str, Any]:
        response = httpx.request(method, f"{self.urls[issuer]}/__test/{path}", timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def rotate(self, issuer: str = "idp", *, drop: bool = False) -> list[str]:
        """A new signing key, used from now on; the old ones stay published unless ``drop``. Returns the kids."""
        self._tokens.clear()
        return self._admin(issuer, "POST", "rotate" + ("?drop=1" if drop else ""))["kids"]

    def outage(self, on: bool, issuer: str = "idp") -> None:
        self._admin(issuer, "POST", f"outage?on={int(on)}")

    def stats(self, issuer: str = "idp") -> dict[str, int]:
        return self._admin(issuer, "GET", "stats")


_shared: dict[str, OidcProvider] = {}


def provider() -> OidcProvider:
    """The session's provider, started on first use and stopped when the test process exits."""
    if "provider" not in _shared:
        workdir = Path(tempfile.mkdtemp(prefix="modelreg-oidc-"))
        started = OidcProvider(workdir).start()
        _shared["provider"] = started

        def cleanup() -> None:
            started.stop()
            shutil.rmtree(workdir, ignore_errors=True)

        atexit.register(cleanup)
    return _shared["provider"]


# Server configuration for the provider: a policy with grouping rules and an issuers file.

GROUPING_RULES = (
    "g, group:ml-approvers, approver",
    "g, group:ml-platform, mlops",
    "g, repo:acme/fraud-model:ref:refs/heads/main, mlops",
    "g, client:svc-ci, data-scientist",
)


def policy_dir(folder: Path, shipped: Path) -> Path:
    """A copy of the shipped policy with GROUPING_RULES appended."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(shipped / "model.conf", folder / "model.conf")
    text = (shipped / "policy.csv").read_text(encoding="utf-8")
    (folder / "policy.csv").write_text(text + "\n" + "\n".join(GROUPING_RULES) + "\n", encoding="utf-8")
    return folder


def issuers_file(folder: Path, idp: OidcProvider) -> Path:
    """Both issuers: the company provider for people and services, the GitHub Actions-like one for CI."""
    path = folder / "issuers.toml"
    path.write_text(f"""
[[issuers]]
name = "idp"
issuer = "{idp.issuer}"
audience = ["{AUDIENCE}", "modelreg"]
role_claims = ["roles", "group:{{groups}}"]

[[issuers]]
name = "github-actions"
issuer = "{idp.gha_issuer}"
audience = "{AUDIENCE}"
role_claims = ["repo:{{repository}}:ref:{{ref}}"]
kind = "service"
subject_prefix = "github:"
""", encoding="utf-8")
    return path
