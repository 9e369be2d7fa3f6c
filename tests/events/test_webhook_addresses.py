"""SSRF guard of webhooks: every spelling of a non-public address is refused, at creation and at delivery; the
connection goes to the address that was checked (DNS rebinding cannot swap it); names resolving to private
addresses are refused at delivery."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from ipaddress import ip_address
from typing import Any

import httpcore
import httpx
import pytest

from app.config import Settings
from app.domain.addresses import InvalidHost, host_refusal, literal_address, refusal
from app.webhooks.sender import HttpWebhookSender
from tests.support.client import Api, api_with_settings
from tests.support.webhook_receiver import Receiver

CREATE_WEBHOOK = """
mutation($in: CreateWebhookInput!) { createWebhook(input: $in) { webhook { id url } } }
"""
UPDATE_WEBHOOK = """
mutation($in: UpdateWebhookInput!) { updateWebhook(input: $in) { webhook { id url } } }
"""
SECRET = "whsec-0123456789abcdef"

# (host as urlsplit(url).hostname gives it, the address it spells or None for a name)
SPELLINGS = [
    ("127.0.0.1", "127.0.0.1"),
    ("2130706433", "127.0.0.1"),  # one decimal number
    ("0x7f000001", "127.0.0.1"),
    ("0x7f.1", "127.0.0.1"),
    ("017700000001", "127.0.0.1"),  # octal
    ("0177.0.0.01", "127.0.0.1"),
    ("127.1", "127.0.0.1"),
    ("127.0.1", "127.0.0.1"),
    ("127.0.0.1.", "127.0.0.1"),  # trailing dot
    ("0", "0.0.0.0"),
    ("0xa9fea9fe", "169.254.169.254"),
    ("10.0.0.1", "10.0.0.1"),
    ("8.8.8.8", "8.8.8.8"),
    ("134744072", "8.8.8.8"),
    ("::1", "::1"),
    ("fe80::1%eth0", "fe80::1"),
    ("64:ff9b::7f00:1", "64:ff9b::7f00:1"),
    ("example.com", None),
    ("ci.example.com.", None),
    ("0x7f.example.com", None),  # ends in a label: a name
    ("1password.com", None),
]


@pytest.mark.backend_independent
@pytest.mark.parametrize(("host", "expected"), SPELLINGS)
def test_literal_addresses_are_read_in_every_spelling(host, expected):
    found = literal_address(host)
    assert (None if found is None else str(found).split("%")[0]) == expected


@pytest.mark.backend_independent
@pytest.mark.parametrize("host", ["1.2.3.256", "256.1", "1.2.3.4.5", "0x1g.1", "08.1.1.1", "4294967296", "::g"])
def test_hosts_ending_in_a_number_that_is_no_address_are_invalid(host):
    with pytest.raises(InvalidHost):
        literal_address(host)


# (address, refused?, a word the reason must contain)
ADDRESSES = [
    ("127.0.0.1", True, "loopback"),
    ("10.1.2.3", True, "private"),
    ("172.16.0.1", True, "private"),
    ("192.168.0.1", True, "private"),
    ("169.254.169.254", True, "link-local"),
    ("100.64.0.1", True, "not globally routable"),  # carrier-grade NAT
    ("0.0.0.0", True, "unspecified"),
    ("224.0.0.1", True, "multicast"),
    ("240.0.0.1", True, ""),  # reserved (private in the stdlib's table)
    ("255.255.255.255", True, ""),
    ("198.18.0.1", True, "private"),
    ("192.0.2.1", True, "private"),  # documentation
    ("8.8.8.8", False, ""),
    ("93.184.215.14", False, ""),
    ("::1", True, "loopback"),
    ("::", True, "unspecified"),
    ("fe80::1", True, "link-local"),
    ("fc00::1", True, "private"),
    ("fec0::1", True, "site-local"),
    ("ff02::1", True, "multicast"),
    ("2001:db8::1", True, "private"),
    ("::ffff:127.0.0.1", True, "IPv4-mapped address of 127.0.0.1, which is loopback"),
    ("::ffff:169.254.169.254", True, "IPv4-mapped"),
    ("::ffff:8.8.8.8", False, ""),
    ("64:ff9b::7f00:1", True, "NAT64 address of 127.0.0.1, which is loopback"),
    ("64:ff9b::a9fe:a9fe", True, "NAT64 address of 169.254.169.254"),
    ("64:ff9b::a00:1", True, "NAT64 address of 10.0.0.1, which is private"),
    ("64:ff9b::808:808", False, ""),
    ("64:ff9b:1::a00:1", True, "local-use NAT64"),
    ("64:ff9b:1::808:808", True, "local-use NAT64"),
    ("2002:7f00:1::", True, "6to4 address of 127.0.0.1, which is loopback"),
    ("2002:a9fe:a9fe::1", True, "6to4 address of 169.254.169.254"),
    ("2002:c0a8:1::1", True, "6to4 address of 192.168.0.1"),
    ("2002:808:808::1", False, ""),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", True, "Teredo"),
    ("2001::1", True, "Teredo"),
    ("::7f00:1", True, "IPv4-compatible"),
    ("::808:808", True, "IPv4-compatible"),
    ("::ffff:0:7f00:1", True, "reserved"),  # SIIT IPv4-translated
    ("2606:4700:4700::1111", False, ""),
    ("2a00:1450:4001:80b::200e", False, ""),
]


@pytest.mark.backend_independent
@pytest.mark.parametrize(("address", "refused", "reason"), ADDRESSES)
def test_addresses_are_classified_with_their_embedded_ipv4(address, refused, reason):
    found = refusal(ip_address(address))
    assert (found is not None) == refused, found
    assert reason in (found or "")


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    ("host", "refused"),
    [("localhost", True), ("LOCALHOST.", True), ("api.localhost", True), ("localhost.example.com", False),
     ("2130706433", True), ("0x7f.1", True), ("127.1", True), ("64:ff9b::7f00:1", True), ("2002:7f00:1::", True),
     ("169.254.169.254", True), ("8.8.8.8", False), ("ci.example.com", False), ("metadata.google.internal", False)],
)
def test_hosts_refused_on_their_face(host, refused):
    """Creation refuses what the URL itself shows; names (metadata.google.internal too) are judged at delivery."""
    assert (host_refusal(host) is not None) == refused


class RebindingResolver:
    """A DNS server playing rebinding: the first answer is public, every later one is 127.0.0.1."""

    def __init__(self, first: str = "93.184.215.14") -> None:
        self.first = first
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        return [self.first] if len(self.lookups) == 1 else ["127.0.0.1"]


class Network(httpcore.AsyncNetworkBackend):
    """The TCP layer under the sender: records where each connection goes; connections to ``public`` reach the
    loopback receiver (standing in for the Internet), connections anywhere else reach it too, so a sender that
    connected to a second answer would deliver."""

    def __init__(self, receiver_port: int) -> None:
        self.port = receiver_port
        self.connected: list[tuple[str, int]] = []
        self._real = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, **options: Any) -> httpcore.AsyncNetworkStream:
        self.connected.append((host, port))
        return await self._real.connect_tcp("127.0.0.1", self.port, **options)

    async def sleep(self, seconds: float) -> None:
        await self._real.sleep(seconds)


def _port(receiver: Receiver) -> int:
    return httpx.URL(receiver.url()).port or 0


@pytest.mark.backend_independent
async def test_the_connection_goes_to_the_address_that_was_checked():
    receiver = Receiver()  # answers HTTP/1.0 and closes: every delivery opens a new connection
    resolver, network = RebindingResolver(), Network(_port(receiver))
    sender = HttpWebhookSender(5.0, allow_private=False, resolver=resolver, network=network)
    url = f"http://rebind.example:{_port(receiver)}/hook"
    try:
        first = await sender.send(url, b"{}", {})
        assert first.ok, first
        assert resolver.lookups == ["rebind.example"]  # resolved once: the check's answer is the connection's
        assert network.connected == [("93.184.215.14", _port(receiver))]  # the checked address, not 127.0.0.1
        assert receiver.received[0].headers["host"] == f"rebind.example:{_port(receiver)}"  # the name, still
        second = await sender.send(url, b"{}", {})  # a new connection: resolved again, now 127.0.0.1
    finally:
        await sender.close()
    assert second.error and second.error.startswith("refused: rebind.example resolves to 127.0.0.1"), second
    assert "loopback" in second.error and len(network.connected) == 1 and len(receiver.received) == 1


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "url",
    ["http://[64:ff9b::7f00:1]:9/x", "http://[2002:7f00:1::]:9/x", "http://[::ffff:127.0.0.1]:9/x",
     "http://[::ffff:a9fe:a9fe]/latest", "http://2130706433:9/x", "http://0x7f.1:9/x", "http://017700000001:9/x",
     "http://127.1:9/x", "http://169.254.169.254/latest", "http://[2001::1]/x", "http://[::7f00:1]/x"],
)
async def test_every_spelling_is_refused_at_delivery(url):
    network = Network(9)
    sender = HttpWebhookSender(1.0, allow_private=False, network=network)
    try:
        result = await sender.send(url, b"{}", {})
    finally:
        await sender.close()
    assert not result.ok and result.status_code is None and result.error.startswith("refused:"), result
    assert network.connected == []


@pytest.mark.backend_independent
async def test_a_name_resolving_to_any_private_address_is_refused():
    async def resolver(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "10.0.0.5"]

    network = Network(9)
    sender = HttpWebhookSender(1.0, allow_private=False, resolver=resolver, network=network)
    try:
        result = await sender.send("https://mixed.example/hook", b"{}", {})
    finally:
        await sender.close()
    assert result.error.startswith("refused: mixed.example resolves to 10.0.0.5") and network.connected == []


@pytest.mark.backend_independent
async def test_private_targets_pass_when_allowed_and_still_connect_once():
    receiver = Receiver()
    resolver, network = RebindingResolver(first="10.0.0.5"), Network(_port(receiver))
    sender = HttpWebhookSender(5.0, allow_private=True, resolver=resolver, network=network)
    try:
        result = await sender.send(f"http://internal.example:{_port(receiver)}/hook", b"{}", {})
    finally:
        await sender.close()
    assert result.ok and network.connected == [("10.0.0.5", _port(receiver))]
    assert resolver.lookups == ["internal.example"]


@contextlib.asynccontextmanager
async def api_refusing_private(settings: Settings, api: Api) -> AsyncIterator[Api]:
    """An API on the same (freshly wiped) database with MODELREG_WEBHOOK_ALLOW_PRIVATE=false, as in production."""
    async with api_with_settings(settings, api, webhook_allow_private=False) as changed:
        yield changed


REFUSED_AT_CREATION = ["http://169.254.169.254/latest/meta-data/", "http://[64:ff9b::7f00:1]/x",
                       "http://[2002:7f00:1::]/x", "http://2130706433/x", "http://0x7f.1/x", "http://127.1:8080/x",
                       "https://localhost/x", "http://[::ffff:10.0.0.1]/x", "http://10.0.0.1/x"]


@pytest.mark.parametrize("url", REFUSED_AT_CREATION)
async def test_literal_non_public_urls_are_refused_at_creation(settings: Settings, api: Api, url: str):
    async with api_refusing_private(settings, api) as strict:
        error = await strict.error(CREATE_WEBHOOK, {"in": {"url": url, "secret": SECRET}})
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "url"}, error
        assert "public address" in error["message"] and "MODELREG_WEBHOOK_ALLOW_PRIVATE" in error["message"]
        assert (await strict.ok("{ webhooks(first: 5) { totalCount } }"))["webhooks"]["totalCount"] == 0


async def test_update_refuses_them_too_and_names_pass(settings: Settings, api: Api):
    async with api_refusing_private(settings, api) as strict:
        created = await strict.ok(CREATE_WEBHOOK, {"in": {"url": "https://ci.example.com/hook", "secret": SECRET}})
        hook = created["createWebhook"]["webhook"]
        error = await strict.error(UPDATE_WEBHOOK, {"in": {"id": hook["id"], "url": "http://[64:ff9b::a9fe:a9fe]/"}})
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "url"}
        listed = await strict.ok("{ webhooks(first: 5) { nodes { url } } }")
        assert listed["webhooks"]["nodes"] == [{"url": "https://ci.example.com/hook"}]


async def test_invalid_hosts_are_refused_even_when_private_targets_are_allowed(api: Api):
    for url in ("http://1.2.3.256/x", "http://[::1/x"):
        error = await api.error(CREATE_WEBHOOK, {"in": {"url": url, "secret": SECRET}})
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "url"}, (url, error)
    created = await api.ok(CREATE_WEBHOOK, {"in": {"url": "http://127.0.0.1:9/hook", "secret": SECRET}})
    assert created["createWebhook"]["webhook"]["url"] == "http://127.0.0.1:9/hook"  # allowed by the suite's settings
