"""The guard against server-side request forgery: outgoing requests (webhooks, agents' dispatches)
go to public hosts only, in one place.

`check_url` refuses a URL unless it is a plain http(s) URL (no user name or password) and *every*
address its host resolves to is a public one: loopback, private, link-local (which holds the cloud
metadata address 169.254.169.254), shared, reserved, unspecified and multicast addresses are
refused, also inside IPv4-mapped IPv6 addresses, unless the server runs with
`TICKETS_WEBHOOKS_ALLOW_PRIVATE=true` (tests, local development). It returns the addresses it
checked, so a caller can connect to one of them (a second DNS answer cannot redirect it). Callers
check when a URL is saved and again before each request.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from urllib.parse import urlsplit

from tickets.domain.errors import InvalidValueError

ALLOW_PRIVATE_ENV = "TICKETS_WEBHOOKS_ALLOW_PRIVATE"
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def private_addresses_allowed() -> bool:
    return os.environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in ("1", "true", "yes")


class UnsafeUrlError(ValueError):
    """The URL may not receive webhooks (its scheme, or an address its host resolves to)."""


def _refused(address: IPAddress) -> str | None:
    """Why an address may not be called, or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _refused(address.ipv4_mapped)
    for reason, flag in (
        ("a loopback", address.is_loopback),
        ("an unspecified", address.is_unspecified),
        ("a link-local (or cloud metadata)", address.is_link_local),
        ("a multicast", address.is_multicast),
        ("a private", address.is_private),
        ("a reserved", address.is_reserved),
    ):
        if flag:
            return f"{reason} address"
    if not address.is_global:
        return "a non-public address"
    return None


def parse_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a webhook URL; UnsafeUrlError unless it is a plain http(s) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeUrlError(f"not a valid URL: {error}") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrlError("the URL must start with http:// or https://")
    if not parts.hostname:
        raise UnsafeUrlError("the URL names no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrlError("the URL may not carry a user name or password")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to now."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise UnsafeUrlError(f"{host} does not resolve ({error})") from None
    found = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not found:
        raise UnsafeUrlError(f"{host} does not resolve")
    return list(dict.fromkeys(found))


def check_url(url: str, allow_private: bool) -> list[IPAddress]:
    """The addresses to call for `url`, each checked (none to pin when private addresses are allowed)."""
    _, host, port = parse_url(url)
    if allow_private:
        return []
    addresses = resolve(host, port)
    for address in addresses:
        if (reason := _refused(address)) is not None:
            raise UnsafeUrlError(f"{host} resolves to {address}, {reason}: only public addresses are called")
    return addresses


def check_public_url(url: str, allow_private: bool | None = None) -> None:
    """`check_url` for a URL a member gives (an agent's): InvalidValueError (422) when refused.

    `allow_private` None: as `TICKETS_WEBHOOKS_ALLOW_PRIVATE` says.
    """
    try:
        check_url(url, private_addresses_allowed() if allow_private is None else allow_private)
    except UnsafeUrlError as refused:
        raise InvalidValueError(
            f"{url!r}: {refused} (set {ALLOW_PRIVATE_ENV}=true for local development)"
        ) from None


__all__ = [
    "ALLOW_PRIVATE_ENV",
    "IPAddress",
    "UnsafeUrlError",
    "check_public_url",
    "check_url",
    "parse_url",
    "private_addresses_allowed",
    "resolve",
]
