"""Webhooks, for admins: register, change, rotate the secret, ping, redeliver. Reading the feed too.

Every method needs the admin role; a webhook of another org is not found. A URL is checked for
SSRF here (`check_url`: every address its host resolves to must be public) and again before each
delivery, unless the server allows private addresses.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from tickets.application.actors import Actor
from tickets.application.app import Saved, TicketsApp, position_of, retry_on_conflict
from tickets.application.feed import FEED_TYPE_NAMES
from tickets.application.webhook_sender import WebhookSender
from tickets.domain.commands import KEEP, Keep
from tickets.domain.errors import InvalidValueError, NotFoundError
from tickets.domain.values import Role
from tickets.domain.webhook import SECRET_GRACE, OrgWebhooks, Webhook, WebhookDelivery
from tickets.infrastructure.clock import Clock, system_clock
from tickets.infrastructure.settings import WebhookSettings
from tickets.infrastructure.webhook_http import UnsafeUrlError, check_url, new_secret


def require_feed_reader(actor: Actor) -> None:
    """Who may read the org's event feed (`GET /api/v1/events`): admins, and tokens with the
    `events:read` scope (an integration's, `pfai admin create-token`)."""
    if "events:read" not in actor.scopes:
        actor.require(Role.ADMIN)


@dataclass(frozen=True)
class WebhookChanges:
    url: str | Keep = KEEP
    events: list[str] | Keep = KEEP
    active: bool | Keep = KEEP
    description: str | Keep = KEEP


class WebhookService:
    def __init__(
        self, app: TicketsApp, sender: WebhookSender, settings: WebhookSettings, clock: Clock = system_clock
    ) -> None:
        self.app = app
        self.sender = sender
        self.settings = settings
        self.clock = clock

    # ------------------------------------------------------------------ reads

    def all(self, actor: Actor) -> list[Webhook]:
        actor.require(Role.ADMIN)
        try:
            index: OrgWebhooks = self.app.repository.get(OrgWebhooks.create_id(actor.org_id))
        except AggregateNotFoundError:
            return []
        return [self.get(actor, webhook_id) for webhook_id in index.ids]

    def get(self, actor: Actor, webhook_id: UUID) -> Webhook:
        actor.require(Role.ADMIN)
        webhook: object
        try:
            webhook = self.app.repository.get(webhook_id)
        except AggregateNotFoundError:
            webhook = None
        if not isinstance(webhook, Webhook) or webhook.org_id != actor.org_id or webhook.deleted:
            raise NotFoundError(f"webhook {webhook_id} not found")
        return webhook

    # ------------------------------------------------------------------ writes

    def create(
        self, actor: Actor, url: str, events: list[str], active: bool = True, description: str = ""
    ) -> Saved[Webhook]:
        """Register a webhook; its `secret` is in the returned aggregate (shown to the admin once)."""
        actor.require(Role.ADMIN)
        self._check(url, events)

        def attempt() -> Saved[Webhook]:
            now = self.clock()
            index_id = OrgWebhooks.create_id(actor.org_id)
            try:
                index: OrgWebhooks = self.app.repository.get(index_id)
            except AggregateNotFoundError:
                index = OrgWebhooks(org_id=actor.org_id, timestamp=now)
            webhook = Webhook(
                org_id=actor.org_id,
                url=url,
                events=list(dict.fromkeys(events)),
                active=active,
                description=description,
                secret=new_secret(),
                actor_id=actor.user_id,
                timestamp=now,
            )
            index.add(webhook.id, now)
            return Saved(webhook, position_of(self.app.save(index, webhook)))

        return retry_on_conflict(attempt)

    def update(self, actor: Actor, webhook_id: UUID, changes: WebhookChanges) -> Saved[Webhook]:
        """Change a webhook; `active: true` turns on one that disabled itself (and clears its reason)."""
        current = self.get(actor, webhook_id)
        url = current.url if isinstance(changes.url, Keep) else changes.url
        events = current.events if isinstance(changes.events, Keep) else list(dict.fromkeys(changes.events))
        self._check(url, events, check_address=url != current.url)

        def attempt() -> Saved[Webhook]:
            webhook = self.get(actor, webhook_id)
            webhook.update(
                url=url,
                events=events,
                active=webhook.active if isinstance(changes.active, Keep) else changes.active,
                description=webhook.description
                if isinstance(changes.description, Keep)
                else changes.description,
                actor_id=actor.user_id,
                timestamp=self.clock(),
            )
            return Saved(webhook, position_of(self.app.save(webhook)))

        return retry_on_conflict(attempt)

    def delete(self, actor: Actor, webhook_id: UUID) -> Saved[None]:
        def attempt() -> Saved[None]:
            now = self.clock()
            webhook = self.get(actor, webhook_id)
            index: OrgWebhooks = self.app.repository.get(OrgWebhooks.create_id(actor.org_id))
            webhook.delete(actor_id=actor.user_id, timestamp=now)
            index.remove(webhook_id=webhook.id, timestamp=now)
            return Saved(None, position_of(self.app.save(webhook, index)))

        return retry_on_conflict(attempt)

    def rotate_secret(self, actor: Actor, webhook_id: UUID) -> Saved[Webhook]:
        """A new secret signs from now on; the previous one also signs for `SECRET_GRACE`."""

        def attempt() -> Saved[Webhook]:
            now = self.clock()
            webhook = self.get(actor, webhook_id)
            webhook.rotate_secret(
                secret=new_secret(), previous_until=now + SECRET_GRACE, actor_id=actor.user_id, timestamp=now
            )
            return Saved(webhook, position_of(self.app.save(webhook)))

        return retry_on_conflict(attempt)

    def ping(self, actor: Actor, webhook_id: UUID) -> WebhookDelivery:
        """Send a `webhook.ping` now and say how it went."""
        return self.sender.ping(self.get(actor, webhook_id))

    def redeliver(self, actor: Actor, webhook_id: UUID, delivery_id: UUID) -> Saved[WebhookDelivery]:
        """Send a delivered or given-up event again (same `webhook-id`), before the webhook's later ones."""
        webhook = self.get(actor, webhook_id)

        def attempt() -> Saved[WebhookDelivery]:
            delivery: object
            try:
                delivery = self.app.repository.get(delivery_id)
            except AggregateNotFoundError:
                delivery = None
            if not isinstance(delivery, WebhookDelivery) or delivery.webhook_id != webhook.id:
                raise NotFoundError(f"delivery {delivery_id} not found (or not attempted yet)")
            if delivery.position is None:
                raise InvalidValueError("a ping is not redelivered; ping again")
            delivery.redeliver(actor.user_id, self.clock())
            return Saved(delivery, position_of(self.app.save(delivery)))

        return retry_on_conflict(attempt)

    def _check(self, url: str, events: list[str], check_address: bool = True) -> None:
        unknown = sorted(set(events) - set(FEED_TYPE_NAMES))
        if unknown:
            raise InvalidValueError(
                f"unknown event type {', '.join(unknown)}; choose from {', '.join(FEED_TYPE_NAMES)}"
            )
        if not events:
            raise InvalidValueError("choose at least one event type")
        try:
            if check_address:
                check_url(url, self.settings.allow_private)
        except UnsafeUrlError as error:
            raise InvalidValueError(f"url: {error}") from None


__all__ = ["WebhookChanges", "WebhookService", "require_feed_reader"]
