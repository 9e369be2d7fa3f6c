"""Shared access signatures for the Azure store.

With a connection string that carries the account key the store signs service SAS tokens with that key. With an
account URL and an Entra ID credential it signs user-delegation SAS tokens with a user delegation key it fetches
from the service and reuses until shortly before it expires. With neither (a SAS connection string) it cannot
sign, and callers fall back to going through the registry.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import cast
from urllib.parse import quote

from azure.storage.blob import BlobSasPermissions, UserDelegationKey, generate_blob_sas
from azure.storage.blob.aio import BlobServiceClient

CLOCK_SKEW = timedelta(minutes=5)  # start times in the past, so a client whose clock is a little ahead is served
DELEGATION_KEY_LIFETIME = timedelta(hours=12)
MAX_DELEGATION_KEY_LIFETIME = timedelta(days=7)  # the service's limit

READ = BlobSasPermissions(read=True)
UPLOAD = BlobSasPermissions(create=True, write=True)  # Put Blob, Put Block, Put Block List; no read, no delete


class Signer:
    """Makes SAS query strings for blobs of one container, with whatever key the client's credential allows."""

    def __init__(self, service: BlobServiceClient, container: str) -> None:
        self._service = service
        self._container = container
        self._account_key: str | None = getattr(service.credential, "account_key", None)
        self._delegation = self._account_key is None and hasattr(service.credential, "get_token")
        self._https_only = service.url.lower().startswith("https:")
        self._key: UserDelegationKey | None = None
        self._key_expiry = datetime.min.replace(tzinfo=UTC)
        self._key_lock = asyncio.Lock()

    @property
    def can_sign(self) -> bool:
        return self._account_key is not None or self._delegation

    async def token(
        self,
        blob_name: str,
        *,
        permission: BlobSasPermissions,
        ttl_seconds: int,
        content_disposition: str | None = None,
        content_type: str | None = None,
    ) -> str | None:
        """A SAS query string (without ``?``) valid for ``ttl_seconds``, or None when this credential cannot sign.

        ``content_disposition`` and ``content_type`` override the response headers of reads made with it."""
        if not self.can_sign:
            return None
        now = datetime.now(UTC)
        expiry = now + timedelta(seconds=ttl_seconds)
        signing = (
            {"account_key": self._account_key}
            if self._account_key
            else {"user_delegation_key": await self._delegation_key(now, expiry)}
        )
        return generate_blob_sas(
            cast(str, self._service.account_name),  # typed Optional; set from the connection string or account URL
            self._container,
            blob_name,
            permission=permission,
            start=now - CLOCK_SKEW,
            expiry=expiry,
            protocol="https" if self._https_only else None,
            content_disposition=content_disposition,
            content_type=content_type,
            **signing,
        )

    async def _delegation_key(self, now: datetime, expiry: datetime) -> UserDelegationKey:
        """A user delegation key valid until at least ``expiry`` (fetched again when the cached one is too old)."""
        async with self._key_lock:
            if self._key is None or self._key_expiry < expiry:
                key_expiry = min(
                    max(now + DELEGATION_KEY_LIFETIME, expiry + CLOCK_SKEW), now + MAX_DELEGATION_KEY_LIFETIME
                )
                if key_expiry < expiry:
                    raise ValueError("a user-delegation SAS cannot outlive 7 days; ask for a shorter time to live")
                self._key = await self._service.get_user_delegation_key(now - CLOCK_SKEW, key_expiry)
                self._key_expiry = key_expiry
            return self._key


def attachment(filename: str) -> str:
    """A Content-Disposition value that makes browsers save the download under ``filename`` (RFC 6266)."""
    plain = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in filename) or "download"
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"
