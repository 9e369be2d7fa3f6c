"""Settings: read once from ``MODELREG_*`` environment variables (and CLI flags) into a frozen object."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping
from urllib.parse import urlparse


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
    policy_dir: Path = field(default_factory=_default_policy_dir)
    introspection: bool = True
    field_suggestions: bool = True
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 5000
    max_page_size: int = 100
    log_level: str = "INFO"

    @property
    def dev_issuer_enabled(self) -> bool:
        """The local development token issuer runs only when no real OIDC issuer is configured."""
        return not self.oidc_issuer

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or the embedded SQLite file inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'modelreg.db').resolve()}"

    @property
    def artifact_dir(self) -> Path:
        """Local folder for artifact files in the embedded default."""
        return self.data_dir / "artifacts"

    def with_overrides(self, **overrides: object) -> "Settings":
        """A copy with the given (non-None) fields replaced and validated again."""
        values = {k: v for k, v in overrides.items() if v is not None}
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
                    "MODELREG_DATABASE_URL must start with sqlite:// or postgresql://, "
                    f"got scheme {scheme!r}"
                )
        if self.oidc_issuer and urlparse(self.oidc_issuer).scheme not in ("http", "https"):
            raise ConfigError("MODELREG_OIDC_ISSUER must be an http(s) URL")
        if not self.roles_claim:
            raise ConfigError("MODELREG_ROLES_CLAIM must not be empty")
        for name in ("model.conf", "policy.csv"):
            if not (self.policy_dir / name).is_file():
                raise ConfigError(f"MODELREG_POLICY_DIR must contain {name}: not found in {self.policy_dir}")
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
        policy_dir=Path(env["MODELREG_POLICY_DIR"]) if env.get("MODELREG_POLICY_DIR") else defaults.policy_dir,
        introspection=_bool(env, "MODELREG_INTROSPECTION", defaults.introspection),
        field_suggestions=_bool(env, "MODELREG_FIELD_SUGGESTIONS", defaults.field_suggestions),
        max_query_depth=_int(env, "MODELREG_MAX_QUERY_DEPTH", defaults.max_query_depth),
        max_aliases=_int(env, "MODELREG_MAX_ALIASES", defaults.max_aliases),
        max_tokens=_int(env, "MODELREG_MAX_TOKENS", defaults.max_tokens),
        max_page_size=_int(env, "MODELREG_MAX_PAGE_SIZE", defaults.max_page_size),
        log_level=env.get("MODELREG_LOG_LEVEL") or defaults.log_level,
    )
    settings.validate()
    return settings
