"""Where the bearer token comes from, first found wins:

1. ``MODELREG_TOKEN`` (a CI secret, or ``modelreg token`` of the development issuer);
2. a file: ``--token-file`` or ``MODELREG_TOKEN_FILE`` (first line);
3. GitHub Actions' OIDC token, asked of the runner (``ACTIONS_ID_TOKEN_REQUEST_URL`` and ``_TOKEN``, present with
   ``permissions: id-token: write``) for the audience ``MODELREG_AUDIENCE`` (default ``modelreg``);
4. the token ``modelreg login`` saved (the device authorization grant, device.py) while it is valid.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from .errors import ModelregError, bad_input

DEFAULT_AUDIENCE = "modelreg"


def saved_login_path() -> Path:
    """``$MODELREG_CONFIG_DIR/login.json`` (default ``~/.config/modelreg``)."""
    folder = os.environ.get("MODELREG_CONFIG_DIR") or os.path.join(
        os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config"), "modelreg"
    )
    return Path(folder) / "login.json"


def save_login(token: dict[str, Any], issuer: str) -> Path:
    """Keeps a token from the device flow for later commands (a file only its owner can read)."""
    path = saved_login_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    expires_at = time.time() + float(token.get("expires_in", 3600))
    record = {"access_token": token["access_token"], "expires_at": expires_at, "issuer": issuer}
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(record, file)
    return path


def _saved_login() -> str | None:
    """The token `modelreg login` kept, unless missing, unreadable or expiring within 30 s."""
    try:
        record = json.loads(saved_login_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("expires_at", 0) < time.time() + 30:
        return None
    token = record.get("access_token")
    return token if isinstance(token, str) else None


def github_actions_token(audience: str) -> str:
    """Asks the Actions runner for an OIDC token for ``audience`` (GitHub's documented request)."""
    url, request_token = os.environ["ACTIONS_ID_TOKEN_REQUEST_URL"], os.environ["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]
    separator = "&" if "?" in url else "?"
    try:
        response = httpx.get(
            f"{url}{separator}{urlencode({'audience': audience})}",
            headers={"authorization": f"bearer {request_token}"},
            timeout=30,
        )
    except httpx.HTTPError as error:
        raise ModelregError("UNAVAILABLE", f"cannot reach GitHub's token service: {error}") from None
    if response.status_code != 200:
        raise ModelregError(
            "UNAUTHENTICATED",
            f"GitHub Actions refused an OIDC token (HTTP {response.status_code}): "
            "does the job have `permissions: id-token: write`?",
        )
    value = response.json().get("value")
    if not isinstance(value, str):
        raise ModelregError("UNAUTHENTICATED", "GitHub Actions answered no token value")
    return value


def resolve_token(token_file: str | None = None, audience: str | None = None) -> str:
    """The bearer token from the first source that has one (module docstring); UNAUTHENTICATED when none does."""
    if os.environ.get("MODELREG_TOKEN"):
        return os.environ["MODELREG_TOKEN"].strip()
    token_file = token_file or os.environ.get("MODELREG_TOKEN_FILE")
    if token_file:
        try:
            lines = Path(token_file).read_text(encoding="utf-8").splitlines()
        except OSError as error:
            raise bad_input(f"cannot read the token file {token_file}: {error.strerror}", "token-file") from None
        if not lines or not lines[0].strip():
            raise bad_input(f"the token file {token_file} is empty", "token-file")
        return lines[0].strip()
    if os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL") and os.environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN"):
        return github_actions_token(audience or os.environ.get("MODELREG_AUDIENCE") or DEFAULT_AUDIENCE)
    saved = _saved_login()
    if saved:
        return saved
    raise ModelregError(
        "UNAUTHENTICATED",
        "no token: set MODELREG_TOKEN or MODELREG_TOKEN_FILE, run in GitHub Actions with `id-token: write`, "
        "or sign in with `modelreg login`",
    )
