"""Trusted OpenID providers: one from ``MODELREG_OIDC_*`` variables, or several from a TOML file.

The file (``MODELREG_OIDC_ISSUERS_FILE``) lists one ``[[issuers]]`` table per provider::

    [[issuers]]
    name = "entra"                                    # for logs; default: the issuer's host
    issuer = "https://login.microsoftonline.com/TENANT/v2.0"
    audience = ["api://modelreg", "6f1c..."]          # one or several; default MODELREG_OIDC_AUDIENCE
    role_claims = ["roles", "group:{groups}"]         # default MODELREG_ROLES_CLAIM
    kind = "auto"                                     # auto | user | service
    service_when = ["idtyp=app"]                      # extra conditions marking a machine token (auto)
    subject_prefix = ""                               # prepended to sub, to keep issuers' subjects apart
    algorithms = ["RS256"]                            # default MODELREG_OIDC_ALGORITHMS

docs/identity.md has a worked example per provider.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from .claims import RoleSource

if TYPE_CHECKING:  # pragma: no cover
    from app.config import Settings

ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
DEFAULT_ALGORITHMS = ("RS256", "PS256", "ES256")
KINDS = ("auto", "user", "service")
_FILE_KEYS = {"name", "issuer", "audience", "role_claims", "kind", "service_when", "subject_prefix", "algorithms"}


class IssuerConfigError(ValueError):
    """A problem in the issuer configuration; the message starts with the variable (or file entry) at fault."""


@dataclass(frozen=True)
class IssuerConfig:
    """How tokens from one provider are checked and turned into a Principal."""

    issuer: str
    audiences: tuple[str, ...]
    role_sources: tuple[RoleSource, ...]
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    kind: str = "auto"
    service_when: tuple[str, ...] = ()
    subject_prefix: str = ""
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or urlparse(self.issuer).netloc or self.issuer


def split_list(text: str) -> tuple[str, ...]:
    """``a, b ,c`` -> ("a", "b", "c"); empty items dropped."""
    return tuple(item.strip() for item in text.split(",") if item.strip())


def parse_algorithms(values: tuple[str, ...] | list[str], where: str) -> tuple[str, ...]:
    """An allow-list of asymmetric signature algorithms; ``none`` and HMAC are never accepted."""
    if not values:
        raise IssuerConfigError(f"{where} must name at least one algorithm such as RS256")
    for value in values:
        if value not in ASYMMETRIC_ALGORITHMS:
            raise IssuerConfigError(
                f"{where}: {value!r} is not allowed; use asymmetric algorithms only "
                f"({', '.join(sorted(ASYMMETRIC_ALGORITHMS))})"
            )
    return tuple(dict.fromkeys(values))


def parse_role_sources(values: tuple[str, ...] | list[str], where: str) -> tuple[RoleSource, ...]:
    if not values:
        raise IssuerConfigError(f"{where} must name at least one claim, such as roles")
    try:
        return tuple(RoleSource.parse(value) for value in values)
    except ValueError as error:
        raise IssuerConfigError(f"{where}: {error}") from None


def check_issuer_url(url: str, where: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise IssuerConfigError(f"{where} must be an http(s) URL, got {url!r}")
    if parsed.query or parsed.fragment:
        raise IssuerConfigError(f"{where} must not have a query or fragment")
    return url


def _strings(value: Any, where: str) -> tuple[str, ...]:
    """A string (comma-separated) or a list of strings."""
    if isinstance(value, str):
        return split_list(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(v.strip() for v in value if v.strip())
    raise IssuerConfigError(f"{where} must be a string or a list of strings")


def _from_file(path: Path, defaults: IssuerConfig) -> list[IssuerConfig]:
    var = "MODELREG_OIDC_ISSUERS_FILE"
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IssuerConfigError(f"{var}: {path} does not exist") from None
    except (OSError, UnicodeError) as error:
        raise IssuerConfigError(f"{var}: cannot read {path}: {type(error).__name__}") from None
    except tomllib.TOMLDecodeError as error:
        raise IssuerConfigError(f"{var}: {path} is not valid TOML: {error}") from None
    entries = document.get("issuers")
    unknown_top = set(document) - {"issuers"}
    if unknown_top:
        raise IssuerConfigError(f"{var}: unknown top-level key(s) {sorted(unknown_top)}; expected [[issuers]]")
    if not isinstance(entries, list) or not entries:
        raise IssuerConfigError(f"{var}: {path} must contain at least one [[issuers]] table")
    found: list[IssuerConfig] = []
    for index, entry in enumerate(entries, start=1):
        where = f"{var} issuers[{index}]"
        unknown = set(entry) - _FILE_KEYS
        if unknown:
            raise IssuerConfigError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(_FILE_KEYS)}")
        if not isinstance(entry.get("issuer"), str):
            raise IssuerConfigError(f"{where}.issuer is required (the provider's issuer URL)")
        issuer = check_issuer_url(entry["issuer"], f"{where}.issuer")
        audiences = _strings(entry["audience"], f"{where}.audience") if "audience" in entry else defaults.audiences
        if not audiences:
            raise IssuerConfigError(f"{where}.audience must name at least one audience")
        sources = (
            parse_role_sources(_strings(entry["role_claims"], f"{where}.role_claims"), f"{where}.role_claims")
            if "role_claims" in entry
            else defaults.role_sources
        )
        algorithms = (
            parse_algorithms(_strings(entry["algorithms"], f"{where}.algorithms"), f"{where}.algorithms")
            if "algorithms" in entry
            else defaults.algorithms
        )
        kind = entry.get("kind", "auto")
        if kind not in KINDS:
            raise IssuerConfigError(f"{where}.kind must be one of {', '.join(KINDS)}, got {kind!r}")
        service_when = _strings(entry.get("service_when", []), f"{where}.service_when")
        for key in ("name", "subject_prefix"):
            if not isinstance(entry.get(key, ""), str):
                raise IssuerConfigError(f"{where}.{key} must be a string")
        found.append(
            IssuerConfig(
                issuer=issuer,
                audiences=audiences,
                role_sources=sources,
                algorithms=algorithms,
                kind=kind,
                service_when=service_when,
                subject_prefix=entry.get("subject_prefix", ""),
                name=entry.get("name", ""),
            )
        )
    issuers = [config.issuer for config in found]
    duplicates = sorted({i for i in issuers if issuers.count(i) > 1})
    if duplicates:
        raise IssuerConfigError(f"{var}: issuer(s) listed twice: {duplicates}")
    return found


def load_issuers(settings: Settings) -> list[IssuerConfig]:
    """The trusted issuers; empty when none is configured (the development issuer is used then)."""
    audiences = split_list(settings.oidc_audience)
    if not audiences:
        raise IssuerConfigError("MODELREG_OIDC_AUDIENCE must name at least one audience")
    defaults = IssuerConfig(
        issuer="",
        audiences=audiences,
        role_sources=parse_role_sources(split_list(settings.roles_claim), "MODELREG_ROLES_CLAIM"),
        algorithms=parse_algorithms(split_list(settings.oidc_algorithms), "MODELREG_OIDC_ALGORITHMS"),
    )
    if settings.oidc_issuer and settings.oidc_issuers_file:
        raise IssuerConfigError("set MODELREG_OIDC_ISSUER or MODELREG_OIDC_ISSUERS_FILE, not both")
    if settings.oidc_issuers_file:
        return _from_file(Path(settings.oidc_issuers_file), defaults)
    if settings.oidc_issuer:
        issuer = check_issuer_url(settings.oidc_issuer, "MODELREG_OIDC_ISSUER")
        return [
            IssuerConfig(
                issuer=issuer, audiences=audiences, role_sources=defaults.role_sources, algorithms=defaults.algorithms
            )
        ]
    return []


def signin_issuer(settings: Settings, issuers: list[IssuerConfig]) -> IssuerConfig | None:
    """The provider browser sign-in uses (``MODELREG_OIDC_SIGNIN_ISSUER``, else the first), or None when
    sign-in is not configured (no ``MODELREG_OIDC_CLIENT_ID``)."""
    if not settings.oidc_client_id:
        return None
    wanted = settings.oidc_signin_issuer or (issuers[0].issuer if issuers else None)
    return next((config for config in issuers if config.issuer == wanted), None)


def check_identity_settings(settings: Settings) -> None:
    """Validate every identity setting; raise IssuerConfigError naming the variable at fault."""
    issuers = load_issuers(settings)
    if not 0 <= settings.oidc_leeway <= 600:
        raise IssuerConfigError("MODELREG_OIDC_LEEWAY must be between 0 and 600 seconds")
    if settings.oidc_jwks_ttl < 1:
        raise IssuerConfigError("MODELREG_OIDC_JWKS_TTL must be at least 1 second")
    if settings.oidc_jwks_refresh_interval < 0:
        raise IssuerConfigError("MODELREG_OIDC_JWKS_REFRESH_INTERVAL must not be negative")
    if not settings.oidc_client_id:
        return
    if not issuers:
        raise IssuerConfigError("MODELREG_OIDC_CLIENT_ID needs MODELREG_OIDC_ISSUER or MODELREG_OIDC_ISSUERS_FILE")
    if signin_issuer(settings, issuers) is None:
        raise IssuerConfigError(
            "MODELREG_OIDC_SIGNIN_ISSUER must be one of the configured issuers: "
            + ", ".join(config.issuer for config in issuers)
        )
    if not settings.session_secret or len(settings.session_secret) < 32:
        raise IssuerConfigError(
            "MODELREG_SESSION_SECRET must be set to at least 32 random characters for "
            "browser sign-in (for example: openssl rand -base64 32)"
        )
    if "openid" not in settings.oidc_scopes.split():
        raise IssuerConfigError("MODELREG_OIDC_SCOPES must include openid")
    if settings.session_ttl < 60:
        raise IssuerConfigError("MODELREG_SESSION_TTL must be at least 60 seconds")
    if settings.public_url:
        parsed = urlparse(settings.public_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query:
            raise IssuerConfigError("MODELREG_PUBLIC_URL must be the server's external http(s) base URL")
    try:
        authorize_params(settings)
    except ValueError as error:
        raise IssuerConfigError(f"MODELREG_OIDC_AUTHORIZE_PARAMS: {error}") from None


RESERVED_AUTHORIZE_PARAMS = frozenset(
    {"client_id", "redirect_uri", "response_type", "state", "nonce", "code_challenge", "code_challenge_method", "scope"}
)


def authorize_params(settings: Settings) -> dict[str, str]:
    """Extra authorization request parameters (``audience=...`` for Auth0, ``resource=...``)."""
    from urllib.parse import parse_qsl

    text = settings.oidc_authorize_params.strip()
    if not text:
        return {}
    pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    reserved = sorted({key for key, _ in pairs} & RESERVED_AUTHORIZE_PARAMS)
    if reserved:
        raise ValueError(f"{reserved} are set by modelreg itself")
    return dict(pairs)
