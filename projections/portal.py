"""The customer's side of the read models: what the portal shows a contact, and the org's contacts.

Unlike the ticket list and stats, which fold every ticket event into one summary, these follow
the log event by event, and only the event types they name (`topics`): the log query itself
leaves every other type out. The portal's read model names no internal-note event, so a note
never enters it: a contact cannot be shown what was never stored where contacts read.
(A note's edit is the same event type as a message's; its update matches no row here, because
the note's row was never written.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application

from projections.base import EPOCH, MICROSECOND, BatchResult, ReadModel, micros
from projections.ticket_list import contact_key
from projections.views import Copy, Cursor, View, ViewDatabase
from tickets.domain.contact import Contact, contact_id_for
from tickets.domain.organization import DEFAULT_AUTO_CLOSE_DAYS, Organization
from tickets.domain.ticket import Ticket
from tickets.domain.values import Status


def topic(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def from_micros(value: int) -> datetime:
    return EPOCH + value * MICROSECOND


def text(value: str) -> str:
    """Text as stored here: PostgreSQL refuses NUL characters in text, and a row it cannot write would
    stop this read model for good, so a NUL shows as U+FFFD (on both stores, so they agree)."""
    return value.replace("\x00", "\ufffd")


class EventModel(ReadModel):
    """A read model that applies the events of its `topics` one by one, in log order.

    It shares the copies, tracking and locking of every read model (`views.py`), not the summary
    fold: `apply_events` below is its batch.
    """

    handlers: ClassVar[dict[type[Any], Callable[[Any, Cursor, Copy, Any, int], None]]]

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(topic(cls) for cls in self.handlers)

    def process(self, curs: Cursor, copy: Copy, event: Any, position: int) -> None:
        self.handlers[type(event)](self, curs, copy, event, position)


def apply_events(
    views: ViewDatabase, app: Application[Any], targets: Sequence[View], limit: int = 2000
) -> BatchResult:
    """Apply the next events of the models' topics to their copies, each event decoded once for all.

    One read of the log serves every copy, from the one furthest behind; a copy applies only the
    events past its own position and of its own topics. Rows and tracking records commit together
    (on PostgreSQL one transaction for all the copies, on SQLite one per copy's file).
    """
    with views.batch(*targets) as cursors:
        held = [(v, cursors[v.copy], v.position_in(cursors[v.copy])) for v in targets if v.copy in cursors]
        if not held:
            return BatchResult(locked_out=True)
        start = min(position for _, _, position in held)
        head = app.recorder.max_notification_id() or 0
        if head <= start:
            return BatchResult(position=start, locked_out=len(held) < len(targets))
        models = [(v, curs, position, _model(v), frozenset(_model(v).topics)) for v, curs, position in held]
        topics = sorted(set().union(*(model_topics for *_, model_topics in models)))
        notifications = app.recorder.select_notifications(start + 1, limit, stop=head, topics=topics)
        for notification in notifications:
            event = None
            for view, curs, position, model, model_topics in models:
                if notification.id > position and notification.topic in model_topics:
                    if event is None:
                        event = app.mapper.to_domain_event(notification)
                    model.process(curs, view.copy, event, notification.id)
        end = notifications[-1].id if len(notifications) == limit else head
        for view, curs, position, *_ in models:
            if end > position:
                view.record(curs, end)
    return BatchResult(
        events=len(notifications), position=end, advanced=True, locked_out=len(held) < len(targets)
    )


def _model(view: View) -> EventModel:
    assert isinstance(view.model, EventModel)
    return view.model


# ---------------------------------------------------------------------------- the portal


@dataclass(frozen=True)
class PortalTicket:
    """A ticket as its contact sees it: no team, assignee, tags, SLA or notes (none are stored here)."""

    ticket_id: str
    org_id: str
    contact_id: str | None
    number: int
    subject: str
    description: str
    status: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class PortalAttachment:
    """A file carried by a public message: what the contact may download."""

    attachment_id: str
    message_id: str
    filename: str
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class PortalMessage:
    """A public message of a ticket's thread, as its contact sees it."""

    message_id: str
    ticket_id: str
    author_type: str
    author_id: str
    content: str
    created_at: datetime
    edited_at: datetime | None
    attachments: tuple[PortalAttachment, ...] = ()


def _ticket_created(self: PortalView, curs: Cursor, copy: Copy, e: Ticket.Created, position: int) -> None:
    contact = str(contact_id_for(e.org_id, e.contact_email)) if e.contact_email else None
    curs.execute(
        f"INSERT INTO {copy.prefix}_tickets (ticket_id, org_id, contact_id, number, subject, description, "
        "status, created_at, updated_at, resolved_since) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
        (
            str(e.originator_id),
            str(e.org_id),
            contact,
            e.ticket_number,
            text(e.subject),
            text(e.description),
            Status.OPEN.value,
            micros(e.timestamp),
            micros(e.timestamp),
        ),
    )


def _set_ticket(**columns: Callable[[Any], Any]) -> Callable[[PortalView, Cursor, Copy, Any, int], None]:
    """A handler that sets columns of the ticket's row (and its update time) from the event."""

    def handler(self: PortalView, curs: Cursor, copy: Copy, e: Any, position: int) -> None:
        values = {name: value(e) for name, value in columns.items()}
        assignments = "".join(f"{name} = ?, " for name in values)
        curs.execute(
            f"UPDATE {copy.prefix}_tickets SET {assignments}updated_at = ? WHERE ticket_id = ?",
            (*values.values(), micros(e.timestamp), str(e.originator_id)),
        )

    return handler


def _message_added(self: PortalView, curs: Cursor, copy: Copy, e: Any, position: int) -> None:
    author_type = "contact" if isinstance(e, Ticket.ContactMessageAdded) else "member"
    curs.execute(
        f"INSERT INTO {copy.prefix}_messages (message_id, ticket_id, position, author_type, author_id, "
        "content, created_at, edited_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
        (
            str(e.message_id),
            str(e.originator_id),
            position,
            author_type,
            str(e.actor_id),
            text(e.content),
            micros(e.timestamp),
        ),
    )
    if e.attachments:
        curs.executemany(
            f"INSERT INTO {copy.prefix}_attachments (attachment_id, ticket_id, message_id, filename, "
            "content_type, size, sha256) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    str(a["id"]),
                    str(e.originator_id),
                    str(e.message_id),
                    text(a["filename"]),
                    a["content_type"],
                    a["size"],
                    a["sha256"],
                )
                for a in e.attachments
            ],
        )
    _set_ticket()(self, curs, copy, e, position)


def _message_edited(
    self: PortalView, curs: Cursor, copy: Copy, e: Ticket.MessageEdited, position: int
) -> None:
    # A note's edit finds no row: notes are never written here.
    curs.execute(
        f"UPDATE {copy.prefix}_messages SET content = ?, edited_at = ? WHERE message_id = ?",
        (text(e.new), micros(e.timestamp), str(e.message_id)),
    )


def _message_deleted(
    self: PortalView, curs: Cursor, copy: Copy, e: Ticket.MessageDeleted, position: int
) -> None:
    curs.execute(f"DELETE FROM {copy.prefix}_messages WHERE message_id = ?", (str(e.message_id),))
    curs.execute(f"DELETE FROM {copy.prefix}_attachments WHERE message_id = ?", (str(e.message_id),))


def _ticket_deleted(self: PortalView, curs: Cursor, copy: Copy, e: Ticket.Deleted, position: int) -> None:
    curs.execute(f"DELETE FROM {copy.prefix}_messages WHERE ticket_id = ?", (str(e.originator_id),))
    curs.execute(f"DELETE FROM {copy.prefix}_attachments WHERE ticket_id = ?", (str(e.originator_id),))
    curs.execute(f"DELETE FROM {copy.prefix}_tickets WHERE ticket_id = ?", (str(e.originator_id),))


def _contact_changed(
    self: PortalView, curs: Cursor, copy: Copy, e: Ticket.ContactChanged, position: int
) -> None:
    # The ticket moves to the new address's contact; the org is in the ticket's row.
    curs.execute(f"SELECT org_id FROM {copy.prefix}_tickets WHERE ticket_id = ?", (str(e.originator_id),))
    row = curs.fetchone()
    if row is None:
        return
    contact = str(contact_id_for(UUID(row["org_id"]), e.email)) if e.email else None
    _set_ticket(contact_id=lambda _: contact)(self, curs, copy, e, position)


def _status_changed(
    self: PortalView, curs: Cursor, copy: Copy, e: Ticket.StatusChanged, position: int
) -> None:
    resolved = micros(e.timestamp) if e.new == Status.RESOLVED.value else None
    _set_ticket(status=lambda ev: ev.new, resolved_since=lambda _: resolved)(self, curs, copy, e, position)


def _window_changed(
    self: PortalView, curs: Cursor, copy: Copy, e: Organization.AutoCloseChanged, position: int
) -> None:
    curs.execute(
        f"INSERT INTO {copy.prefix}_orgs (org_id, auto_close_after_days) VALUES (?, ?) "
        "ON CONFLICT (org_id) DO UPDATE SET auto_close_after_days = excluded.auto_close_after_days",
        (str(e.originator_id), e.days),
    )


class PortalView(EventModel):
    """Every live ticket with its contact, subject, description and status, its public messages, and
    each org's push-back window (which the closer of resolved tickets reads)."""

    name = "portal"
    tables: ClassVar[dict[str, str]] = {
        "tickets": "ticket_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, contact_id TEXT, number INTEGER NOT NULL, "
        "subject TEXT NOT NULL, description TEXT NOT NULL, status TEXT NOT NULL, created_at BIGINT NOT NULL, "
        "updated_at BIGINT NOT NULL, resolved_since BIGINT",
        "messages": "message_id TEXT PRIMARY KEY, ticket_id TEXT NOT NULL, position BIGINT NOT NULL, "
        "author_type TEXT NOT NULL, author_id TEXT NOT NULL, content TEXT NOT NULL, created_at BIGINT NOT NULL, "
        "edited_at BIGINT",
        "orgs": "org_id TEXT PRIMARY KEY, auto_close_after_days INTEGER NOT NULL",
        # The files of public messages (those of notes never arrive: their events are not read).
        "attachments": "attachment_id TEXT PRIMARY KEY, ticket_id TEXT NOT NULL, message_id TEXT NOT NULL, "
        "filename TEXT NOT NULL, content_type TEXT NOT NULL, size BIGINT NOT NULL, sha256 TEXT NOT NULL",
    }
    # Every event type this model reads; `Ticket.NoteAdded` is not one of them, on purpose.
    handlers: ClassVar[dict[type[Any], Callable[[Any, Cursor, Copy, Any, int], None]]] = {
        Ticket.Created: _ticket_created,
        Ticket.SubjectChanged: _set_ticket(subject=lambda e: text(e.new)),
        Ticket.DescriptionChanged: _set_ticket(description=lambda e: text(e.new)),
        Ticket.StatusChanged: _status_changed,
        Ticket.ContactChanged: _contact_changed,
        Ticket.MessageAdded: _message_added,
        Ticket.ContactMessageAdded: _message_added,
        Ticket.MessageEdited: _message_edited,
        Ticket.MessageDeleted: _message_deleted,
        Ticket.Deleted: _ticket_deleted,
        Organization.AutoCloseChanged: _window_changed,
    }

    def ddl(self, copy: Copy) -> list[str]:
        p = copy.prefix
        return [
            *super().ddl(copy),
            f"CREATE INDEX IF NOT EXISTS {p}_tickets_contact ON {p}_tickets (org_id, contact_id, updated_at, number)",
            f"CREATE INDEX IF NOT EXISTS {p}_tickets_resolved ON {p}_tickets (resolved_since) "
            "WHERE resolved_since IS NOT NULL",
            f"CREATE INDEX IF NOT EXISTS {p}_messages_ticket ON {p}_messages (ticket_id, position)",
            f"CREATE INDEX IF NOT EXISTS {p}_attachments_ticket ON {p}_attachments (ticket_id)",
        ]

    # ------------------------------------------------------------------ queries

    def tickets_of(
        self,
        curs: Cursor,
        copy: Copy,
        org_id: str,
        contact_id: str,
        after: tuple[int, int] | None,
        limit: int,
    ) -> tuple[list[PortalTicket], tuple[int, int] | None]:
        """A contact's tickets, most recently updated first; keyset pages on (updated_at, number)."""
        where, params = "org_id = ? AND contact_id = ?", [org_id, contact_id]
        values: list[Any] = params
        if after is not None:
            where += " AND (updated_at < ? OR (updated_at = ? AND number < ?))"
            values += [after[0], after[0], after[1]]
        curs.execute(
            f"SELECT * FROM {copy.prefix}_tickets WHERE {where} ORDER BY updated_at DESC, number DESC LIMIT ?",
            (*values, limit + 1),
        )
        rows = [_ticket(r) for r in curs.fetchall()]
        page = rows[:limit]
        more = len(rows) > limit
        return page, (micros(page[-1].updated_at), page[-1].number) if more else None

    def ticket(
        self, curs: Cursor, copy: Copy, org_id: str, contact_id: str, number: int
    ) -> PortalTicket | None:
        """The contact's ticket with this number; another contact's is as missing as one that never was."""
        curs.execute(
            f"SELECT * FROM {copy.prefix}_tickets WHERE org_id = ? AND contact_id = ? AND number = ?",
            (org_id, contact_id, number),
        )
        row = curs.fetchone()
        return None if row is None else _ticket(row)

    def messages(self, curs: Cursor, copy: Copy, ticket_id: str) -> list[PortalMessage]:
        curs.execute(
            f"SELECT * FROM {copy.prefix}_attachments WHERE ticket_id = ? ORDER BY filename, attachment_id",
            (ticket_id,),
        )
        files: dict[str, list[PortalAttachment]] = {}
        for r in curs.fetchall():
            files.setdefault(r["message_id"], []).append(_attachment(r))
        curs.execute(
            f"SELECT * FROM {copy.prefix}_messages WHERE ticket_id = ? ORDER BY position", (ticket_id,)
        )
        return [
            PortalMessage(
                message_id=r["message_id"],
                ticket_id=r["ticket_id"],
                author_type=r["author_type"],
                author_id=r["author_id"],
                content=r["content"],
                created_at=from_micros(r["created_at"]),
                edited_at=None if r["edited_at"] is None else from_micros(r["edited_at"]),
                attachments=tuple(files.get(r["message_id"], ())),
            )
            for r in curs.fetchall()
        ]

    def attachment(
        self, curs: Cursor, copy: Copy, org_id: str, contact_id: str, attachment_id: str
    ) -> PortalAttachment | None:
        """A file of a public message of one of the contact's tickets; any other is as missing."""
        curs.execute(
            f"SELECT a.* FROM {copy.prefix}_attachments a JOIN {copy.prefix}_tickets t "
            "ON t.ticket_id = a.ticket_id WHERE a.attachment_id = ? AND t.org_id = ? AND t.contact_id = ?",
            (attachment_id, org_id, contact_id),
        )
        row = curs.fetchone()
        return None if row is None else _attachment(row)

    def window_over(self, curs: Cursor, copy: Copy, now: datetime, limit: int) -> list[str]:
        """Resolved tickets whose org's push-back window has run out by `now`, oldest resolution first."""
        day = int(timedelta(days=1) / MICROSECOND)
        curs.execute(
            f"SELECT t.ticket_id FROM {copy.prefix}_tickets t LEFT JOIN {copy.prefix}_orgs o "
            "ON o.org_id = t.org_id WHERE t.resolved_since IS NOT NULL "
            f"AND t.resolved_since + COALESCE(o.auto_close_after_days, {DEFAULT_AUTO_CLOSE_DAYS}) * {day} <= ? "
            "ORDER BY t.resolved_since LIMIT ?",
            (micros(now), limit),
        )
        return [r["ticket_id"] for r in curs.fetchall()]


def _attachment(r: Any) -> PortalAttachment:
    return PortalAttachment(
        attachment_id=r["attachment_id"],
        message_id=r["message_id"],
        filename=r["filename"],
        content_type=r["content_type"],
        size=int(r["size"]),
        sha256=r["sha256"],
    )


def _ticket(r: Any) -> PortalTicket:
    return PortalTicket(
        ticket_id=r["ticket_id"],
        org_id=r["org_id"],
        contact_id=r["contact_id"],
        number=int(r["number"]),
        subject=r["subject"],
        description=r["description"],
        status=r["status"],
        created_at=from_micros(r["created_at"]),
        updated_at=from_micros(r["updated_at"]),
    )


# ---------------------------------------------------------------------------- contacts


@dataclass(frozen=True)
class ContactRecord:
    """A contact as the org's directory lists it."""

    contact_id: str
    org_id: str
    email: str
    name: str
    created_at: datetime


def _contact_created(self: Contacts, curs: Cursor, copy: Copy, e: Any, position: int) -> None:
    self.upsert(
        curs, copy, str(e.originator_id), str(e.org_id), contact_key(e.email), e.name, e.timestamp, named=True
    )


def _ticket_contact(self: Contacts, curs: Cursor, copy: Copy, e: Any, position: int) -> None:
    """A ticket's address names a contact even before its aggregate is saved (tickets of older releases)."""
    email = e.contact_email if isinstance(e, Ticket.Created) else e.email
    if not email:
        return
    org_id = e.org_id if isinstance(e, Ticket.Created) else self.ticket_org(curs, copy, str(e.originator_id))
    if isinstance(e, Ticket.Created):
        curs.execute(
            f"INSERT INTO {copy.prefix}_ticket_orgs (ticket_id, org_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (str(e.originator_id), str(org_id)),
        )
    if org_id is None:
        return
    name = (e.contact_name if isinstance(e, Ticket.Created) else e.name) or email.split("@")[0]
    contact_id = str(contact_id_for(org_id, email))
    self.upsert(
        curs, copy, contact_id, str(org_id), contact_key(email.strip()), name, e.timestamp, named=False
    )


def _contact_renamed(self: Contacts, curs: Cursor, copy: Copy, e: Any, position: int) -> None:
    curs.execute(
        f"UPDATE {copy.prefix}_contacts SET name = ?, name_lower = ?, named = ? WHERE contact_id = ?",
        (text(e.name), text(e.name).lower(), True, str(e.originator_id)),
    )


class Contacts(EventModel):
    """The org's contacts: those saved, and those only named by a ticket's address so far."""

    name = "contacts"
    tables: ClassVar[dict[str, str]] = {
        "contacts": "contact_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, email TEXT NOT NULL, name TEXT NOT NULL, "
        "name_lower TEXT NOT NULL, named BOOLEAN NOT NULL, created_at BIGINT NOT NULL",
        # Which org a ticket is in, for the address changes of tickets (their events do not say).
        "ticket_orgs": "ticket_id TEXT PRIMARY KEY, org_id TEXT NOT NULL",
    }
    handlers: ClassVar[dict[type[Any], Callable[[Any, Cursor, Copy, Any, int], None]]] = {
        Contact.Created: _contact_created,
        Contact.Renamed: _contact_renamed,
        Ticket.Created: _ticket_contact,
        Ticket.ContactChanged: _ticket_contact,
    }

    def ddl(self, copy: Copy) -> list[str]:
        p = copy.prefix
        return [
            *super().ddl(copy),
            f"CREATE INDEX IF NOT EXISTS {p}_contacts_email ON {p}_contacts (org_id, email)",
        ]

    def ticket_org(self, curs: Cursor, copy: Copy, ticket_id: str) -> UUID | None:
        curs.execute(f"SELECT org_id FROM {copy.prefix}_ticket_orgs WHERE ticket_id = ?", (ticket_id,))
        row = curs.fetchone()
        return None if row is None else UUID(row["org_id"])

    def upsert(
        self,
        curs: Cursor,
        copy: Copy,
        contact_id: str,
        org_id: str,
        email: str,
        name: str,
        at: datetime,
        named: bool,
    ) -> None:
        """Insert a contact, or complete it: a saved contact's name wins over a ticket's, the earliest time stays."""
        curs.execute(
            f"INSERT INTO {copy.prefix}_contacts (contact_id, org_id, email, name, name_lower, named, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (contact_id) DO UPDATE SET "
            f"name = CASE WHEN excluded.named THEN excluded.name ELSE {copy.prefix}_contacts.name END, "
            f"name_lower = CASE WHEN excluded.named THEN excluded.name_lower ELSE {copy.prefix}_contacts.name_lower END, "
            f"named = excluded.named OR {copy.prefix}_contacts.named, "
            f"created_at = CASE WHEN excluded.created_at < {copy.prefix}_contacts.created_at "
            f"THEN excluded.created_at ELSE {copy.prefix}_contacts.created_at END",
            (contact_id, org_id, email, text(name), text(name).lower(), named, micros(at)),
        )

    def page(
        self, curs: Cursor, copy: Copy, org_id: str, q: str | None, after: tuple[str, str] | None, limit: int
    ) -> tuple[list[ContactRecord], tuple[str, str] | None]:
        """The org's contacts by e-mail; `q` matches part of the e-mail or the name (any case)."""
        where, params = "org_id = ?", [org_id]
        if q:
            pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where += " AND (email LIKE ? ESCAPE '\\' OR name_lower LIKE ? ESCAPE '\\')"
            params += [pattern, pattern]
        if after is not None:
            where += " AND (email > ? OR (email = ? AND contact_id > ?))"
            params += [after[0], after[0], after[1]]
        curs.execute(
            f"SELECT * FROM {copy.prefix}_contacts WHERE {where} ORDER BY email, contact_id LIMIT ?",
            (*params, limit + 1),
        )
        rows = [_contact(r) for r in curs.fetchall()]
        page = rows[:limit]
        return page, (page[-1].email, page[-1].contact_id) if len(rows) > limit else None

    def find(self, curs: Cursor, copy: Copy, org_id: str, contact_id: str) -> ContactRecord | None:
        curs.execute(
            f"SELECT * FROM {copy.prefix}_contacts WHERE org_id = ? AND contact_id = ?", (org_id, contact_id)
        )
        row = curs.fetchone()
        return None if row is None else _contact(row)


def _contact(r: Any) -> ContactRecord:
    return ContactRecord(
        contact_id=r["contact_id"],
        org_id=r["org_id"],
        email=r["email"],
        name=r["name"],
        created_at=from_micros(r["created_at"]),
    )


PORTAL = PortalView()
CONTACTS = Contacts()
