"""The webhook sender: a policy that delivers each queued feed event to each webhook that wants it.

It follows the log through the feed read model's delivery queue (`projections/feed.py`), handed
in as a parameter (`WebhooksDue`), as the mail sender takes the outbox. For each webhook whose
queue's head is due, it goes through the open deliveries in log order and stops at the first that
is not finished, so a webhook's next event waits until the previous one is delivered or given up.
Each attempt is first *claimed* on its `WebhookDelivery` aggregate (saved before the request: one
server per attempt; after `DELIVERY_LEASE` a claim whose server died is taken over), then signed,
POSTed, and its outcome recorded. A server killed between the request and the record sends the
event again after the lease, with the same `webhook-id`: at least once, and a receiver that
deduplicates by `webhook-id` sees it once.

Webhooks are served in parallel (a small thread pool), each webhook's queue in order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Protocol
from uuid import UUID, uuid4

import msgspec
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from tickets.application.app import TicketsApp, retry_on_conflict
from tickets.domain.webhook import DELIVERY_LEASE, RETRY_WINDOW, Webhook, WebhookDelivery
from tickets.infrastructure.clock import Clock, system_clock
from tickets.infrastructure.webhook_http import DeliveryError, WebhookTransport, retry_after, signed_headers

logger = logging.getLogger("tickets.webhooks")

PING = "webhook.ping"
# Webhooks served at once by one server.
PARALLEL_WEBHOOKS = 8


class Queued(Protocol):
    """A delivery the queue says is open (`projections.feed.DeliveryRow`)."""

    @property
    def delivery_id(self) -> str: ...
    @property
    def webhook_id(self) -> str: ...
    @property
    def org_id(self) -> str: ...
    @property
    def position(self) -> int | None: ...
    @property
    def event_id(self) -> str: ...
    @property
    def event_type(self) -> str: ...
    @property
    def body(self) -> str | None: ...


# (now, limit) -> for each webhook whose head is due: its open deliveries in log order.
WebhooksDue = Callable[[datetime, int], Iterable[Sequence[Queued]]]


class Ping(msgspec.Struct, kw_only=True, rename="camel", tag_field="type", tag=PING):
    """What `POST /webhooks/{id}/ping` sends."""

    id: UUID
    occurred_at: datetime
    org_id: UUID
    webhook_id: UUID


class WebhookSender:
    """Delivers due feed events to webhooks; `send_due` is what the follower schedules."""

    def __init__(self, app: TicketsApp, transport: WebhookTransport, clock: Clock = system_clock) -> None:
        self.app = app
        self.transport = transport
        self.clock = clock

    def send_due(self, due: WebhooksDue, limit: int = 100) -> int:
        """Deliver what is due now, webhooks in parallel; how many deliveries succeeded."""
        queues = [list(q) for q in due(self.clock(), limit)]
        if len(queues) <= 1:
            return sum(self.send_queue(q) for q in queues)
        with ThreadPoolExecutor(max_workers=min(PARALLEL_WEBHOOKS, len(queues))) as pool:
            return sum(pool.map(self.send_queue, queues))

    def send_queue(self, queue: Sequence[Queued]) -> int:
        """One webhook's open deliveries, in order, until one is not finished."""
        delivered = 0
        for queued in queue:
            outcome = self.deliver(queued)
            delivered += outcome == "delivered"
            if outcome not in ("delivered", "failed"):
                break
        return delivered

    def deliver(self, queued: Queued) -> str:
        """One attempt: 'delivered', 'retrying', 'failed', or 'skipped' (not due, or another server's)."""
        now = self.clock()
        webhook = self._webhook(UUID(queued.webhook_id))
        if webhook is None or not webhook.active or queued.body is None:
            return "skipped"
        delivery = self._claim(queued, now)
        if delivery is None:
            return "skipped"
        return self._attempt(webhook, delivery, queued.body)

    def ping(self, webhook: Webhook) -> WebhookDelivery:
        """Send a `webhook.ping` now (whether or not the webhook is on) and record it as a delivery."""
        now = self.clock()
        event_id = uuid4()
        delivery = WebhookDelivery(
            webhook_id=webhook.id,
            org_id=webhook.org_id,
            event_id=event_id,
            event_type=PING,
            position=None,
            lease_until=now + DELIVERY_LEASE,
            timestamp=now,
        )
        self.app.save(delivery)
        ping = Ping(id=event_id, occurred_at=now, org_id=webhook.org_id, webhook_id=webhook.id)
        self._attempt(webhook, delivery, msgspec.json.encode(ping).decode(), ping=True)
        answered: WebhookDelivery = self.app.repository.get(delivery.id)
        return answered

    # ------------------------------------------------------------------ steps

    def _webhook(self, webhook_id: UUID) -> Webhook | None:
        try:
            webhook: Webhook = self.app.repository.get(webhook_id)
        except AggregateNotFoundError:
            return None
        return None if webhook.deleted else webhook

    def _claim(self, queued: Queued, now: datetime) -> WebhookDelivery | None:
        """Claim the next attempt (saved before sending); None if finished, not due, or another server's."""
        delivery_id = UUID(queued.delivery_id)
        try:
            delivery: WebhookDelivery = self.app.repository.get(delivery_id)
            if not delivery.claim(now, DELIVERY_LEASE):
                return None
        except AggregateNotFoundError:
            delivery = WebhookDelivery(
                webhook_id=UUID(queued.webhook_id),
                org_id=UUID(queued.org_id),
                event_id=UUID(queued.event_id),
                event_type=queued.event_type,
                position=queued.position,
                lease_until=now + DELIVERY_LEASE,
                timestamp=now,
            )
        try:
            self.app.save(delivery)
        except IntegrityError:
            return None  # another server claimed this attempt first
        return delivery

    def _attempt(self, webhook: Webhook, delivery: WebhookDelivery, body: str, ping: bool = False) -> str:
        now = self.clock()
        headers = signed_headers(webhook.secrets(now), delivery.message_id, now, body)
        try:
            answer = self.transport.post(webhook.url, headers, body)
        except DeliveryError as error:
            logger.warning("webhook %s, %s: %s", webhook.id, delivery.message_id, error)
            return self._record(delivery.id, None, error.latency_ms, str(error), None, None, ping)
        error_text = None if 200 <= answer.status_code < 300 else f"answered {answer.status_code}"
        return self._record(
            delivery.id,
            answer.status_code,
            answer.latency_ms,
            error_text,
            answer.body,
            answer.retry_after,
            ping,
        )

    def _record(
        self,
        delivery_id: UUID,
        status_code: int | None,
        latency_ms: int | None,
        error: str | None,
        body: str | None,
        retry_after_header: str | None,
        ping: bool,
    ) -> str:
        """The outcome on the delivery; a delivery given up after a day of retries also disables its
        webhook, in the same save."""

        def attempt() -> str:
            now = self.clock()
            delivery: WebhookDelivery = self.app.repository.get(delivery_id)
            wait = retry_after(retry_after_header, now)
            # A ping is tried once.
            state = delivery.record(now, status_code, latency_ms, error, body, wait, retry=not ping)
            changed: list[Webhook] = []
            if not ping and delivery.gave_up_after_retries:
                webhook = self._webhook(delivery.webhook_id)
                if webhook is not None and webhook.active:
                    hours = int(RETRY_WINDOW.total_seconds() // 3600)
                    webhook.disable(f"deliveries failed for {hours} hours (last: {error})", now)
                    changed.append(webhook)
            self.app.save(delivery, *changed)
            return state

        outcome = retry_on_conflict(attempt)
        logger.info("webhook delivery %s: %s", delivery_id, outcome)
        return outcome


__all__ = ["PING", "Ping", "Queued", "WebhookSender", "WebhooksDue"]
