"""Webhooks: where an org's feed events are POSTed, and each delivery of one event to one webhook.

A `Webhook` is an org's subscription (URL, event types, signing secret). Its deliveries are
`WebhookDelivery` aggregates whose id is derived from (webhook, feed event): the store's unique
key lets one server save the claim of an attempt, so two servers never send one attempt, and a
claim left by a server that died is taken over after its lease. The id also gives the stable
`webhook-id` a receiver deduplicates by. `OrgWebhooks` lists an org's webhooks (derived id).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from tickets.domain.errors import ConflictError, InvalidValueError
from tickets.domain.leases import attempt_due
from tickets.domain.registry import NAMESPACE
from tickets.domain.snapshots import TypedAggregate

# A claim lasts this long (the request's timeout is 10 s): after it, another server may try again.
DELIVERY_LEASE = timedelta(seconds=60)
# Failed deliveries are retried for this long after their first attempt, then given up, and the
# webhook is disabled (a day of failures).
RETRY_WINDOW = timedelta(hours=24)
# The first retry waits about this long; each next one twice as long, at most `MAX_RETRY_DELAY`.
FIRST_RETRY_DELAY = timedelta(seconds=30)
MAX_RETRY_DELAY = timedelta(hours=1)
# After a rotation, the previous secret also signs for this long.
SECRET_GRACE = timedelta(hours=24)
# How many webhooks one org may have.
MAX_WEBHOOKS_PER_ORG = 20
# Kept of a receiver's answer.
RESPONSE_BODY_KEPT = 1024


def retry_delay(delivery_id: UUID, attempt: int, retry_after: timedelta | None = None) -> timedelta:
    """How long to wait after failed attempt `attempt` (1-based): exponential, with jitter (50-100 %,
    the same for a given delivery and attempt, so replays agree), at least the receiver's `Retry-After`."""
    backoff: timedelta = min(FIRST_RETRY_DELAY * (2 ** (attempt - 1)), MAX_RETRY_DELAY)
    jitter = random.Random(f"{delivery_id}:{attempt}").uniform(0.5, 1.0)
    delay: timedelta = backoff * jitter
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_WINDOW))
    return delay


class Webhook(TypedAggregate):
    """An org's webhook: the URL its chosen feed event types are POSTed to, signed with its secret."""

    class Registered(Aggregate.Created):
        org_id: UUID
        url: str
        events: list[str]
        active: bool
        description: str
        secret: str
        actor_id: UUID

    class Updated(Aggregate.Event):
        url: str
        events: list[str]
        active: bool
        description: str
        actor_id: UUID

    class SecretRotated(Aggregate.Event):
        secret: str
        previous_until: datetime
        actor_id: UUID

    class Deleted(Aggregate.Event):
        actor_id: UUID

    @event(Registered)
    def __init__(
        self,
        org_id: UUID,
        url: str,
        events: list[str],
        active: bool,
        description: str,
        secret: str,
        actor_id: UUID,
        timestamp: datetime,
    ) -> None:
        self.org_id = org_id
        self.url = url
        self.events = list(events)
        self.active = active
        self.description = description
        self.secret = secret
        self.previous_secret: str | None = None
        self.previous_secret_until: datetime | None = None
        self.disabled_reason: str | None = None
        self.deleted = False
        self.created_at = timestamp

    @event(Updated)
    def update(
        self, url: str, events: list[str], active: bool, description: str, actor_id: UUID, timestamp: datetime
    ) -> None:
        self.url = url
        self.events = list(events)
        self.active = active
        self.description = description
        if active:
            self.disabled_reason = None

    @event(SecretRotated)
    def rotate_secret(
        self, secret: str, previous_until: datetime, actor_id: UUID, timestamp: datetime
    ) -> None:
        self.previous_secret = self.secret
        self.previous_secret_until = previous_until
        self.secret = secret

    def disable(self, reason: str, at: datetime) -> None:
        """Stop delivering (deliveries failed for a day); an admin turns it on again with `active: true`."""
        if self.active:
            self._disabled(reason=reason, timestamp=at)

    class Disabled(Aggregate.Event):
        """The webhook stopped itself: what an admin should be told (the inbox of a later feature)."""

        reason: str

    @event(Disabled)
    def _disabled(self, reason: str, timestamp: datetime) -> None:
        self.active = False
        self.disabled_reason = reason

    @event(Deleted)
    def delete(self, actor_id: UUID, timestamp: datetime) -> None:
        self.active = False
        self.deleted = True

    def secrets(self, now: datetime) -> list[str]:
        """The secrets that sign now: the current one, and the previous one during its grace period."""
        if self.previous_secret and self.previous_secret_until and now < self.previous_secret_until:
            return [self.secret, self.previous_secret]
        return [self.secret]

    def wants(self, event_type: str) -> bool:
        return self.active and not self.deleted and event_type in self.events


class OrgWebhooks(TypedAggregate):
    """The ids of an org's webhooks, in the order they were made."""

    @staticmethod
    def create_id(org_id: UUID) -> UUID:
        return uuid5(NAMESPACE, f"org-webhooks:{org_id}")

    @event("Started")
    def __init__(self, org_id: UUID, timestamp: datetime) -> None:
        self.org_id = org_id
        self.ids: list[UUID] = []

    def add(self, webhook_id: UUID, at: datetime) -> None:
        if len(self.ids) >= MAX_WEBHOOKS_PER_ORG:
            raise InvalidValueError(f"an org may have at most {MAX_WEBHOOKS_PER_ORG} webhooks")
        self._added(webhook_id=webhook_id, timestamp=at)

    @event("Added")
    def _added(self, webhook_id: UUID, timestamp: datetime) -> None:
        self.ids = [*self.ids, webhook_id]

    @event("Removed")
    def remove(self, webhook_id: UUID, timestamp: datetime) -> None:
        self.ids = [i for i in self.ids if i != webhook_id]


DeliveryState = Literal["pending", "sending", "retrying", "delivered", "failed"]


class WebhookDelivery(TypedAggregate):
    """One feed event (or a ping) to one webhook, and its attempts."""

    @staticmethod
    def create_id(webhook_id: UUID, event_id: UUID) -> UUID:
        return uuid5(NAMESPACE, f"webhook-delivery:{webhook_id}:{event_id}")

    class Claimed(Aggregate.Created):
        webhook_id: UUID
        org_id: UUID
        event_id: UUID
        event_type: str
        position: int | None
        lease_until: datetime

    class Reclaimed(Aggregate.Event):
        lease_until: datetime

    class Attempted(Aggregate.Event):
        """One attempt's outcome: delivered (a 2xx), or failed with the next try (None: given up)."""

        delivered: bool
        status_code: int | None
        latency_ms: int | None
        error: str | None
        response_body: str | None
        retry_at: datetime | None

    class RedeliveryRequested(Aggregate.Event):
        actor_id: UUID

    @event(Claimed)
    def __init__(
        self,
        webhook_id: UUID,
        org_id: UUID,
        event_id: UUID,
        event_type: str,
        position: int | None,
        lease_until: datetime,
        timestamp: datetime,
    ) -> None:
        self.webhook_id = webhook_id
        self.org_id = org_id
        self.event_id = event_id
        self.event_type = event_type
        self.position = position
        self.state: DeliveryState = "sending"
        self.attempts = 1
        self.lease_until = lease_until
        self.retry_at: datetime | None = None
        # Retries run for `RETRY_WINDOW` from the first attempt (of a redelivery, from its first).
        self.first_attempt_at = timestamp
        self.status_code: int | None = None
        self.latency_ms: int | None = None
        self.error: str | None = None

    @property
    def message_id(self) -> str:
        """The `webhook-id` header: the same on every attempt, so receivers can deduplicate."""
        return f"msg_{self.id.hex}"

    @property
    def finished(self) -> bool:
        return self.state in ("delivered", "failed")

    def claim(self, now: datetime, lease: timedelta = DELIVERY_LEASE) -> bool:
        """Take the next attempt, unless finished, held by another server, or its retry is not due."""
        if self.finished or not attempt_due(self.state, "sending", self.lease_until, self.retry_at, now):
            return False
        self._reclaimed(lease_until=now + lease, timestamp=now)
        return True

    @event(Reclaimed)
    def _reclaimed(self, lease_until: datetime, timestamp: datetime) -> None:
        if self.state == "pending":
            self.first_attempt_at = timestamp
        self.state = "sending"
        self.attempts += 1
        self.lease_until = lease_until

    def record(
        self,
        now: datetime,
        status_code: int | None,
        latency_ms: int | None,
        error: str | None,
        response_body: str | None,
        retry_after: timedelta | None = None,
        retry: bool = True,
    ) -> DeliveryState:
        """Record an attempt: a 2xx is delivered; timeouts, connection errors, 5xx and 429 are retried
        (after `Retry-After` if the receiver sent one) until `RETRY_WINDOW` has passed; other answers
        are given up at once, as is any failure with `retry=False` (a ping). Returns the new state."""
        delivered = status_code is not None and 200 <= status_code < 300
        retry_at = None
        retryable = status_code is None or status_code >= 500 or status_code == 429
        if not delivered and retryable and retry:
            at = now + retry_delay(self.id, self.attempts, retry_after)
            retry_at = at if at < self.first_attempt_at + RETRY_WINDOW else None
        self._attempted(
            delivered=delivered,
            status_code=status_code,
            latency_ms=latency_ms,
            error=None if error is None else error[:500],
            response_body=None if response_body is None else response_body[:RESPONSE_BODY_KEPT],
            retry_at=retry_at,
            timestamp=now,
        )
        return self.state

    @event(Attempted)
    def _attempted(
        self,
        delivered: bool,
        status_code: int | None,
        latency_ms: int | None,
        error: str | None,
        response_body: str | None,
        retry_at: datetime | None,
        timestamp: datetime,
    ) -> None:
        self.state = "delivered" if delivered else "retrying" if retry_at is not None else "failed"
        self.retry_at = retry_at
        self.status_code = status_code
        self.latency_ms = latency_ms
        self.error = error

    @property
    def gave_up_after_retries(self) -> bool:
        """Failed for good after retrying for the whole window (what disables a webhook)."""
        return self.state == "failed" and (
            self.status_code is None or self.status_code >= 500 or self.status_code == 429
        )

    def redeliver(self, actor_id: UUID, at: datetime) -> None:
        """Send it again (after it was delivered or given up); its `webhook-id` stays the same."""
        if not self.finished:
            raise ConflictError("this delivery is still being attempted")
        self._redelivery_requested(actor_id=actor_id, timestamp=at)

    @event(RedeliveryRequested)
    def _redelivery_requested(self, actor_id: UUID, timestamp: datetime) -> None:
        self.state = "pending"
        self.retry_at = timestamp


__all__ = [
    "DELIVERY_LEASE",
    "MAX_WEBHOOKS_PER_ORG",
    "RESPONSE_BODY_KEPT",
    "RETRY_WINDOW",
    "SECRET_GRACE",
    "DeliveryState",
    "OrgWebhooks",
    "Webhook",
    "WebhookDelivery",
    "retry_delay",
]
