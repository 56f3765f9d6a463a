"""Who is asking: the client's address as rate limits must see it.

`X-Forwarded-For` is believed only from the proxies listed in TRUSTED_PROXIES (CIDR
networks): from anyone else it is something the client wrote itself, and rotating it would
make one sender many. Behind a trusted proxy the client is the right-most address in the
header that is not itself a trusted proxy (each proxy appends the peer it saw; the left part
is again the client's own writing). Every IPv6 address of one /64 is one client: a home
line gets a whole /64 and its owner can pick any address in it.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

from disaster.core.ratelimit import keyed_hash

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(net, strict=False) for net in spec)


def trusted_proxies() -> tuple[IPNetwork, ...]:
    return _networks(tuple(settings.TRUSTED_PROXIES))


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = address.strip().strip('"')
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.5:443"
        text = text.split(":")[0]
    try:
        parsed = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped:
        return parsed.ipv4_mapped
    return parsed


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return any(address in network for network in trusted_proxies())


def client_address(remote_addr: str, forwarded_for: str = "") -> str:
    """The client's address, from the peer's address and the `X-Forwarded-For` header."""
    peer = _parse(remote_addr)
    if peer is None:
        return remote_addr
    if not forwarded_for or not _trusted(peer):
        return str(peer)
    for hop in reversed(forwarded_for.split(",")):
        address = _parse(hop)
        if address is None:
            break  # a malformed hop: nothing left of it can be believed
        if not _trusted(address):
            return str(address)
        peer = address
    return str(peer)


def bucket(address: str) -> str:
    """What a limit counts: the address itself for IPv4, its /64 for IPv6."""
    parsed = _parse(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed) if parsed is not None else address


def request_client(request: HttpRequest) -> str:
    return client_address(
        request.META.get("REMOTE_ADDR", ""), request.META.get("HTTP_X_FORWARDED_FOR", "")
    )


def scope_client(scope: dict) -> str:
    """`request_client` for an ASGI scope, before Django has made a request of it."""
    client = scope.get("client") or ("", 0)
    forwarded = b",".join(
        value for name, value in scope.get("headers", []) if name == b"x-forwarded-for"
    )
    return client_address(str(client[0]), forwarded.decode("latin-1"))


def client_key(address: str) -> str:
    """A keyed hash of the client's bucket: enough to count its requests, not to find it."""
    return keyed_hash(bucket(address))
