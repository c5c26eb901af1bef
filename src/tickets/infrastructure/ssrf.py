"""The guard against server-side request forgery: outgoing POSTs (agents' dispatches) go to public hosts only.

A URL is refused when its host is, or resolves to, a loopback, private, link-local (which holds
the cloud metadata address 169.254.169.254), shared, reserved, multicast or unspecified address,
unless the server runs with `TICKETS_WEBHOOKS_ALLOW_PRIVATE=true` (tests, local development).
The check runs when the URL is saved and again before each request (DNS can change in between).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from urllib.parse import urlsplit

from tickets.domain.errors import InvalidValueError

ALLOW_PRIVATE_ENV = "TICKETS_WEBHOOKS_ALLOW_PRIVATE"


def private_addresses_allowed() -> bool:
    return os.environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in ("1", "true", "yes")


def _refused(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _refused(address.ipv4_mapped)
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
        or not address.is_global
    )


def check_public_url(url: str, allow_private: bool | None = None) -> None:
    """Raise InvalidValueError unless `url` is http(s) and its host resolves only to public addresses.

    `allow_private` None: as `TICKETS_WEBHOOKS_ALLOW_PRIVATE` says.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidValueError(f"{url!r} is not an http:// or https:// URL")
    if allow_private if allow_private is not None else private_addresses_allowed():
        return
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InvalidValueError(f"{url!r} has an invalid port") from None
    try:
        found = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise InvalidValueError(f"the host of {url!r} does not resolve") from None
    for *_, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if _refused(address):
            raise InvalidValueError(
                f"{url!r} points to a private, loopback or link-local address ({address}); "
                f"only public hosts are called (set {ALLOW_PRIVATE_ENV}=true for local development)"
            )


__all__ = ["ALLOW_PRIVATE_ENV", "check_public_url", "private_addresses_allowed"]
