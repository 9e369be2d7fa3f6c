"""Which network addresses a webhook may reach: public Internet addresses only, unless private targets are allowed.

Pure rules, no I/O. ``literal_address`` reads a URL's host the way resolvers and browsers do (the WHATWG URL
standard's IPv4 parser, which is also what ``inet_aton`` accepts: ``2130706433``, ``0x7f.1``, ``017700000001``,
``127.1`` are all 127.0.0.1), so a number spelled unusually is still recognised. ``refusal`` classifies an address
with the standard library's ``ipaddress`` rules and, for IPv6 forms that carry an IPv4 address (IPv4-mapped, NAT64,
6to4, IPv4-compatible, Teredo), judges the embedded IPv4 address too: ``[64:ff9b::7f00:1]`` reaches 127.0.0.1
through a NAT64 translator and is refused like it.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv6Address, IPv6Network

Address = IPv4Address | IPv6Address

NAT64_WELL_KNOWN = IPv6Network("64:ff9b::/96")  # RFC 6052: the IPv4 address is the last 32 bits
NAT64_LOCAL_USE = IPv6Network("64:ff9b:1::/48")  # RFC 8215: translators into the operator's own (private) networks
SIX_TO_FOUR = IPv6Network("2002::/16")  # RFC 3056: the relay's IPv4 address is bits 16-47
TEREDO = IPv6Network("2001::/32")  # RFC 4380: server and (obfuscated) client IPv4 addresses
IPV4_COMPATIBLE = IPv6Network("::/96")  # RFC 4291 (deprecated): ::a.b.c.d
LOCALHOST_NAMES = ("localhost", ".localhost")  # RFC 6761: always the loopback interface

_HEX = re.compile(r"^0[xX][0-9a-fA-F]*$")
_OCTAL = re.compile(r"^0[0-7]+$")
_DECIMAL = re.compile(r"^(0|[1-9][0-9]*)$")


class InvalidHost(ValueError):
    """The host ends in a number, so it must be an IPv4 address, but it is not a valid one (``1.2.3.256``)."""


def _ipv4_number(part: str) -> int | None:
    if _HEX.match(part):
        return int(part[2:] or "0", 16)
    if _OCTAL.match(part):
        return int(part[1:], 8)
    if _DECIMAL.match(part):
        return int(part)
    return None


def _ipv4(host: str) -> IPv4Address | None:
    """The WHATWG URL standard's IPv4 parser: None for a name; InvalidHost for a number that is no address."""
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()  # a trailing dot (a fully qualified name)
    last = parts[-1]
    if not (last.isascii() and last.isdigit()) and _ipv4_number(last) is None:
        return None  # ends in a label, not a number: a name
    numbers = [_ipv4_number(part) for part in parts]
    if len(parts) > 4 or any(number is None for number in numbers):
        raise InvalidHost(f"{host} is neither a name nor a valid IPv4 address")
    values = [number for number in numbers if number is not None]
    if any(value > 255 for value in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        raise InvalidHost(f"{host} is neither a name nor a valid IPv4 address")
    value = values[-1] + sum(part << (8 * (3 - index)) for index, part in enumerate(values[:-1]))
    return IPv4Address(value)


def literal_address(host: str) -> Address | None:
    """The address a URL host (as ``urlsplit(url).hostname`` gives it: no brackets) spells, or None for a name.
    Raises InvalidHost for hosts that are neither."""
    if ":" in host:
        try:
            return IPv6Address(host.split("%", 1)[0])  # a zone (fe80::1%eth0) does not change the class
        except ValueError:
            raise InvalidHost(f"{host} is not a valid IPv6 address") from None
    return _ipv4(host)


def _embedded_ipv4(ip: IPv6Address) -> tuple[str, IPv4Address] | None:
    """The IPv4 address an IPv6 address stands for, with the mechanism's name."""
    if ip.ipv4_mapped is not None:
        return "IPv4-mapped", ip.ipv4_mapped
    if ip in NAT64_WELL_KNOWN:
        return "NAT64", IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    if ip in IPV4_COMPATIBLE and int(ip) > 1:
        return "IPv4-compatible", IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _category(ip: Address) -> str | None:
    """Why the address itself is not public, by the standard library's classification, or None."""
    checks = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local (cloud metadata endpoints live there)"),
        (ip.is_multicast, "multicast"),
        (isinstance(ip, IPv6Address) and ip.is_site_local, "site-local"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
        (not ip.is_global, "not globally routable"),
    )
    return next((reason for failed, reason in checks if failed), None)


def refusal(ip: Address) -> str | None:
    """Why a webhook must not connect to ``ip`` (a short phrase naming the class), or None for a public address."""
    if isinstance(ip, IPv6Address):
        if ip in TEREDO:
            return "a Teredo tunnel address (2001::/32)"
        if ip in NAT64_LOCAL_USE:
            return "a local-use NAT64 address (64:ff9b:1::/48), translated into private networks"
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            mechanism, ipv4 = embedded
            if mechanism == "IPv4-compatible":
                return f"an IPv4-compatible address (deprecated, ::/96) of {ipv4}"
            inner = refusal(ipv4)
            if inner is not None:
                return f"a {mechanism} address of {ipv4}, which is {inner}"
            if mechanism in ("IPv4-mapped", "NAT64"):
                return None  # the IPv4 address is the one reached, and it is public
    return _category(ip)


def is_localhost_name(host: str) -> bool:
    name = host.rstrip(".").lower()
    return name == LOCALHOST_NAMES[0] or name.endswith(LOCALHOST_NAMES[1])


def host_refusal(host: str) -> str | None:
    """Why a URL host is a non-public target on its face (a literal address, or a localhost name), without
    resolving anything; None for a public literal or any other name. Raises InvalidHost."""
    if is_localhost_name(host):
        return f"{host} is the loopback interface by definition (RFC 6761)"
    ip = literal_address(host)
    if ip is None:
        return None
    reason = refusal(ip)
    return None if reason is None else f"{host} is a non-public address: {reason}"
