"""Webhook signing secrets sealed at rest (JWE, A256GCM) with a key derived from MODELREG_SECRET_KEY.

Without MODELREG_SECRET_KEY the server makes a random key in the data directory on first use (``secret.key``,
mode 0600): fine for one server; replicas must share one MODELREG_SECRET_KEY.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from app.auth.session import Sealer
from app.config import Settings

_NEVER = 2**40  # sealed secrets do not expire


def secret_key(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / "secret.key"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_private(path, secrets.token_urlsafe(48))
    return path.read_text(encoding="utf-8").strip()


def _write_private(path: Path, text: str) -> None:
    """Create the file readable by its owner only, never replacing one another process made meanwhile."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


class SealedSecrets:
    """The ``SecretBox`` of the services."""

    def __init__(self, key: str) -> None:
        self._sealer = Sealer(key, "webhook-secret")

    def seal(self, secret: str) -> str:
        return self._sealer.seal({"s": secret}, _NEVER)

    def open(self, sealed: str) -> str:
        data = self._sealer.unseal(sealed)
        if data is None:
            raise ValueError("the webhook secret cannot be opened: was MODELREG_SECRET_KEY changed?")
        return data["s"]
