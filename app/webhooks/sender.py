"""Sending one webhook delivery: POST with a timeout, no redirects, and no private targets unless allowed (the
address check and the connection are one step: app/webhooks/addresses.py)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpcore
import httpx

from .addresses import PinnedBackend, PinnedTransport, Resolver, TargetRefused, system_resolver

ERROR_MAX = 500


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    latency_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


class HttpWebhookSender:
    """The ``WebhookSender`` of the dispatcher. Private, loopback, link-local (the cloud metadata endpoint among
    them) and otherwise non-public targets are refused unless ``allow_private``, in whatever form the address is
    written (app/domain/addresses.py). The name is resolved once per connection and the connection goes to an
    address that was checked, so a DNS answer that changes after the check (rebinding) is never used. Proxies from
    the environment (HTTPS_PROXY...) are not used: they would connect somewhere other than the checked address.

    ``resolver`` and ``network`` are for tests: the name lookup and the layer that opens TCP connections."""

    def __init__(
        self,
        timeout: float,
        allow_private: bool = False,
        *,
        resolver: Resolver = system_resolver,
        network: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._timeout = timeout
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        backend = PinnedBackend(allow_private, resolver, network)
        self._client = httpx.AsyncClient(
            transport=PinnedTransport(backend, limits),
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": "modelreg-webhooks/1"},
        )

    async def send(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout):  # the whole exchange, not each read
                async with self._client.stream("POST", url, content=body, headers=headers) as response:
                    excerpt = await _excerpt(response)
        except TargetRefused as refusal:
            return SendResult(None, _ms(started), str(refusal))
        except TimeoutError:
            return SendResult(None, _ms(started), f"timed out after {self._timeout:g} s")
        except httpx.HTTPError as error:
            return SendResult(None, _ms(started), f"{type(error).__name__}: {str(error)[:ERROR_MAX]}")
        latency = _ms(started)
        if 200 <= response.status_code < 300:
            return SendResult(response.status_code, latency, None)
        return SendResult(response.status_code, latency, f"HTTP {response.status_code}: {excerpt}")

    @property
    def http_client(self) -> httpx.AsyncClient:
        """The client deliveries go through (traced when OpenTelemetry is on: app/observability/tracing.py)."""
        return self._client

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
