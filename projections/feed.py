"""The org event feed and the webhooks' delivery queue: one read model, so both move in one transaction.

`events` holds each integration event (`tickets.application.feed`) with its org, keyed by its log
position, so `GET /api/v1/events?after=` is one indexed range query per org, in log order, with the
gaps the log has. `tickets` keeps what an event needs of its ticket (org, number, contact).

`webhooks` mirrors each webhook's org, types and whether it is on; a feed event enqueues a
`deliveries` row for each webhook of its org that wants its type and is on *when the event is
applied* (so a webhook receives the events after its registration). The `WebhookDelivery`
aggregate's events move the row (claimed, attempted, retried, given up, redelivered). The head of
a webhook's queue is its open row with the lowest position: the sender
(`application/webhook_sender.py`) takes only heads, so a webhook's events go out in log order,
each after the previous one was delivered or given up.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from projections.base import micros
from projections.portal import EventModel, from_micros, text
from projections.views import Copy, Cursor
from tickets.application.feed import FEED_TYPES, TicketFacts, encode, integration_event
from tickets.domain.contact import contact_id_for
from tickets.domain.organization import Organization
from tickets.domain.ticket import Ticket
from tickets.domain.webhook import Webhook, WebhookDelivery

OPEN_STATES = ("pending", "sending", "retrying")


@dataclass(frozen=True)
class FeedRow:
    position: int
    type: str
    body: str


@dataclass(frozen=True)
class DeliveryRow:
    """A webhook's delivery as the queue knows it (`body`: the feed event, when the delivery is one)."""

    delivery_id: str
    webhook_id: str
    org_id: str
    position: int | None
    event_id: str
    event_type: str
    state: str
    attempts: int
    due_at: datetime | None
    status_code: int | None
    latency_ms: int | None
    error: str | None
    response_body: str | None
    created_at: datetime
    updated_at: datetime
    body: str | None = None


def _facts(curs: Cursor, copy: Copy, ticket_id: UUID) -> TicketFacts | None:
    curs.execute(
        f"SELECT org_id, number, contact_id FROM {copy.prefix}_tickets WHERE ticket_id = ?", (str(ticket_id),)
    )
    row = curs.fetchone()
    if row is None:
        return None
    contact = row["contact_id"]
    return TicketFacts(UUID(row["org_id"]), int(row["number"]), UUID(contact) if contact else None)


def _actor_kind(kind: str, key: str) -> Callable[[Feed, Cursor, Copy, Any, int], None]:
    """Agents and rules act on tickets as members do; the feed names them by what they are."""

    def handler(self: Feed, curs: Cursor, copy: Copy, e: Any, position: int) -> None:
        curs.execute(
            f"INSERT INTO {copy.prefix}_actors (actor_id, kind) VALUES (?, ?)", (str(getattr(e, key)), kind)
        )

    return handler


def _ticket_event(self: Feed, curs: Cursor, copy: Copy, e: Ticket.Event, position: int) -> None:
    if isinstance(e, Ticket.Created):
        contact = contact_id_for(e.org_id, e.contact_email) if e.contact_email else None
        curs.execute(
            f"INSERT INTO {copy.prefix}_tickets (ticket_id, org_id, number, contact_id) VALUES (?, ?, ?, ?)",
            (str(e.originator_id), str(e.org_id), e.ticket_number, str(contact) if contact else None),
        )
    facts = _facts(curs, copy, e.originator_id)
    if facts is None:  # a ticket whose creation this copy never saw: cannot happen in one log
        return
    if e.actor_id is not None:
        curs.execute(f"SELECT kind FROM {copy.prefix}_actors WHERE actor_id = ?", (str(e.actor_id),))
        known = curs.fetchone()
        facts = replace(facts, actor_kind=known["kind"] if known else None)
    feed_event = integration_event(e, facts, position)
    if isinstance(e, Ticket.ContactChanged):
        contact = contact_id_for(facts.org_id, e.email) if e.email else None
        curs.execute(
            f"UPDATE {copy.prefix}_tickets SET contact_id = ? WHERE ticket_id = ?",
            (str(contact) if contact else None, str(e.originator_id)),
        )
    if feed_event is None:
        return
    kind = FEED_TYPES[type(e)].name
    body = text(encode(feed_event).decode())
    org = str(facts.org_id)
    curs.execute(
        f"INSERT INTO {copy.prefix}_events (position, org_id, type, body) VALUES (?, ?, ?, ?)",
        (position, org, kind, body),
    )
    curs.execute(
        f"SELECT webhook_id, events FROM {copy.prefix}_webhooks WHERE org_id = ? AND active = 1", (org,)
    )
    wanting = [r["webhook_id"] for r in curs.fetchall() if kind in json.loads(r["events"])]
    if not wanting:  # most orgs, most events: an empty executemany still costs a round of the driver
        return
    at = micros(e.timestamp)
    curs.executemany(
        f"INSERT INTO {copy.prefix}_deliveries (delivery_id, webhook_id, org_id, position, event_id, event_type, "
        "state, attempts, due_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)",
        [
            (
                str(WebhookDelivery.create_id(UUID(webhook), feed_event.id)),
                webhook,
                org,
                position,
                str(feed_event.id),
                kind,
                at,
                at,
                at,
            )
            for webhook in wanting
        ],
    )


def _webhook_registered(self: Feed, curs: Cursor, copy: Copy, e: Webhook.Registered, position: int) -> None:
    curs.execute(
        f"INSERT INTO {copy.prefix}_webhooks (webhook_id, org_id, events, active) VALUES (?, ?, ?, ?)",
        (str(e.originator_id), str(e.org_id), json.dumps(e.events), int(e.active)),
    )


def _webhook_updated(self: Feed, curs: Cursor, copy: Copy, e: Webhook.Updated, position: int) -> None:
    curs.execute(
        f"UPDATE {copy.prefix}_webhooks SET events = ?, active = ? WHERE webhook_id = ?",
        (json.dumps(e.events), int(e.active), str(e.originator_id)),
    )


def _webhook_disabled(self: Feed, curs: Cursor, copy: Copy, e: Webhook.Disabled, position: int) -> None:
    curs.execute(
        f"UPDATE {copy.prefix}_webhooks SET active = 0 WHERE webhook_id = ?", (str(e.originator_id),)
    )


def _webhook_deleted(self: Feed, curs: Cursor, copy: Copy, e: Webhook.Deleted, position: int) -> None:
    for table in ("webhooks", "deliveries"):
        curs.execute(f"DELETE FROM {copy.prefix}_{table} WHERE webhook_id = ?", (str(e.originator_id),))


def _delivery_claimed(
    self: Feed, curs: Cursor, copy: Copy, e: WebhookDelivery.Claimed, position: int
) -> None:
    # A queued delivery's row exists; a ping's is made here (it has no position: it is no feed event).
    at = micros(e.timestamp)
    curs.execute(
        f"INSERT INTO {copy.prefix}_deliveries (delivery_id, webhook_id, org_id, position, event_id, event_type, "
        "state, attempts, due_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'sending', 1, ?, ?, ?) "
        "ON CONFLICT (delivery_id) DO UPDATE SET state = 'sending', attempts = 1, due_at = excluded.due_at, "
        "updated_at = excluded.updated_at",
        (
            str(e.originator_id),
            str(e.webhook_id),
            str(e.org_id),
            e.position,
            str(e.event_id),
            e.event_type,
            micros(e.lease_until),
            at,
            at,
        ),
    )


def _delivery_moved(
    state: Callable[[Any], str], due: Callable[[Any], datetime | None], attempt: int = 0
) -> Callable[[Feed, Cursor, Copy, Any, int], None]:
    def handler(self: Feed, curs: Cursor, copy: Copy, e: Any, position: int) -> None:
        at = due(e)
        curs.execute(
            f"UPDATE {copy.prefix}_deliveries SET state = ?, due_at = ?, attempts = attempts + ?, updated_at = ? "
            "WHERE delivery_id = ?",
            (state(e), micros(at) if at else None, attempt, micros(e.timestamp), str(e.originator_id)),
        )

    return handler


def _delivery_attempted(
    self: Feed, curs: Cursor, copy: Copy, e: WebhookDelivery.Attempted, position: int
) -> None:
    state = "delivered" if e.delivered else "retrying" if e.retry_at is not None else "failed"
    curs.execute(
        f"UPDATE {copy.prefix}_deliveries SET state = ?, due_at = ?, status_code = ?, latency_ms = ?, error = ?, "
        "response_body = ?, updated_at = ? WHERE delivery_id = ?",
        (
            state,
            micros(e.retry_at) if e.retry_at else None,
            e.status_code,
            e.latency_ms,
            None if e.error is None else text(e.error),
            None if e.response_body is None else text(e.response_body),
            micros(e.timestamp),
            str(e.originator_id),
        ),
    )


def _delivery(row: Any) -> DeliveryRow:
    return DeliveryRow(
        delivery_id=row["delivery_id"],
        webhook_id=row["webhook_id"],
        org_id=row["org_id"],
        position=row["position"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        state=row["state"],
        attempts=int(row["attempts"]),
        due_at=from_micros(row["due_at"]) if row["due_at"] is not None else None,
        status_code=row["status_code"],
        latency_ms=row["latency_ms"],
        error=row["error"],
        response_body=row["response_body"],
        created_at=from_micros(row["created_at"]),
        updated_at=from_micros(row["updated_at"]),
        body=row["body"] if "body" in row.keys() else None,  # noqa: SIM118 (rows are not dicts)
    )


class Feed(EventModel):
    """The org event feed, and each webhook's queue of deliveries."""

    name = "feed"
    tables: ClassVar[dict[str, str]] = {
        "tickets": "ticket_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, number BIGINT NOT NULL, contact_id TEXT",
        "actors": "actor_id TEXT PRIMARY KEY, kind TEXT NOT NULL",
        "events": "position BIGINT PRIMARY KEY, org_id TEXT NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL",
        "webhooks": "webhook_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, events TEXT NOT NULL, active INTEGER NOT NULL",
        "deliveries": "delivery_id TEXT PRIMARY KEY, webhook_id TEXT NOT NULL, org_id TEXT NOT NULL, "
        "position BIGINT, event_id TEXT NOT NULL, event_type TEXT NOT NULL, state TEXT NOT NULL, "
        "attempts INTEGER NOT NULL, due_at BIGINT, status_code INTEGER, latency_ms INTEGER, error TEXT, "
        "response_body TEXT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL",
    }
    handlers: ClassVar[dict[type[Any], Callable[[Any, Cursor, Copy, Any, int], None]]] = {
        **dict.fromkeys(FEED_TYPES, _ticket_event),
        Organization.AgentAdded: _actor_kind("agent", "user_id"),
        Organization.RuleCreated: _actor_kind("rule", "rule_id"),
        Webhook.Registered: _webhook_registered,
        Webhook.Updated: _webhook_updated,
        Webhook.Disabled: _webhook_disabled,
        Webhook.Deleted: _webhook_deleted,
        WebhookDelivery.Claimed: _delivery_claimed,
        WebhookDelivery.Reclaimed: _delivery_moved(lambda e: "sending", lambda e: e.lease_until, attempt=1),
        WebhookDelivery.Attempted: _delivery_attempted,
        WebhookDelivery.RedeliveryRequested: _delivery_moved(lambda e: "pending", lambda e: e.timestamp),
    }

    def ddl(self, copy: Copy) -> list[str]:
        p = copy.prefix
        return [
            *super().ddl(copy),
            # The feed's query: one org's events after a position, in order.
            f"CREATE INDEX IF NOT EXISTS {p}_events_org ON {p}_events (org_id, position)",
            f"CREATE INDEX IF NOT EXISTS {p}_deliveries_queue ON {p}_deliveries (webhook_id, position) "
            "WHERE state IN ('pending', 'sending', 'retrying')",
            f"CREATE INDEX IF NOT EXISTS {p}_deliveries_list ON {p}_deliveries (webhook_id, created_at)",
        ]

    # ------------------------------------------------------------------ the feed

    def page(
        self, curs: Cursor, copy: Copy, org_id: str, after: int, types: list[str], limit: int
    ) -> list[FeedRow]:
        """An org's feed events after `after`, in log order (of `types`, if any)."""
        condition, params = "", tuple[Any, ...]()
        if types:
            condition, values = copy.dialect.in_list("type", types)
            params = tuple(values)
        curs.execute(
            f"SELECT position, type, body FROM {copy.prefix}_events WHERE org_id = ? AND position > ?"
            f"{' AND ' + condition if condition else ''} ORDER BY position LIMIT ?",
            (org_id, after, *params, limit),
        )
        return [FeedRow(int(r["position"]), r["type"], r["body"]) for r in curs.fetchall()]

    # ------------------------------------------------------------------ the webhooks' queues

    def due(self, curs: Cursor, copy: Copy, now: datetime, limit: int) -> list[list[DeliveryRow]]:
        """For each webhook that is on and whose queue's head is due by `now`: its open deliveries in
        log order, the head first (at most `limit` webhooks, 50 deliveries each)."""
        p = copy.prefix
        curs.execute(
            f"SELECT d.webhook_id FROM {p}_deliveries d JOIN {p}_webhooks w ON w.webhook_id = d.webhook_id "
            f"JOIN (SELECT webhook_id, MIN(position) AS head FROM {p}_deliveries "
            "WHERE state IN ('pending', 'sending', 'retrying') GROUP BY webhook_id) h "
            "ON h.webhook_id = d.webhook_id AND h.head = d.position "
            "WHERE w.active = 1 AND d.due_at <= ? ORDER BY d.due_at LIMIT ?",
            (micros(now), limit),
        )
        queues = []
        for webhook in [r["webhook_id"] for r in curs.fetchall()]:
            curs.execute(
                f"SELECT d.*, e.body FROM {p}_deliveries d LEFT JOIN {p}_events e ON e.position = d.position "
                "WHERE d.webhook_id = ? AND d.position IS NOT NULL AND d.state IN ('pending', 'sending', 'retrying') "
                "ORDER BY d.position LIMIT 50",
                (webhook,),
            )
            queues.append([_delivery(r) for r in curs.fetchall()])
        return queues

    def deliveries(
        self, curs: Cursor, copy: Copy, webhook_id: str, before: tuple[int, str] | None, limit: int
    ) -> list[DeliveryRow]:
        """A webhook's deliveries, newest first (keyset: before `(created_at, delivery_id)`)."""
        condition, params = "", tuple[Any, ...]()
        if before is not None:
            condition = " AND (created_at < ? OR (created_at = ? AND delivery_id < ?))"
            params = (before[0], before[0], before[1])
        curs.execute(
            f"SELECT * FROM {copy.prefix}_deliveries WHERE webhook_id = ?{condition} "
            "ORDER BY created_at DESC, delivery_id DESC LIMIT ?",
            (webhook_id, *params, limit),
        )
        return [_delivery(r) for r in curs.fetchall()]

    def delivery(self, curs: Cursor, copy: Copy, delivery_id: str) -> DeliveryRow | None:
        curs.execute(
            f"SELECT d.*, e.body FROM {copy.prefix}_deliveries d LEFT JOIN {copy.prefix}_events e "
            "ON e.position = d.position WHERE d.delivery_id = ?",
            (delivery_id,),
        )
        row = curs.fetchone()
        return None if row is None else _delivery(row)

    def event_body(self, curs: Cursor, copy: Copy, position: int) -> str | None:
        curs.execute(f"SELECT body FROM {copy.prefix}_events WHERE position = ?", (position,))
        row = curs.fetchone()
        return None if row is None else str(row["body"])


FEED = Feed()

__all__ = ["FEED", "OPEN_STATES", "DeliveryRow", "Feed", "FeedRow"]
