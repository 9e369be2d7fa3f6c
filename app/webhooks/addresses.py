"""Connecting to a webhook receiver at the address that was checked: one resolution, then the connection.

httpx resolves names inside its network layer, so a check done beside it (resolve, check, then let httpx resolve
again) can be fooled by a DNS answer that changes in between (rebinding). ``PinnedBackend`` is an httpcore network
backend that does both in one step: it resolves the name once, refuses the connection if any answer is not public
(``app.domain.addresses.refusal``), and opens the TCP connection to an address it checked. Everything above the
socket is unchanged: the ``Host`` header and, for https, the TLS server name (SNI) and certificate check still use
the URL's name, because httpcore takes them from the URL, not from the socket.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, cast

import httpcore
import httpx

from app.domain.addresses import InvalidHost, literal_address, refusal

Resolver = Callable[[str, int], Awaitable[list[str]]]


class TargetRefused(Exception):
    """The receiver's address is not public (and private targets are not allowed): nothing was sent."""


async def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's answers for ``host``, in its order of preference, without duplicates."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [cast(str, info[4][0]) for info in infos]  # IPv4 and IPv6 socket addresses start with the host
    return list(dict.fromkeys(addresses))


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Resolves once, checks every answer, and connects to a checked address (see the module's docstring)."""

    def __init__(
        self,
        allow_private: bool,
        resolver: Resolver = system_resolver,
        backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._resolve = resolver
        self._backend = backend or httpcore.AnyIOBackend()

    async def addresses(self, host: str, port: int) -> list[str]:
        """The addresses ``host`` may be reached at; raises TargetRefused or httpcore.ConnectError."""
        try:
            literal = literal_address(host)
        except InvalidHost as error:
            raise httpcore.ConnectError(str(error)) from None
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                addresses = await self._resolve(host, port)
            except OSError as error:
                raise httpcore.ConnectError(f"cannot resolve {host}: {error.strerror or error}") from None
            if not addresses:
                raise httpcore.ConnectError(f"cannot resolve {host}: no address")
        if not self._allow_private:
            for address in addresses:
                ip = literal_address(address.split("%", 1)[0])
                reason = "not an address" if ip is None else refusal(ip)
                if reason is not None:
                    shown = host if literal is not None else f"{host} resolves to {address}, which"
                    raise TargetRefused(
                        f"refused: {shown} is a non-public address ({reason}); set "
                        "MODELREG_WEBHOOK_ALLOW_PRIVATE=true to allow private targets"
                    )
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        failure: Exception | None = None
        for address in await self.addresses(host, port):
            try:
                return await self._backend.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error  # try the next checked address, as a resolver's client would
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise TargetRefused("refused: webhooks do not connect to Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (request and response mapping, exception translation) over a connection pool whose
    network backend is ``PinnedBackend``. httpx 0.29 takes no network backend argument, so the pool it builds is
    replaced by one built the same way with ours (tests/events/test_webhook_addresses.py would notice if the
    transport stopped using it)."""

    def __init__(self, backend: PinnedBackend, limits: httpx.Limits) -> None:
        super().__init__(limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),  # SSL_CERT_FILE / SSL_CERT_DIR still apply
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )
