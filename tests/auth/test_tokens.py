"""Bearer token validation: what is accepted, what is refused, and how claims become a Principal."""

import base64
import json
import time
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from app.auth import dev_issuer
from app.auth.authorizer import CasbinAuthorizer
from app.auth.jwks import StaticKeySource
from app.auth.tokens import TokenAuthenticator
from app.domain.errors import Unauthenticated
from app.domain.identity import PrincipalKind

POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture
def issuer(tmp_path):
    key = dev_issuer.load_or_create_key(tmp_path)

    def sign(claims=None, header=None, drop=(), signing_key=None):
        now = int(time.time())
        body = {"iss": dev_issuer.DEV_ISSUER, "aud": "modelreg", "sub": "alice", "iat": now, "exp": now + 300,
                "roles": ["data-scientist"], **(claims or {})}
        for name in drop:
            body.pop(name)
        return jwt.encode({"alg": "RS256", "kid": key.kid, **(header or {})}, body, signing_key or key)

    sign.key = key
    return sign


def authenticator(tmp_path, roles_claim="roles"):
    return TokenAuthenticator(issuer=dev_issuer.DEV_ISSUER, audience="modelreg",
                              keys=StaticKeySource(dev_issuer.public_key_set(tmp_path)), roles_claim=roles_claim,
                              roles_for=CasbinAuthorizer(POLICIES).roles_for)


async def test_valid_token_becomes_a_principal(tmp_path, issuer):
    principal = await authenticator(tmp_path).authenticate(issuer())
    assert (principal.subject, principal.kind, principal.roles) == ("alice", PrincipalKind.USER,
                                                                      frozenset({"data-scientist"}))


async def test_client_credentials_token_is_a_service(tmp_path, issuer):
    principal = await authenticator(tmp_path).authenticate(issuer({"sub": "ci", "client_id": "ci"}))
    assert principal.kind is PrincipalKind.SERVICE


async def test_roles_from_a_nested_claim(tmp_path, issuer):
    token = issuer({"realm_access": {"roles": ["mlops", "offline_access"]}})
    principal = await authenticator(tmp_path, "realm_access.roles").authenticate(token)
    assert principal.roles == frozenset({"mlops"})


def _unsigned(token: str) -> str:
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none"}).encode()).decode().rstrip("=")
    return f"{header}.{token.split('.')[1]}."


@pytest.mark.parametrize("case", [
    "expired", "not yet valid", "wrong issuer", "wrong audience", "no subject", "subject too long", "tampered",
    "alg none", "hs256 with public key", "unknown kid", "oversized", "garbage",
])
async def test_hostile_tokens_are_refused(tmp_path, issuer, case):
    now = int(time.time())
    public = OctKey.import_key(json.dumps(issuer.key.as_dict(private=False)).encode())
    token = {
        "expired": lambda: issuer({"exp": now - 3600, "iat": now - 7200}),
        "not yet valid": lambda: issuer({"nbf": now + 3600}),
        "wrong issuer": lambda: issuer({"iss": "https://evil.example"}),
        "wrong audience": lambda: issuer({"aud": "someone-else"}),
        "no subject": lambda: issuer(drop=("sub",)),
        "subject too long": lambda: issuer({"sub": "x" * 257}),
        "tampered": lambda: (lambda t: t.split(".")[0] + "." + base64.urlsafe_b64encode(json.dumps(
            {"sub": "mallory", "aud": "modelreg", "iss": dev_issuer.DEV_ISSUER, "exp": now + 300,
             "roles": ["mlops"]}).encode()).decode().rstrip("=") + "." + t.split(".")[2])(issuer()),
        "alg none": lambda: _unsigned(issuer()),
        "hs256 with public key": lambda: issuer(header={"alg": "HS256"}, signing_key=public),
        "unknown kid": lambda: issuer(header={"kid": "nope"}, signing_key=RSAKey.generate_key(2048)),
        "oversized": lambda: issuer({"padding": "x" * 20_000}),
        "garbage": lambda: "not.a.jwt",
    }[case]()
    with pytest.raises(Unauthenticated) as refused:
        await authenticator(tmp_path).authenticate(token)
    assert token not in refused.value.message


async def test_token_types_other_than_access_tokens_are_refused(tmp_path, issuer):
    with pytest.raises(Unauthenticated):
        await authenticator(tmp_path).authenticate(issuer(header={"typ": "logout+jwt"}))
    assert (await authenticator(tmp_path).authenticate(issuer(header={"typ": "at+jwt"}))).subject == "alice"
