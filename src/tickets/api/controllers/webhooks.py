"""Webhooks (admin): where the org's feed events are POSTed, signed by the Standard Webhooks spec."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException, ServiceUnavailableException, ValidationException
from litestar.params import FromPath, JSONBody

from projections.base import micros
from tickets.api import presenters, schemas
from tickets.api.controllers.common import Paging, written
from tickets.api.cursors import decode_cursor, encode_cursor
from tickets.application.actors import Actor
from tickets.application.webhooks import WebhookChanges
from tickets.bootstrap import Services

ADMIN_READ = [PermissionDeniedException]


class WebhookController(Controller):
    path = "/api/v1/webhooks"
    tags = ["webhooks"]

    @get("/", sync_to_thread=True, summary="The org's webhooks (admin)", raises=ADMIN_READ)
    def list_webhooks(
        self, services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> list[schemas.WebhookOut]:
        now = services.clock()
        return [presenters.webhook(w, now) for w in services.webhooks.all(actor)]

    @post("/", sync_to_thread=True, status_code=201, summary="Register a webhook (admin)")
    def create_webhook(
        self,
        data: JSONBody[schemas.WebhookCreate],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.WebhookCreated]:
        """The answer holds the signing `secret`, shown only now. 422 for an unknown event type, or a URL
        that is not http(s) or resolves to a loopback, private, link-local or metadata address."""
        saved = services.webhooks.create(actor, data.url, data.events, data.active, data.description)
        return written(presenters.webhook_created(saved.value, services.clock()), saved, 201)

    @get("/{webhook_id:uuid}", sync_to_thread=True, summary="Read a webhook (admin)", raises=ADMIN_READ)
    def get_webhook(
        self, webhook_id: FromPath[UUID], services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> schemas.WebhookOut:
        return presenters.webhook(services.webhooks.get(actor, webhook_id), services.clock())

    @patch(
        "/{webhook_id:uuid}", sync_to_thread=True, summary="Change a webhook, or turn it on or off (admin)"
    )
    def update_webhook(
        self,
        webhook_id: FromPath[UUID],
        data: JSONBody[schemas.WebhookUpdate],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.WebhookOut]:
        saved = services.webhooks.update(actor, webhook_id, schemas.command(WebhookChanges, data))
        return written(presenters.webhook(saved.value, services.clock()), saved)

    @delete("/{webhook_id:uuid}", sync_to_thread=True, status_code=204, summary="Delete a webhook (admin)")
    def delete_webhook(
        self, webhook_id: FromPath[UUID], services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> Response[None]:
        return written(None, services.webhooks.delete(actor, webhook_id), status_code=204)

    @post(
        "/{webhook_id:uuid}/rotate-secret",
        sync_to_thread=True,
        status_code=200,
        summary="Replace the signing secret; the old one also signs for 24 hours (admin)",
    )
    def rotate_secret(
        self, webhook_id: FromPath[UUID], services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> Response[schemas.WebhookSecretOut]:
        """Deliveries carry a signature by each secret until the old one expires: switch the receiver
        to the new secret within the grace period."""
        saved = services.webhooks.rotate_secret(actor, webhook_id)
        until = saved.value.previous_secret_until
        assert until is not None
        return written(
            schemas.WebhookSecretOut(secret=saved.value.secret, previous_secret_expires_at=until), saved
        )

    @post(
        "/{webhook_id:uuid}/ping",
        sync_to_thread=True,
        status_code=200,
        summary="Send a signed `webhook.ping` now and say how it went (admin)",
    )
    def ping(
        self, webhook_id: FromPath[UUID], services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> schemas.WebhookDeliveryOut:
        """Tried once, whether or not the webhook is on; listed among its deliveries."""
        return presenters.webhook_attempt(services.webhooks.ping(actor, webhook_id))

    @get(
        "/{webhook_id:uuid}/deliveries",
        sync_to_thread=True,
        summary="The webhook's deliveries, newest first (admin)",
        raises=[PermissionDeniedException, ServiceUnavailableException],
    )
    def list_deliveries(
        self,
        webhook_id: FromPath[UUID],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        paging: NamedDependency[Paging],
    ) -> schemas.Page[schemas.WebhookDeliveryOut]:
        """Each event (and ping) sent or to send: status, attempts, the last answer's status, latency and
        start of body, and when the next attempt is due."""
        webhook = services.webhooks.get(actor, webhook_id)
        if services.read_side is None:
            raise ServiceUnavailableException(detail="the read models are not configured on this server")
        before = _delivery_cursor(paging.cursor)
        rows = services.read_side.webhook_deliveries(str(webhook.id), before, paging.limit + 1)
        page = rows[: paging.limit]
        more = len(rows) > paging.limit
        last = page[-1] if page else None
        return schemas.Page(
            items=[presenters.webhook_delivery(r) for r in page],
            next_cursor=encode_cursor("deliveries", str(micros(last.created_at)), last.delivery_id)
            if more and last is not None
            else None,
        )

    @post(
        "/{webhook_id:uuid}/deliveries/{delivery_id:uuid}/redeliver",
        sync_to_thread=True,
        status_code=202,
        summary="Send a delivered or given-up event again, same webhook-id (admin)",
    )
    def redeliver(
        self,
        webhook_id: FromPath[UUID],
        delivery_id: FromPath[UUID],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.WebhookDeliveryOut]:
        """It goes out before the webhook's later events (its queue is in log order). 409 while it is
        still being attempted."""
        saved = services.webhooks.redeliver(actor, webhook_id, delivery_id)
        return written(presenters.webhook_attempt(saved.value), saved, 202)


def _delivery_cursor(cursor: str | None) -> tuple[int, str] | None:
    found = decode_cursor("deliveries", cursor, str, 2)
    if found is None:
        return None
    created, delivery_id = found
    if not created.isascii() or not created.isdigit() or len(created) > 18:
        raise ValidationException(
            detail="cursor is not valid", extra=[{"key": "cursor", "message": "not a cursor from this list"}]
        )
    return int(created), delivery_id
