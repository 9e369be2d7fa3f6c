"""Settings: read once from ``MODELREG_*`` environment variables (and CLI flags) into a frozen object."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """Seconds in ``90s``, ``15m``, ``1h``, ``7d`` or plain seconds; ValueError otherwise."""
    text = text.strip().lower()
    unit = _DURATION_UNITS.get(text[-1:])
    number = text[:-1] if unit else text
    if not number.isascii() or not number.isdigit():
        raise ValueError(f"{text!r} is not a duration such as 90s, 15m, 1h or 7d")
    return int(number) * (unit or 1)


class ConfigError(ValueError):
    """Invalid configuration; the message names the variable and what is expected."""


def _default_policy_dir() -> Path:
    return Path(__file__).resolve().parent / "policies"


@dataclass(frozen=True)
class Settings:
    """Everything the server needs to start, validated at construction."""

    data_dir: Path = Path(".modelreg")
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    oidc_issuer: str | None = None
    oidc_audience: str = "modelreg"
    roles_claim: str = "roles"
    # Identity (app/auth/issuers.py validates these; docs/identity.md explains them).
    oidc_issuers_file: Path | None = None
    oidc_algorithms: str = "RS256,PS256,ES256"
    oidc_leeway: int = 60
    oidc_jwks_ttl: int = 3600
    oidc_jwks_refresh_interval: int = 30
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = field(default=None, repr=False)
    oidc_scopes: str = "openid profile email"
    oidc_signin_issuer: str | None = None
    oidc_authorize_params: str = ""
    session_secret: str | None = field(default=None, repr=False)
    session_ttl: int = 8 * 3600
    public_url: str | None = None
    policy_dir: Path = field(default_factory=_default_policy_dir)
    promotion_policy: Path | None = None
    introspection: bool = True
    field_suggestions: bool = True
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 5000
    max_page_size: int = 100
    log_level: str = "INFO"
    artifact_store: str = ""
    azure_connection_string: str | None = field(default=None, repr=False)
    azure_account_url: str | None = None
    max_upload_size: int = 64 * 1024**3
    download_redirect: bool = False
    # Webhooks (docs/events.md).
    secret_key: str | None = field(default=None, repr=False)
    webhook_timeout: int = 10
    webhook_retry_period: int = 24 * 3600
    webhook_allow_private: bool = False
    dispatcher: bool = True
    # Subscriptions: the outbox is read at least this often (seconds), should a wake-up be lost.
    events_poll_interval: int = 2
    # Deployment environments, and those that serve only versions in PRODUCTION (docs/deployments.md).
    environments: str = "staging,production"
    production_environments: str = "production"

    @property
    def dev_issuer_enabled(self) -> bool:
        """The local development token issuer runs only when no real OIDC issuer is configured."""
        return not (self.oidc_issuer or self.oidc_issuers_file)

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or the embedded SQLite file inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'modelreg.db').resolve()}"

    @property
    def promotion_policy_path(self) -> Path:
        """MODELREG_PROMOTION_POLICY, else promotion.yaml in the policy folder, else the shipped one."""
        if self.promotion_policy is not None:
            return self.promotion_policy
        beside = self.policy_dir / "promotion.yaml"
        return beside if beside.is_file() else _default_policy_dir() / "promotion.yaml"

    @property
    def artifact_dir(self) -> Path:
        """Local folder for artifact files in the embedded default."""
        return self.data_dir / "artifacts"

    @property
    def effective_artifact_store(self) -> str:
        """The configured store URI, or the local folder inside the data directory."""
        return self.artifact_store or self.artifact_dir.resolve().as_uri()

    def with_overrides(self, **overrides: object) -> Settings:
        """A copy with the given (non-None) fields replaced and validated again."""
        values: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
        updated = replace(self, **values)
        updated.validate()
        return updated

    def validate(self) -> None:
        """Raise ConfigError naming the variable at fault."""
        if not (0 < self.port < 65536):
            raise ConfigError(f"MODELREG_PORT must be a port number 1-65535, got {self.port}")
        if self.database_url:
            scheme = urlparse(self.database_url).scheme.split("+")[0]
            if scheme not in ("sqlite", "postgresql", "postgres"):
                raise ConfigError(
                    f"MODELREG_DATABASE_URL must start with sqlite:// or postgresql://, got scheme {scheme!r}"
                )
        from app.auth.issuers import IssuerConfigError, check_identity_settings  # late: auth imports config

        try:
            check_identity_settings(self)
        except IssuerConfigError as error:
            raise ConfigError(str(error)) from None
        if not self.roles_claim:
            raise ConfigError("MODELREG_ROLES_CLAIM must not be empty")
        for name in ("model.conf", "policy.csv"):
            if not (self.policy_dir / name).is_file():
                raise ConfigError(f"MODELREG_POLICY_DIR must contain {name}: not found in {self.policy_dir}")
        from app.promotion import PolicyError, load_promotion_policy  # late: keeps config free of YAML at import

        try:
            load_promotion_policy(self.promotion_policy_path)
        except PolicyError as error:
            raise ConfigError(f"MODELREG_PROMOTION_POLICY: {error}") from None
        store = urlparse(self.artifact_store)
        if self.artifact_store and store.scheme not in ("file", "azure"):
            raise ConfigError("MODELREG_ARTIFACT_STORE must be file:///path or azure://CONTAINER")
        if store.scheme == "azure":
            if not store.netloc:
                raise ConfigError("MODELREG_ARTIFACT_STORE must name the container: azure://CONTAINER")
            if not (self.azure_connection_string or self.azure_account_url):
                raise ConfigError(
                    "MODELREG_ARTIFACT_STORE is azure://: set MODELREG_AZURE_STORAGE_CONNECTION_STRING "
                    "or MODELREG_AZURE_STORAGE_ACCOUNT_URL"
                )
        if self.max_upload_size <= 0:
            raise ConfigError("MODELREG_MAX_UPLOAD_SIZE must be a positive number of bytes")
        names = [name.strip() for name in self.environments.split(",") if name.strip()]
        if not names or any(not re.fullmatch(r"[a-z][a-z0-9-]{0,62}", name) for name in names):
            raise ConfigError(
                "MODELREG_ENVIRONMENTS must be a comma-separated list of lowercase names (letters, digits, '-')"
            )
        unknown = {n.strip() for n in self.production_environments.split(",") if n.strip()} - set(names)
        if unknown:
            raise ConfigError(
                f"MODELREG_PRODUCTION_ENVIRONMENTS names environments not in MODELREG_ENVIRONMENTS: {sorted(unknown)}"
            )
        if not 1 <= self.events_poll_interval <= 300:
            raise ConfigError("MODELREG_EVENTS_POLL_INTERVAL must be 1-300 seconds")
        if not 1 <= self.webhook_timeout <= 120:
            raise ConfigError("MODELREG_WEBHOOK_TIMEOUT must be 1-120 seconds")
        if not 60 <= self.webhook_retry_period <= 30 * 86400:
            raise ConfigError("MODELREG_WEBHOOK_RETRY_PERIOD must be 60 seconds to 30 days (in seconds)")
        if self.secret_key is not None and len(self.secret_key) < 32:
            raise ConfigError("MODELREG_SECRET_KEY must be at least 32 characters (use a random one)")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigError("MODELREG_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR")


_BOOL = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return _BOOL[raw.strip().lower()]
    except KeyError:
        raise ConfigError(f"{name} must be true or false, got {raw!r}") from None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build validated Settings from the environment (``os.environ`` by default)."""
    env = os.environ if env is None else env
    defaults = Settings()
    settings = Settings(
        data_dir=Path(env.get("MODELREG_DATA_DIR") or defaults.data_dir),
        database_url=env.get("MODELREG_DATABASE_URL", ""),
        host=env.get("MODELREG_HOST") or defaults.host,
        port=_int(env, "MODELREG_PORT", defaults.port),
        oidc_issuer=env.get("MODELREG_OIDC_ISSUER") or None,
        oidc_audience=env.get("MODELREG_OIDC_AUDIENCE") or defaults.oidc_audience,
        roles_claim=env.get("MODELREG_ROLES_CLAIM") or defaults.roles_claim,
        oidc_issuers_file=Path(env["MODELREG_OIDC_ISSUERS_FILE"]) if env.get("MODELREG_OIDC_ISSUERS_FILE") else None,
        oidc_algorithms=env.get("MODELREG_OIDC_ALGORITHMS") or defaults.oidc_algorithms,
        oidc_leeway=_int(env, "MODELREG_OIDC_LEEWAY", defaults.oidc_leeway),
        oidc_jwks_ttl=_int(env, "MODELREG_OIDC_JWKS_TTL", defaults.oidc_jwks_ttl),
        oidc_jwks_refresh_interval=_int(
            env, "MODELREG_OIDC_JWKS_REFRESH_INTERVAL", defaults.oidc_jwks_refresh_interval
        ),
        oidc_client_id=env.get("MODELREG_OIDC_CLIENT_ID") or None,
        oidc_client_secret=env.get("MODELREG_OIDC_CLIENT_SECRET") or None,
        oidc_scopes=env.get("MODELREG_OIDC_SCOPES") or defaults.oidc_scopes,
        oidc_signin_issuer=env.get("MODELREG_OIDC_SIGNIN_ISSUER") or None,
        oidc_authorize_params=env.get("MODELREG_OIDC_AUTHORIZE_PARAMS", ""),
        session_secret=env.get("MODELREG_SESSION_SECRET") or None,
        session_ttl=_int(env, "MODELREG_SESSION_TTL", defaults.session_ttl),
        public_url=env.get("MODELREG_PUBLIC_URL") or None,
        policy_dir=Path(env["MODELREG_POLICY_DIR"]) if env.get("MODELREG_POLICY_DIR") else defaults.policy_dir,
        promotion_policy=Path(env["MODELREG_PROMOTION_POLICY"]) if env.get("MODELREG_PROMOTION_POLICY") else None,
        introspection=_bool(env, "MODELREG_INTROSPECTION", defaults.introspection),
        field_suggestions=_bool(env, "MODELREG_FIELD_SUGGESTIONS", defaults.field_suggestions),
        max_query_depth=_int(env, "MODELREG_MAX_QUERY_DEPTH", defaults.max_query_depth),
        max_aliases=_int(env, "MODELREG_MAX_ALIASES", defaults.max_aliases),
        max_tokens=_int(env, "MODELREG_MAX_TOKENS", defaults.max_tokens),
        max_page_size=_int(env, "MODELREG_MAX_PAGE_SIZE", defaults.max_page_size),
        log_level=env.get("MODELREG_LOG_LEVEL") or defaults.log_level,
        artifact_store=env.get("MODELREG_ARTIFACT_STORE", ""),
        azure_connection_string=env.get("MODELREG_AZURE_STORAGE_CONNECTION_STRING") or None,
        azure_account_url=env.get("MODELREG_AZURE_STORAGE_ACCOUNT_URL") or None,
        max_upload_size=_int(env, "MODELREG_MAX_UPLOAD_SIZE", defaults.max_upload_size),
        download_redirect=_bool(env, "MODELREG_DOWNLOAD_REDIRECT", defaults.download_redirect),
        secret_key=env.get("MODELREG_SECRET_KEY") or None,
        webhook_timeout=_int(env, "MODELREG_WEBHOOK_TIMEOUT", defaults.webhook_timeout),
        webhook_retry_period=_int(env, "MODELREG_WEBHOOK_RETRY_PERIOD", defaults.webhook_retry_period),
        webhook_allow_private=_bool(env, "MODELREG_WEBHOOK_ALLOW_PRIVATE", defaults.webhook_allow_private),
        dispatcher=_bool(env, "MODELREG_DISPATCHER", defaults.dispatcher),
        events_poll_interval=_int(env, "MODELREG_EVENTS_POLL_INTERVAL", defaults.events_poll_interval),
        environments=env.get("MODELREG_ENVIRONMENTS") or defaults.environments,
        production_environments=env.get("MODELREG_PRODUCTION_ENVIRONMENTS", defaults.production_environments),
    )
    settings.validate()
    return settings
