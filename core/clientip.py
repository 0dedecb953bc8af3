"""Who is asking: the client's IP address, for every rate limit and per-visitor count.

``REMOTE_ADDR`` is the peer of this process. Behind a load balancer that is the balancer, and the
visitor is in ``X-Forwarded-For`` — a header anybody can send. So the header is read only when
``REMOTE_ADDR`` is one of ``settings.TRUSTED_PROXIES`` (IPs or CIDRs; ``unix`` for a proxy on a
Unix socket, which leaves ``REMOTE_ADDR`` empty), and then from the right: each proxy appends
the address it saw, so the right-most address that is not one of ours is the one our first proxy
saw, whatever the client wrote to the left of it. With no trusted proxies the header is ignored.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

UNIX_SOCKET = "unix"


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[tuple[IPNetwork, ...], bool]:
    """The trusted networks, and whether a Unix-socket peer is trusted."""
    networks: list[IPNetwork] = []
    unix = False
    for item in spec:
        if item.lower() == UNIX_SOCKET:
            unix = True
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"TRUSTED_PROXIES: {item!r} is not an IP address or network"
            ) from exc
    return tuple(networks), unix


def trusted_proxies() -> tuple[tuple[IPNetwork, ...], bool]:
    raw = getattr(settings, "TRUSTED_PROXIES", ()) or ()
    if isinstance(raw, str):
        raw = raw.split(",")
    return _networks(tuple(item.strip() for item in raw if item and item.strip()))


def parse_ip(text: str) -> IPAddress | None:
    """An address as proxies write it: ``1.2.3.4``, ``1.2.3.4:5678``, ``2001:db8::1``,
    ``[2001:db8::1]:443``; an IPv4-mapped IPv6 address is its IPv4 address. None for anything
    else (``unknown``, an obfuscated ``_hidden`` name, garbage)."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # IPv4 with a port; IPv6 has at least two colons
        text = text.split(":", 1)[0]
    text = text.split("%", 1)[0]  # an IPv6 zone (fe80::1%eth0)
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    return any(address in network for network in networks)


def client_ip(request: HttpRequest) -> str:
    """The client's address as text ("" when unknown: no peer address and no trusted proxy).

    Also django-ratelimit's ``RATELIMIT_IP_META_KEY``, so its ``"ip"`` key agrees with ours.
    """
    networks, unix = trusted_proxies()
    remote_text = (request.META.get("REMOTE_ADDR") or "").strip()
    remote = parse_ip(remote_text)
    # A Unix-socket peer has no address at all; anything else unparseable is never trusted.
    peer_trusted = _trusted(remote, networks) if remote is not None else unix and not remote_text
    client = str(remote) if remote is not None else remote_text
    if not peer_trusted:
        return client
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for hop_text in reversed(forwarded.split(",")):
        if not hop_text.strip():
            continue
        hop = parse_ip(hop_text)
        if hop is None:
            # Not an address where one of our proxies should have written one: stop at the last
            # address we could trust rather than believe anything further left.
            break
        client = str(hop)
        if not _trusted(hop, networks):
            break  # the first address not ours: the client as our outermost proxy saw it
    return client


def rate_key_ip(request: HttpRequest) -> str:
    """The client address as a rate-limit key (``rate_key_for``)."""
    return rate_key_for(client_ip(request))


def rate_key_for(ip: str) -> str:
    """An address as a rate-limit key: an IPv6 client is its /64 (one subscriber's prefix, as
    django-ratelimit does), so rotating through a prefix does not buy more tries."""
    address = parse_ip(ip)
    if address is None:
        return ip or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        mask = getattr(settings, "RATELIMIT_IPV6_MASK", 64)
        return str(ipaddress.ip_network(f"{address}/{mask}", strict=False).network_address)
    return str(address)
