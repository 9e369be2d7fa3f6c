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
from app.auth.claims import RoleSource
from app.auth.issuers import IssuerConfig
from app.auth.tokens import TokenAuthenticator, TokenRefused, TrustedIssuer
from app.domain.errors import Unauthenticated
from app.domain.identity import PrincipalKind

pytestmark = pytest.mark.backend_independent

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


def authenticator(tmp_path, roles_claim="roles", audiences=("modelreg",), leeway=60, **options):
    config = IssuerConfig(issuer=dev_issuer.DEV_ISSUER, audiences=tuple(audiences),
                          role_sources=tuple(RoleSource.parse(s) for s in roles_claim.split(",")), **options)
    trusted = TrustedIssuer(config, StaticKeySource(dev_issuer.public_key_set(tmp_path)))
    return TokenAuthenticator([trusted], roles_for=CasbinAuthorizer(POLICIES).roles_for, leeway=leeway)


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


@pytest.mark.parametrize("case, reason", [
    ("expired", "expired_token"), ("not yet valid", "invalid_claim"), ("issued in the future", "invalid_claim"),
    ("wrong issuer", "untrusted_issuer"), ("wrong audience", "invalid_claim"), ("alg none", "algorithm_not_allowed"),
    ("hs256", "algorithm_not_allowed"), ("unknown kid", "invalid_key_id"), ("no subject", "missing_claim"),
])
async def test_refusals_carry_a_reason_for_the_log(tmp_path, issuer, case, reason):
    now = int(time.time())
    token = {
        "expired": lambda: issuer({"exp": now - 120}),
        "not yet valid": lambda: issuer({"nbf": now + 120}),
        "issued in the future": lambda: issuer({"iat": now + 120}),
        "wrong issuer": lambda: issuer({"iss": "https://evil.example"}),
        "wrong audience": lambda: issuer({"aud": ["other", "another"]}),
        "alg none": lambda: _unsigned(issuer()),
        "hs256": lambda: issuer(header={"alg": "HS256"}, signing_key=OctKey.import_key(b"k" * 32)),
        "unknown kid": lambda: issuer(header={"kid": "nope"}, signing_key=RSAKey.generate_key(2048)),
        "no subject": lambda: issuer(drop=("sub",)),
    }[case]()
    with pytest.raises(TokenRefused) as refused:
        await authenticator(tmp_path).authenticate(token)
    assert refused.value.reason == reason


async def test_leeway_tolerates_small_clock_skew_only(tmp_path, issuer):
    now = int(time.time())
    skewed = issuer({"exp": now - 30, "nbf": now + 30, "iat": now + 30})
    assert (await authenticator(tmp_path).authenticate(skewed)).subject == "alice"
    with pytest.raises(TokenRefused):
        await authenticator(tmp_path, leeway=10).authenticate(skewed)


async def test_any_of_several_audiences_is_accepted(tmp_path, issuer):
    several = authenticator(tmp_path, audiences=("api://modelreg", "modelreg"))
    assert (await several.authenticate(issuer({"aud": "api://modelreg"}))).subject == "alice"
    assert (await several.authenticate(issuer({"aud": ["other", "modelreg"]}))).subject == "alice"
    with pytest.raises(TokenRefused):
        await several.authenticate(issuer({"aud": "other"}))


async def test_algorithm_allow_list_is_per_issuer(tmp_path, issuer):
    with pytest.raises(TokenRefused) as refused:
        await authenticator(tmp_path, algorithms=("ES256",)).authenticate(issuer())
    assert refused.value.reason == "algorithm_not_allowed"


async def test_subject_prefix_and_forced_kind(tmp_path, issuer):
    principal = await authenticator(tmp_path, subject_prefix="gh:", kind="service").authenticate(issuer())
    assert (principal.subject, principal.kind) == ("gh:alice", PrincipalKind.SERVICE)


async def test_service_principal_gets_its_client_name_for_grouping_rules(tmp_path, issuer):
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "model.conf").write_text((POLICIES / "model.conf").read_text())
    (policies / "policy.csv").write_text((POLICIES / "policy.csv").read_text() + "\ng, client:ci-churn, mlops\n")
    config = IssuerConfig(issuer=dev_issuer.DEV_ISSUER, audiences=("modelreg",), role_sources=(RoleSource.parse("roles"),))
    auth = TokenAuthenticator([TrustedIssuer(config, StaticKeySource(dev_issuer.public_key_set(tmp_path)))],
                              roles_for=CasbinAuthorizer(policies).roles_for)
    service = await auth.authenticate(issuer({"sub": "ci-churn", "client_id": "ci-churn", "roles": []}))
    assert (service.kind, service.roles) == (PrincipalKind.SERVICE, frozenset({"mlops"}))
    # A person signing in through that client is not the client: no client: name for users.
    person = await auth.authenticate(issuer({"sub": "mallory", "azp": "ci-churn", "roles": []}))
    assert (person.kind, person.roles) == (PrincipalKind.USER, frozenset())


class _CountingKeys(StaticKeySource):
    """A key source whose key set can be replaced, as a JWKS refresh replaces it."""

    def replace(self, keys):
        self._keys = keys


def _counting_authenticator(tmp_path, clock):
    keys = _CountingKeys(dev_issuer.public_key_set(tmp_path))
    config = IssuerConfig(issuer=dev_issuer.DEV_ISSUER, audiences=("modelreg",),
                          role_sources=(RoleSource.parse("roles"),))
    auth = TokenAuthenticator([TrustedIssuer(config, keys)], roles_for=CasbinAuthorizer(POLICIES).roles_for,
                              clock=clock)
    validator = auth._validators[dev_issuer.DEV_ISSUER]
    verified = []
    real_decode = validator.decode

    def decode(token, key_set):
        verified.append(token)
        return real_decode(token, key_set)

    validator.decode = decode
    return auth, keys, verified


async def test_a_token_is_verified_once_until_it_expires(tmp_path, issuer):
    now = [time.time()]
    auth, _, verified = _counting_authenticator(tmp_path, lambda: now[0])
    token = issuer({"exp": int(now[0]) + 120})
    for _ in range(3):
        assert (await auth.authenticate(token)).subject == "alice"
    assert len(verified) == 1
    other = issuer({"sub": "bob"})
    assert (await auth.authenticate(other)).subject == "bob"
    assert len(verified) == 2

    now[0] += 121  # past the token's exp: the remembered verification does not outlive it, the token is checked
    await auth.authenticate(token)  # again (and, with a real clock, refused: test_leeway_tolerates_small_clock_skew)
    assert len(verified) == 3


async def test_a_new_key_set_verifies_remembered_tokens_again(tmp_path, issuer):
    auth, keys, verified = _counting_authenticator(tmp_path, time.time)
    token = issuer()
    await auth.authenticate(token)
    keys.replace(dev_issuer.public_key_set(tmp_path))  # the same keys, fetched again
    await auth.authenticate(token)
    assert len(verified) == 2

    rotated = tmp_path / "rotated"
    rotated.mkdir()
    dev_issuer.load_or_create_key(rotated)
    keys.replace(dev_issuer.public_key_set(rotated))  # the issuer stopped publishing the token's key
    with pytest.raises(TokenRefused):
        await auth.authenticate(token)


async def test_a_remembered_token_answers_its_caller_without_being_decoded_again(tmp_path, issuer, monkeypatch):
    import app.auth.tokens as tokens

    auth, keys, verified = _counting_authenticator(tmp_path, time.time)
    token = issuer({"roles": ["mlops"]})
    first = await auth.authenticate(token)
    decoded = []
    real_segment = tokens._segment
    monkeypatch.setattr(tokens, "_segment", lambda part: decoded.append(part) or real_segment(part))
    again = await auth.authenticate(token)
    assert again == first and again.roles == first.roles and decoded == [] and len(verified) == 1
    keys.replace(dev_issuer.public_key_set(tmp_path))  # a refreshed key set: the token is checked again
    assert await auth.authenticate(token) == first
    assert len(decoded) == 2 and len(verified) == 2
