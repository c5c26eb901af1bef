"""The outbox: each mail the email channel is to send, and where its sending stands.

A mail is queued by an event that says so (`Ticket.EmailQueued`, `Contact.SignInRequested`,
`Inbox.DigestQueued`);
history written before e-mail existed holds none, so a first catch-up sends nothing old. Its
sending is recorded by the `OutgoingMail` aggregate (claimed, sent, failed with a retry time),
whose events move the row here: the sender (`application/mail_sender.py`) asks this model which
mails are due and claims each on the aggregate, so two servers never send one mail together.
Rebuilt from the log, the outbox comes back exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from projections.base import micros
from projections.portal import EventModel, from_micros
from projections.views import Copy, Cursor
from tickets.domain.contact import Contact
from tickets.domain.inbox import Inbox
from tickets.domain.mail import OutgoingMail
from tickets.domain.ticket import Ticket


@dataclass(frozen=True)
class QueuedMail:
    """A mail to send: what caused it (`key`), its kind, and the ticket or contact it is about."""

    mail_id: str
    key: str
    kind: str
    ticket_id: str | None
    contact_id: str | None
    message_id: str | None
    queued_at: datetime
    state: str
    # A digest's: the member's inbox, and its version that queued the digest.
    inbox_id: str | None = None
    inbox_version: int | None = None


def ticket_mail_key(ticket_id: UUID, version: int) -> str:
    return f"ticket:{ticket_id}:{version}"


def sign_in_mail_key(contact_id: UUID, version: int) -> str:
    return f"sign-in:{contact_id}:{version}"


def _queue(
    self: Outbox, curs: Cursor, copy: Copy, key: str, kind: str, e: Any, position: int, **about: str | None
) -> None:
    curs.execute(
        f"INSERT INTO {copy.prefix}_mail (mail_id, key, kind, ticket_id, contact_id, message_id, queued_at, "
        "due_at, state, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?)",
        (
            str(OutgoingMail.create_id(key)),
            key,
            kind,
            about.get("ticket_id"),
            about.get("contact_id"),
            about.get("message_id"),
            micros(e.timestamp),
            micros(e.timestamp),
            position,
        ),
    )


def _email_queued(self: Outbox, curs: Cursor, copy: Copy, e: Ticket.EmailQueued, position: int) -> None:
    key = ticket_mail_key(e.originator_id, e.originator_version)
    message = str(e.message_id) if e.message_id else None
    _queue(self, curs, copy, key, e.kind, e, position, ticket_id=str(e.originator_id), message_id=message)


def _sign_in_requested(
    self: Outbox, curs: Cursor, copy: Copy, e: Contact.SignInRequested, position: int
) -> None:
    key = sign_in_mail_key(e.originator_id, e.originator_version)
    _queue(self, curs, copy, key, "sign_in", e, position, contact_id=str(e.originator_id))


def digest_mail_key(inbox_id: UUID, version: int) -> str:
    return f"digest:{inbox_id}:{version}"


def _digest_queued(self: Outbox, curs: Cursor, copy: Copy, e: Inbox.DigestQueued, position: int) -> None:
    key = digest_mail_key(e.originator_id, e.originator_version)
    _queue(self, curs, copy, key, "digest", e, position)
    curs.execute(
        f"INSERT INTO {copy.prefix}_digests (mail_id, inbox_id, inbox_version) VALUES (?, ?, ?)",
        (str(OutgoingMail.create_id(key)), str(e.originator_id), e.originator_version),
    )


def _moved(
    state: str, due: Callable[[Any], datetime | None]
) -> Callable[[Outbox, Cursor, Copy, Any, int], None]:
    """A handler that moves the mail's row to `state`, due again at `due(event)` (None: never)."""

    def handler(self: Outbox, curs: Cursor, copy: Copy, e: Any, position: int) -> None:
        at = due(e)
        curs.execute(
            f"UPDATE {copy.prefix}_mail SET state = ?, due_at = ? WHERE mail_id = ?",
            (
                state if at is not None or state != "retrying" else "failed",
                micros(at) if at else None,
                str(e.originator_id),
            ),
        )

    return handler


class Outbox(EventModel):
    """Mails queued and not yet sent or given up, by when they are due."""

    name = "outbox"
    tables: ClassVar[dict[str, str]] = {
        "mail": "mail_id TEXT PRIMARY KEY, key TEXT NOT NULL, kind TEXT NOT NULL, ticket_id TEXT, "
        "contact_id TEXT, message_id TEXT, queued_at BIGINT NOT NULL, due_at BIGINT, "
        # The queueing event's position: mails due together go in the order they were queued.
        "position BIGINT NOT NULL, state TEXT NOT NULL",
        # What a digest's mail needs besides (a table of its own: copies made before it get it empty).
        "digests": "mail_id TEXT PRIMARY KEY, inbox_id TEXT NOT NULL, inbox_version BIGINT NOT NULL",
    }
    handlers: ClassVar[dict[type[Any], Callable[[Any, Cursor, Copy, Any, int], None]]] = {
        Ticket.EmailQueued: _email_queued,
        Contact.SignInRequested: _sign_in_requested,
        Inbox.DigestQueued: _digest_queued,
        # A claim holds the mail until its lease ends: due again then, if the sender died.
        OutgoingMail.Claimed: _moved("sending", lambda e: e.lease_until),
        OutgoingMail.Reclaimed: _moved("sending", lambda e: e.lease_until),
        OutgoingMail.Sent: _moved("sent", lambda e: None),
        OutgoingMail.Failed: _moved("retrying", lambda e: e.retry_at),
    }

    def ddl(self, copy: Copy) -> list[str]:
        p = copy.prefix
        return [
            *super().ddl(copy),
            f"CREATE INDEX IF NOT EXISTS {p}_mail_due ON {p}_mail (due_at) WHERE due_at IS NOT NULL",
        ]

    def due(self, curs: Cursor, copy: Copy, now: datetime, limit: int) -> list[QueuedMail]:
        """Mails due by `now` (queued, a retry due, or a claim whose lease ran out), the longest due first."""
        curs.execute(
            f"SELECT m.*, d.inbox_id, d.inbox_version FROM {copy.prefix}_mail m LEFT JOIN {copy.prefix}_digests d "
            "ON d.mail_id = m.mail_id WHERE m.due_at IS NOT NULL AND m.due_at <= ? ORDER BY m.due_at, m.position LIMIT ?",
            (micros(now), limit),
        )
        return [
            QueuedMail(
                mail_id=r["mail_id"],
                key=r["key"],
                kind=r["kind"],
                ticket_id=r["ticket_id"],
                contact_id=r["contact_id"],
                message_id=r["message_id"],
                queued_at=from_micros(r["queued_at"]),
                state=r["state"],
                inbox_id=r["inbox_id"],
                inbox_version=None if r["inbox_version"] is None else int(r["inbox_version"]),
            )
            for r in curs.fetchall()
        ]

    def counts(self, curs: Cursor, copy: Copy) -> dict[str, int]:
        """How many mails are in each state."""
        curs.execute(f"SELECT state, COUNT(*) AS n FROM {copy.prefix}_mail GROUP BY state")
        return {r["state"]: int(r["n"]) for r in curs.fetchall()}


OUTBOX = Outbox()

__all__ = ["OUTBOX", "Outbox", "QueuedMail", "digest_mail_key", "sign_in_mail_key", "ticket_mail_key"]
