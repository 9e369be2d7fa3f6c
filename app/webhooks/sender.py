"""Sending one webhook delivery: POST with a timeout, no redirects, and no private targets unless allowed."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httpx

ERROR_MAX = 500


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    latency_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return ip.is_global and not ip.is_multicast


class HttpWebhookSender:
    """The ``WebhookSender`` of the dispatcher. Private, loopback and link-local targets (the cloud metadata
    endpoint among them) are refused unless ``allow_private``; the check resolves the host just before sending."""

    def __init__(self, timeout: float, allow_private: bool = False) -> None:
        self._timeout = timeout
        self._allow_private = allow_private
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            headers={"User-Agent": "modelreg-webhooks/1"},
        )

    async def _refusal(self, url: str) -> str | None:
        host = urlsplit(url).hostname or ""
        if self._allow_private:
            return None
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except OSError as error:
            return f"cannot resolve {host}: {error.strerror or error}"
        addresses = {cast(str, info[4][0]) for info in infos}  # IPv4 and IPv6 socket addresses start with the host
        private = sorted(address for address in addresses if not _is_public(address))
        if private:
            return (
                f"refused: {host} resolves to the non-public address {private[0]} (set "
                "MODELREG_WEBHOOK_ALLOW_PRIVATE=true to allow private targets)"
            )
        return None

    async def send(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
        started = time.perf_counter()
        refusal = await self._refusal(url)
        if refusal:
            return SendResult(None, 0, refusal)
        try:
            async with asyncio.timeout(self._timeout):  # the whole exchange, not each read
                async with self._client.stream("POST", url, content=body, headers=headers) as response:
                    excerpt = await _excerpt(response)
        except TimeoutError:
            return SendResult(None, _ms(started), f"timed out after {self._timeout:g} s")
        except httpx.HTTPError as error:
            return SendResult(None, _ms(started), f"{type(error).__name__}: {str(error)[:ERROR_MAX]}")
        latency = _ms(started)
        if 200 <= response.status_code < 300:
            return SendResult(response.status_code, latency, None)
        return SendResult(response.status_code, latency, f"HTTP {response.status_code}: {excerpt}")

    async def close(self) -> None:
        await self._client.aclose()


async def _excerpt(response: httpx.Response) -> str:
    """The start of the answer's body (for the delivery log), never more than ERROR_MAX bytes read."""
    data = b""
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= ERROR_MAX:
            break
    return data[:ERROR_MAX].decode("utf-8", "replace")


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
