"""Settings: read once from ``MODELREG_*`` environment variables (and CLI flags) into a frozen object.

Each setting is declared once, as a field of ``Settings``: name, type and default, then with ``setting(...)`` its
variable, its check and a one-line description (app/settings_spec.py). Loading, validation and README.md's
configuration table (``python -m app.config --update-readme README.md``) all follow from the declarations.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from app.settings_spec import Check, setting, specs

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


# Checks of one value: what is wrong, phrased to follow the variable's name, or None.


def _port(port: int) -> str | None:
    return None if 0 < port < 65536 else f"must be a port number 1-65535, got {port}"


def _workers(count: int) -> str | None:
    return None if 0 <= count <= 64 else f"must be 0 (one per CPU core) to 64, got {count}"


def cpu_cores() -> int:
    """The cores this process may run on (the affinity mask, as containers limit it), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _database_url(url: str) -> str | None:
    scheme = urlparse(url).scheme.split("+")[0]
    if url and scheme not in ("sqlite", "postgresql", "postgres"):
        return f"must start with sqlite:// or postgresql://, got scheme {scheme!r}"
    return None


def _policy_dir(folder: Path) -> str | None:
    missing = [name for name in ("model.conf", "policy.csv") if not (folder / name).is_file()]
    return f"must contain {missing[0]}: not found in {folder}" if missing else None


def _artifact_store(uri: str) -> str | None:
    store = urlparse(uri)
    if uri and store.scheme not in ("file", "azure"):
        return "must be file:///path or azure://CONTAINER"
    if store.scheme == "azure" and not store.netloc:
        return "must name the container: azure://CONTAINER"
    return None


def _environments(text: str) -> str | None:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names or any(not re.fullmatch(r"[a-z][a-z0-9-]{0,62}", name) for name in names):
        return "must be a comma-separated list of lowercase names (letters, digits, '-')"
    return None


def _secret_key(key: str | None) -> str | None:
    too_short = key is not None and len(key) < 32
    return "must be at least 32 characters (use a random one)" if too_short else None


def _log_level(level: str) -> str | None:
    known = level.upper() in ("DEBUG", "INFO", "WARNING", "ERROR")
    return None if known else "must be one of DEBUG, INFO, WARNING, ERROR"


def _read_scope(mode: str) -> str | None:
    return None if mode in ("global", "scoped") else f"must be global or scoped, got {mode!r}"


def _origins(text: str) -> str | None:
    for origin in (item.strip() for item in text.split(",") if item.strip()):
        parts = urlparse(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or origin != f"{parts.scheme}://{parts.netloc}":
            return f"must be origins such as https://console.example.com (scheme and host, no path): {origin!r}"
    return None


def _within(low: int, high: int, problem: str) -> Check:
    return lambda value: None if low <= value <= high else problem


@dataclass(frozen=True)
class Settings:
    """Everything the server needs to start. ``load_settings`` and ``with_overrides`` validate (``validate()``);
    constructing one directly, as tests do, takes the values given and the declared defaults, never the
    environment."""

    data_dir: Path = setting(
        Path(".modelreg"),
        "MODELREG_DATA_DIR",
        "SQLite file, artifact folder and the development issuer's key",
        shown_default="`./.modelreg`",
    )
    database_url: str = setting(
        "",
        "MODELREG_DATABASE_URL",
        "`sqlite:///path.db` or `postgresql://user@host:5432/db` (libpq parameters such as `?sslmode=require` "
        "are honoured)",
        check=_database_url,
        shown_default="SQLite in the data dir",
    )
    host: str = setting("127.0.0.1", "MODELREG_HOST", "bind address")
    port: int = setting(8000, "MODELREG_PORT", "port to listen on", check=_port)
    workers: int = setting(
        0,
        "MODELREG_WORKERS",
        "`modelreg serve` processes sharing the port, each like a replica; 0: one per CPU core",
        check=_workers,
    )
    metrics_port: int | None = setting(
        None,
        "MODELREG_METRICS_PORT",
        "serve Prometheus `/metrics` on this port only (on `MODELREG_HOST`, no token); unset: on the public port "
        "([docs/operations.md](docs/operations.md))",
        check=lambda port: None if port is None else _port(port),
        shown_default="unset: on the public port",
    )
    # Identity: app/auth/issuers.py checks these together (check_identity_settings), as their rules span several
    # variables and are shared with MODELREG_OIDC_ISSUERS_FILE entries; docs/identity.md explains them.
    oidc_issuer: str | None = setting(
        None,
        "MODELREG_OIDC_ISSUER",
        "issuer URL; its discovery document and JWKS are used. Setting it turns the development issuer off",
        shown_default="unset: development issuer",
    )
    oidc_audience: str = setting(
        "modelreg", "MODELREG_OIDC_AUDIENCE", "audiences accepted, comma-separated; a token must carry one"
    )
    roles_claim: str = setting(
        "roles",
        "MODELREG_ROLES_CLAIM",
        "claims holding role or group names, comma-separated: dotted paths or templates such as `group:{groups}`",
    )
    oidc_issuers_file: Path | None = setting(
        None,
        "MODELREG_OIDC_ISSUERS_FILE",
        "TOML file trusting several issuers, each with its audiences and claim mapping "
        "(instead of `MODELREG_OIDC_ISSUER`)",
    )
    oidc_algorithms: str = setting(
        "RS256,PS256,ES256", "MODELREG_OIDC_ALGORITHMS", "signature algorithms accepted (never `none` or HMAC)"
    )
    oidc_leeway: int = setting(60, "MODELREG_OIDC_LEEWAY", "clock skew allowed, in seconds")
    oidc_jwks_ttl: int = setting(3600, "MODELREG_OIDC_JWKS_TTL", "key cache lifetime in seconds")
    oidc_jwks_refresh_interval: int = setting(
        30, "MODELREG_OIDC_JWKS_REFRESH_INTERVAL", "at most one key refresh per this many seconds (unknown `kid`s)"
    )
    oidc_client_id: str | None = setting(
        None, "MODELREG_OIDC_CLIENT_ID", "browser sign-in (authorization code with PKCE) at `/auth/login`: client id"
    )
    oidc_client_secret: str | None = setting(
        None, "MODELREG_OIDC_CLIENT_SECRET", "browser sign-in: client secret (unset for a public client)", secret=True
    )
    oidc_scopes: str = setting("openid profile email", "MODELREG_OIDC_SCOPES", "browser sign-in: scopes asked for")
    oidc_signin_issuer: str | None = setting(
        None, "MODELREG_OIDC_SIGNIN_ISSUER", "the issuer browser sign-in uses", shown_default="the first issuer"
    )
    oidc_authorize_params: str = setting(
        "", "MODELREG_OIDC_AUTHORIZE_PARAMS", "extra authorization parameters (`audience=...`)"
    )
    session_secret: str | None = setting(
        None,
        "MODELREG_SESSION_SECRET",
        "key of the session cookie (32+ characters, the same on every replica)",
        secret=True,
    )
    session_ttl: int = setting(8 * 3600, "MODELREG_SESSION_TTL", "longest browser session in seconds")
    public_url: str | None = setting(
        None,
        "MODELREG_PUBLIC_URL",
        "external base URL, for the sign-in callback",
        shown_default="from the request",
    )
    policy_dir: Path = setting(
        _default_policy_dir(),
        "MODELREG_POLICY_DIR",
        "folder with `model.conf` and `policy.csv` (and optionally `promotion.yaml`)",
        check=_policy_dir,
        shown_default="the `policies/` shipped in the package",
    )
    promotion_policy: Path | None = setting(
        None,
        "MODELREG_PROMOTION_POLICY",
        "promotion policy: approvals and gates per stage, overrides, protected aliases "
        "([docs/governance.md](docs/governance.md))",
        shown_default="`promotion.yaml` in the policy folder, else the shipped one",
    )
    read_scope: str = setting(
        "global",
        "MODELREG_READ_SCOPE",
        "`global`: every role reads the whole catalogue; `scoped`: each caller reads only the namespaces where "
        "they hold a role ([docs/authorization.md](docs/authorization.md#scoped-reads))",
        check=_read_scope,
    )
    introspection: bool = setting(
        True, "MODELREG_INTROSPECTION", "GraphQL introspection (switch off in production if you wish)"
    )
    field_suggestions: bool = setting(True, "MODELREG_FIELD_SUGGESTIONS", '"did you mean" hints in validation errors')
    max_query_depth: int = setting(12, "MODELREG_MAX_QUERY_DEPTH", "query limit: deepest nesting accepted")
    max_aliases: int = setting(30, "MODELREG_MAX_ALIASES", "query limit: most aliases in one document")
    max_tokens: int = setting(5000, "MODELREG_MAX_TOKENS", "query limit: most tokens in one document")
    max_page_size: int = setting(100, "MODELREG_MAX_PAGE_SIZE", "largest `first` accepted")
    max_request_bytes: int = setting(
        2 * 1024 * 1024,
        "MODELREG_MAX_REQUEST_BYTES",
        "request limit: largest /graphql body in bytes, refused before it is parsed",
        check=_within(1024, 1024**3, "must be between 1024 and 1073741824"),
    )
    max_input_items: int = setting(
        1000,
        "MODELREG_MAX_INPUT_ITEMS",
        "request limit: longest list in the variables or arguments of a request, refused before coercion",
        check=_within(1, 1_000_000, "must be between 1 and 1000000"),
    )
    max_query_cost: int = setting(
        100_000,
        "MODELREG_MAX_QUERY_COST",
        "request limit: highest static cost of a request (page sizes multiplied through nested connections)",
        check=_within(1, 10**9, "must be between 1 and 1000000000"),
    )
    max_batch: int = setting(
        10,
        "MODELREG_MAX_BATCH",
        "request limit: most operations in one batched (array) /graphql request",
        check=_within(1, 1000, "must be between 1 and 1000"),
    )
    statement_timeout: int = setting(
        30,
        "MODELREG_STATEMENT_TIMEOUT",
        "PostgreSQL: longest one SQL statement of `serve` and `worker` may run, in seconds (0: no limit)",
        check=_within(0, 86400, "must be between 0 and 86400"),
    )
    cors_origins: str = setting(
        "",
        "MODELREG_CORS_ORIGINS",
        "browser origins (exact, comma-separated, such as http://localhost:3000) allowed to call the API and open "
        "subscriptions from another origin; empty: none",
        check=_origins,
    )
    log_level: str = setting(
        "INFO",
        "MODELREG_LOG_LEVEL",
        "`DEBUG`, `INFO`, `WARNING` or `ERROR`; JSON logs on stderr, each line with the request id",
        check=_log_level,
    )
    artifact_store: str = setting(
        "",
        "MODELREG_ARTIFACT_STORE",
        "`file:///path` or `azure://CONTAINER` (see [docs/storage.md](docs/storage.md))",
        check=_artifact_store,
        shown_default="`file://` the data dir's `artifacts/`",
    )
    azure_connection_string: str | None = setting(
        None, "MODELREG_AZURE_STORAGE_CONNECTION_STRING", "Azure credentials: a connection string", secret=True
    )
    azure_account_url: str | None = setting(
        None,
        "MODELREG_AZURE_STORAGE_ACCOUNT_URL",
        "Azure credentials: an account URL, used with `DefaultAzureCredential`",
    )
    max_upload_size: int = setting(
        64 * 1024**3,
        "MODELREG_MAX_UPLOAD_SIZE",
        "largest file accepted, in bytes",
        check=lambda size: None if size > 0 else "must be a positive number of bytes",
        shown_default="64 GiB",
    )
    download_redirect: bool = setting(
        False,
        "MODELREG_DOWNLOAD_REDIRECT",
        "answer downloads with a redirect to a short-lived signed URL where the store has them",
    )
    # Webhooks (docs/events.md).
    secret_key: str | None = setting(
        None,
        "MODELREG_SECRET_KEY",
        "key (32+ characters) sealing webhook secrets; replicas must share one",
        check=_secret_key,
        shown_default="`secret.key` in the data dir",
        secret=True,
    )
    webhook_timeout: int = setting(
        10,
        "MODELREG_WEBHOOK_TIMEOUT",
        "seconds a receiver has to answer a delivery",
        check=_within(1, 120, "must be 1-120 seconds"),
    )
    webhook_retry_period: int = setting(
        24 * 3600,
        "MODELREG_WEBHOOK_RETRY_PERIOD",
        "seconds failed deliveries are retried before they are dead-lettered",
        check=_within(60, 30 * 86400, "must be 60 seconds to 30 days (in seconds)"),
    )
    webhook_allow_private: bool = setting(
        False,
        "MODELREG_WEBHOOK_ALLOW_PRIVATE",
        "allow webhook targets on private, loopback and link-local addresses",
    )
    mlflow_tracking_uri: str | None = setting(
        None,
        "MODELREG_MLFLOW_TRACKING_URI",
        "the MLflow tracking server whose `runs:/`, `models:/m-...` and `mlflow-artifacts:` sources a version "
        "registered through the MLflow API copies its files from (docs/mlflow.md)",
    )
    mlflow_tracking_token: str | None = setting(
        None, "MODELREG_MLFLOW_TRACKING_TOKEN", "bearer token for that tracking server, if it asks for one", secret=True
    )
    source_local_roots: str = setting(
        "",
        "MODELREG_SOURCE_LOCAL_ROOTS",
        "comma-separated folders a version's `source` may name local paths in (none: local paths stay references)",
    )
    source_allow_private: bool = setting(
        False,
        "MODELREG_SOURCE_ALLOW_PRIVATE",
        "allow copying sources from private, loopback and link-local addresses (the tracking server always may)",
    )
    dispatcher: bool = setting(
        True, "MODELREG_DISPATCHER", "deliver webhooks from `modelreg serve`; `false` leaves it to `modelreg worker`"
    )
    events_poll_interval: int = setting(
        2,
        "MODELREG_EVENTS_POLL_INTERVAL",
        "seconds between reads of the event outbox for subscriptions, should a wake-up be lost "
        "([docs/events.md](docs/events.md))",
        check=_within(1, 300, "must be 1-300 seconds"),
    )
    # Deployment environments (docs/deployments.md).
    environments: str = setting(
        "staging,production", "MODELREG_ENVIRONMENTS", "deployment environments", check=_environments
    )
    production_environments: str = setting(
        "production",
        "MODELREG_PRODUCTION_ENVIRONMENTS",
        "environments that accept only versions in PRODUCTION (empty: none)",
        empty_is_default=False,
    )

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

    @property
    def effective_workers(self) -> int:
        """Server processes to run: ``workers``, or one per CPU core when it is 0."""
        return self.workers or cpu_cores()

    def with_overrides(self, **overrides: object) -> Settings:
        """A copy with the given (non-None) fields replaced and validated again."""
        values: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
        updated = replace(self, **values)
        updated.validate()
        return updated

    def validate(self) -> None:
        """Raise ConfigError naming the variable at fault: each setting's own check in declaration order, then the
        rules that relate several settings."""
        for spec in SETTINGS:
            problem = spec.check(getattr(self, spec.name)) if spec.check else None
            if problem:
                raise ConfigError(f"{spec.variable} {problem}")
        for rule in _RULES:
            rule(self)


SETTINGS = specs(Settings)


# Rules relating several settings; each raises ConfigError naming the variable at fault.


def _identity(settings: Settings) -> None:
    from app.auth.issuers import IssuerConfigError, check_identity_settings  # late: auth imports config

    try:
        check_identity_settings(settings)
    except IssuerConfigError as error:
        raise ConfigError(str(error)) from None


def _promotion_policy(settings: Settings) -> None:
    from app.promotion import PolicyError, load_promotion_policy  # late: keeps config free of YAML at import

    try:
        load_promotion_policy(settings.promotion_policy_path)
    except PolicyError as error:
        raise ConfigError(f"MODELREG_PROMOTION_POLICY: {error}") from None


def _azure_credentials(settings: Settings) -> None:
    if urlparse(settings.artifact_store).scheme == "azure" and not (
        settings.azure_connection_string or settings.azure_account_url
    ):
        raise ConfigError(
            "MODELREG_ARTIFACT_STORE is azure://: set MODELREG_AZURE_STORAGE_CONNECTION_STRING "
            "or MODELREG_AZURE_STORAGE_ACCOUNT_URL"
        )


def _production_environments(settings: Settings) -> None:
    names = {name.strip() for name in settings.environments.split(",") if name.strip()}
    unknown = {name.strip() for name in settings.production_environments.split(",") if name.strip()} - names
    if unknown:
        raise ConfigError(
            f"MODELREG_PRODUCTION_ENVIRONMENTS names environments not in MODELREG_ENVIRONMENTS: {sorted(unknown)}"
        )


def _metrics_port(settings: Settings) -> None:
    if settings.metrics_port is not None and settings.metrics_port == settings.port:
        raise ConfigError("MODELREG_METRICS_PORT must differ from MODELREG_PORT (unset it to serve /metrics there)")


_RULES: tuple[Callable[[Settings], None], ...] = (
    _metrics_port,
    _identity,
    _promotion_policy,
    _azure_credentials,
    _production_environments,
)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build validated Settings from the environment (``os.environ`` by default). A variable that is unset, or
    set to the empty string, leaves the declared default (but for those declared ``empty_is_default=False``)."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for spec in SETTINGS:
        raw = env.get(spec.variable)
        if raw is None or (raw == "" and spec.empty_is_default):
            continue
        try:
            values[spec.name] = spec.parse(raw)
        except ValueError as error:
            raise ConfigError(f"{spec.variable} {error}") from None
    settings = Settings(**values)
    settings.validate()
    return settings


if __name__ == "__main__":  # python -m app.config [--markdown | --update-readme README.md]
    from app.settings_spec import main

    sys.exit(main(Settings, sys.argv[1:]))
