"""Which addresses the gateway may call an upstream at.

A public (globally reachable) address may be called; so may any address in a network the
operator allows. An IPv6 address that carries an IPv4 address inside it reaches that IPv4
address, so it is judged by the IPv4 address it carries: IPv4-mapped `::ffff:a.b.c.d`,
IPv4-compatible `::a.b.c.d`, IPv4-translated `::ffff:0:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d` and
6to4 `2002:AABB:CCDD::/48`. The local-use NAT64 prefix `64:ff9b:1::/48` (where the IPv4 address
may sit at several places) and Teredo `2001::/32` (a tunnel to a host behind a NAT) are never
public. Everything else follows the IANA special-purpose registries as `ipaddress` knows them.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

# Prefixes whose last 32 bits are an IPv4 address (IPv4-mapped `::ffff:0:0/96` is
# `IPv6Address.ipv4_mapped`, 6to4 `2002::/16` is `IPv6Address.sixtofour`).
_LAST_32_BITS = (
    IPv6Network("::/96"),  # IPv4-compatible (deprecated)
    IPv6Network("::ffff:0:0:0/96"),  # IPv4-translated (SIIT)
    IPv6Network("64:ff9b::/96"),  # NAT64, well-known prefix
)
_NEVER_PUBLIC = (
    IPv6Network("64:ff9b:1::/48"),  # NAT64, local use
    IPv6Network("2001::/32"),  # Teredo
)


def networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """Addresses and networks as the operator writes them ("10.0.0.0/8", "192.168.1.7")."""
    return tuple(ip_network(entry, strict=False) for entry in entries)


def embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address carries, by one of the forms above; or None."""
    carried = address.ipv4_mapped or address.sixtofour
    if carried is None and any(address in prefix for prefix in _LAST_32_BITS):
        carried = IPv4Address(int(address) & 0xFFFF_FFFF)
    return carried


def refused_address(address: str | Address, allowed: Iterable[Network] = ()) -> Address | None:
    """None when an upstream at `address` may be called; otherwise the address that is not
    public, which is `address` itself or the IPv4 address it carries."""
    found = ip_address(address) if isinstance(address, str) else address
    allowed = tuple(allowed)
    if any(found.version == network.version and found in network for network in allowed):
        return None
    if isinstance(found, IPv6Address):
        never = found.is_loopback or found.is_unspecified  # `::1` and `::` are not `::a.b.c.d`
        if never or any(found in prefix for prefix in _NEVER_PUBLIC):
            return found
        inner = embedded_ipv4(found)
        if inner is not None:
            return refused_address(inner, allowed)
    return None if found.is_global else found
