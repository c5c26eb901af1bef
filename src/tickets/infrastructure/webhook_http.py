"""Webhook requests: where they may go (no SSRF), how they are signed, and how they are sent.

- `check_url` (`ssrf.py`, shared with agents' dispatches) refuses a URL unless every address its
  host resolves to is public. It runs at registration and again before each delivery (DNS can
  change), unless the server runs with `TICKETS_WEBHOOKS_ALLOW_PRIVATE=true`.
- `HttpTransport.post` then connects to an address it checked (the request names the host in
  `Host` and, for https, in TLS SNI, so the certificate is verified for the host): a second DNS
  answer between the check and the connection cannot send it elsewhere. It follows no redirects,
  gives up after the timeout (10 s) and keeps at most 1 KB of the answer.
- `sign` makes the Standard Webhooks `webhook-signature` with the `standardwebhooks` package:
  `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per secret that signs now.
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import httpx
from standardwebhooks import Webhook as StandardWebhook

from tickets.domain.webhook import RESPONSE_BODY_KEPT
from tickets.infrastructure.ssrf import UnsafeUrlError, check_url

USER_AGENT = "pfai-webhooks/1"


def new_secret() -> str:
    """A signing secret in the Standard Webhooks form: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(signing_secrets: list[str], message_id: str, at: datetime, body: str) -> str:
    """The `webhook-signature` header: a `v1,<base64>` signature per secret, space-separated."""
    return " ".join(StandardWebhook(s).sign(message_id, at, body) for s in signing_secrets)


def signed_headers(signing_secrets: list[str], message_id: str, at: datetime, body: str) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": sign(signing_secrets, message_id, at, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A `Retry-After` header (seconds, or an HTTP date) as a delay from `now`."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return timedelta(seconds=min(int(value), 86_400))
    try:
        at = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(at - now, timedelta(0)) if at.tzinfo is not None else None


@dataclass(frozen=True)
class Answer:
    """What a receiver answered: its status, how long it took, the start of its body, its Retry-After."""

    status_code: int
    latency_ms: int
    body: str
    retry_after: str | None


class DeliveryError(Exception):
    """The request got no answer (refused address, connection error, timeout)."""

    def __init__(self, message: str, latency_ms: int | None = None) -> None:
        super().__init__(message)
        self.latency_ms = latency_ms


class WebhookTransport(Protocol):
    def post(self, url: str, headers: dict[str, str], body: str) -> Answer: ...


class HttpTransport:
    """POSTs with httpx to checked addresses only (unless private ones are allowed)."""

    def __init__(self, allow_private: bool = False, timeout: float = 10.0) -> None:
        self.allow_private = allow_private
        self.timeout = timeout
        self._client = httpx.Client(follow_redirects=False, timeout=httpx.Timeout(timeout), trust_env=False)

    def close(self) -> None:
        self._client.close()

    def post(self, url: str, headers: dict[str, str], body: str) -> Answer:
        try:
            addresses = check_url(url, self.allow_private)
        except UnsafeUrlError as error:
            raise DeliveryError(str(error)) from None
        target, extensions, headers = url, {}, dict(headers)
        if addresses:
            parts = urlsplit(url)
            address = addresses[0]
            literal = f"[{address}]" if address.version == 6 else str(address)
            netloc = f"{literal}:{parts.port}" if parts.port else literal
            target = urlunsplit(parts._replace(netloc=netloc))
            headers["host"] = parts.netloc
            if parts.scheme == "https":
                extensions["sni_hostname"] = parts.hostname or ""
        started = time.monotonic()
        try:
            with self._client.stream(
                "POST", target, content=body.encode(), headers=headers, extensions=extensions
            ) as response:
                latency = int((time.monotonic() - started) * 1000)
                kept = b""
                for chunk in response.iter_raw():
                    kept += chunk
                    if len(kept) >= RESPONSE_BODY_KEPT:
                        break
                return Answer(
                    status_code=response.status_code,
                    latency_ms=latency,
                    body=kept[:RESPONSE_BODY_KEPT].decode("utf-8", "replace"),
                    retry_after=response.headers.get("retry-after"),
                )
        except httpx.TimeoutException:
            raise DeliveryError(
                f"no answer within {self.timeout:g} s", int((time.monotonic() - started) * 1000)
            ) from None
        except httpx.HTTPError as error:
            raise DeliveryError(
                f"{type(error).__name__}: {error}", int((time.monotonic() - started) * 1000)
            ) from None


__all__ = [
    "Answer",
    "DeliveryError",
    "HttpTransport",
    "UnsafeUrlError",
    "WebhookTransport",
    "check_url",
    "new_secret",
    "retry_after",
    "sign",
    "signed_headers",
]
