"""The local development token issuer: a signing key kept in the data directory, used only when no OIDC
issuer is configured. ``modelreg token`` mints tokens with it that the server accepts."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import time
from pathlib import Path

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

DEV_ISSUER = "urn:modelreg:dev-issuer"
KEY_FILE = "dev-issuer-key.json"
ROLES_CLAIM = "roles"


def _write_private(path: Path, text: str) -> None:
    """Write atomically with owner-only permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_or_create_key(data_dir: Path) -> RSAKey:
    """The issuer's RSA key, created on first use. Concurrent first starts agree on one key."""
    path = data_dir / KEY_FILE
    if not path.exists():
        key = RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8), "use": "sig", "alg": "RS256"})
        candidate = path.with_name(path.name + f".{os.getpid()}")
        _write_private(candidate, json.dumps(key.as_dict(private=True)))
        try:
            os.link(candidate, path)  # fails if another process won the race; then we use theirs
        except FileExistsError:
            pass
        finally:
            candidate.unlink(missing_ok=True)
    return RSAKey.import_key(json.loads(path.read_text()))


def public_key_set(data_dir: Path) -> KeySet:
    key = load_or_create_key(data_dir)
    return KeySet.import_key_set({"keys": [key.as_dict(private=False)]})


def parse_ttl(text: str) -> int:
    """``90s``, ``15m``, ``1h``, ``7d`` or plain seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip().lower()
    try:
        seconds = int(text[:-1]) * units[text[-1]] if text and text[-1] in units else int(text)
    except ValueError:
        raise ValueError(f"ttl {text!r} is not a duration such as 90s, 15m, 1h or 7d") from None
    if not 0 < seconds <= 366 * 86400:
        raise ValueError("ttl must be between 1 second and 366 days")
    return seconds


def mint_token(
    data_dir: Path,
    *,
    subject: str,
    roles: list[str],
    audience: str,
    ttl_seconds: int = 3600,
    service: bool = False,
    now: int | None = None,
    groups: list[str] | None = None,
) -> str:
    """A signed RFC 9068 access token from the development issuer (with a ``groups`` claim when given)."""
    key = load_or_create_key(data_dir)
    issued = int(time.time()) if now is None else now
    claims: dict[str, object] = {
        "iss": DEV_ISSUER,
        "sub": subject,
        "aud": audience,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl_seconds,
        "jti": secrets.token_hex(12),
        "client_id": subject if service else "modelreg-cli",
        ROLES_CLAIM: roles,
    }
    if groups is not None:
        claims["groups"] = groups
    header = {"alg": "RS256", "kid": key.kid, "typ": "at+jwt"}
    return jwt.encode(header, claims, key)
