"""Posting a dispatch to an external agent: signed with Standard Webhooks headers, over HTTP.

Redirects are not followed (a redirect to a private address would step around the SSRF guard),
and the URL is checked again before each POST (`ssrf.check_public_url`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import httpx
from standardwebhooks.webhooks import Webhook

from tickets.domain.errors import InvalidValueError
from tickets.infrastructure.ssrf import check_public_url


class DispatchDeliveryError(Exception):
    """The agent did not take the dispatch; `permanent` when trying again cannot help (a 4xx, a refused URL)."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class SignedPost:
    url: str
    body: bytes
    headers: dict[str, str]


def signed_post(url: str, secret: str, message_id: str, at: datetime, body: bytes) -> SignedPost:
    """The POST of `body` with `webhook-id`, `webhook-timestamp` and `webhook-signature` (v1, HMAC-SHA256)."""
    signature = Webhook(secret).sign(msg_id=message_id, timestamp=at, data=body.decode())
    headers = {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "user-agent": "pfai-tickets-agents/1",
    }
    return SignedPost(url, body, headers)


class DispatchTransport(Protocol):
    def post(self, request: SignedPost) -> int:
        """Deliver; returns the 2xx status, or raises DispatchDeliveryError."""
        ...


class HttpDispatchTransport:
    """POSTs with httpx, a timeout, no redirects."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout

    def post(self, request: SignedPost) -> int:
        try:
            check_public_url(request.url)
        except InvalidValueError as refused:
            raise DispatchDeliveryError(str(refused), permanent=True) from None
        try:
            response = httpx.post(
                request.url,
                content=request.body,
                headers=request.headers,
                timeout=self.timeout,
                follow_redirects=False,
            )
        except httpx.TimeoutException:
            raise DispatchDeliveryError(f"no answer within {self.timeout:g} s") from None
        except httpx.HTTPError as error:
            raise DispatchDeliveryError(f"could not connect: {error}") from None
        if 200 <= response.status_code < 300:
            return response.status_code
        # 5xx, 429 and 408 may pass; any other answer will not change by asking again.
        retryable = response.status_code >= 500 or response.status_code in (408, 429)
        raise DispatchDeliveryError(f"answered {response.status_code}", permanent=not retryable)


__all__ = ["DispatchDeliveryError", "DispatchTransport", "HttpDispatchTransport", "SignedPost", "signed_post"]
