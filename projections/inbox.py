"""The inbox read model: each member's notifications, made from the log.

A notification is made when an event concerns a member other than its actor (no notification for
one's own actions): a ticket assigned to them (by a person or a rule), an @-mention in a message or
note, the contact's reply on a ticket assigned to them, an SLA breach on it, a linked issue done.
Each item's id is derived from the event's position and the member, so a rebuild makes the same
ids; reading (`Inbox.ItemsRead` / `AllRead`) and preferences (`Inbox.PreferencesChanged`) are
events too, applied here in log order, so a rebuilt inbox is read exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from uuid import NAMESPACE_URL, uuid5

from projections.base import micros
from projections.portal import EventModel, from_micros, text
from projections.views import Copy, Cursor
from tickets.domain.inbox import DIGEST_FREQUENCIES, Inbox, digest_period
from tickets.domain.organization import Organization
from tickets.domain.ticket import Ticket
from tickets.domain.webhook import Webhook


@dataclass(frozen=True)
class InboxItem:
    item_id: str
    position: int
    kind: str
    ticket_id: str | None
    ticket_number: int | None
    # The ticket's subject; for an org's notice (a webhook disabled), what it is about.
    subject: str
    actor_id: str | None
    created_at: datetime
    read: bool


def item_id(position: int, member_id: str) -> str:
    return str(uuid5(NAMESPACE_URL, f"inbox-item:{position}:{member_id}"))


def _notify(
    self: InboxModel,
    curs: Cursor,
    copy: Copy,
    e: Any,
    position: int,
    kind: str,
    member: str | None,
    actor: str | None = None,
) -> None:
    """An item for `member` about the event's ticket, unless they acted themselves or opted out;
    `actor`: who the item names as having acted (default: the event's actor)."""
    actor = actor or (str(e.actor_id) if e.actor_id else None)
    if member is None or member == actor:
        return
    curs.execute(f"SELECT enabled FROM {copy.prefix}_prefs WHERE member_id = ? AND kind = ?", (member, kind))
    pref = curs.fetchone()
    if pref is not None and not pref["enabled"]:
        return
    curs.execute(
        f"SELECT org_id, number, subject FROM {copy.prefix}_tickets WHERE ticket_id = ?",
        (str(e.originator_id),),
    )
    ticket = curs.fetchone()
    if ticket is None:
        return
    curs.execute(
        f"INSERT INTO {copy.prefix}_items (item_id, org_id, member_id, position, kind, ticket_id, ticket_number, "
        "subject, actor_id, created_at, read) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
        (
            item_id(position, member),
            ticket["org_id"],
            member,
            position,
            kind,
            str(e.originator_id),
            ticket["number"],
            ticket["subject"],
            actor,
            micros(e.timestamp),
        ),
    )


def _assignee(curs: Cursor, copy: Copy, ticket_id: str) -> str | None:
    curs.execute(f"SELECT assignee_id FROM {copy.prefix}_tickets WHERE ticket_id = ?", (ticket_id,))
    row = curs.fetchone()
    return row["assignee_id"] if row else None


def _created(self: InboxModel, curs: Cursor, copy: Copy, e: Ticket.Created, position: int) -> None:
    assignee = str(e.assignee_id) if e.assignee_id else None
    curs.execute(
        f"INSERT INTO {copy.prefix}_tickets (ticket_id, org_id, number, subject, assignee_id, team_id) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (str(e.originator_id), str(e.org_id), e.ticket_number, text(e.subject), assignee, _id(e.team_id)),
    )
    _notify(self, curs, copy, e, position, "assigned", assignee)


def _subject_changed(
    self: InboxModel, curs: Cursor, copy: Copy, e: Ticket.SubjectChanged, position: int
) -> None:
    curs.execute(
        f"UPDATE {copy.prefix}_tickets SET subject = ? WHERE ticket_id = ?",
        (text(e.new), str(e.originator_id)),
    )


def _team_changed(self: InboxModel, curs: Cursor, copy: Copy, e: Ticket.TeamChanged, position: int) -> None:
    curs.execute(
        f"UPDATE {copy.prefix}_tickets SET team_id = ? WHERE ticket_id = ?",
        (_id(e.new), str(e.originator_id)),
    )


def _id(value: object) -> str | None:
    return None if value is None else str(value)


def _visible(copy: Copy, hidden_team_ids: Collection[str]) -> tuple[str, list[str]]:
    """The condition that leaves out items about tickets of `hidden_team_ids` (private teams the
    reader is not in), and its values: empty when none is hidden."""
    if not hidden_team_ids:
        return "", []
    slots = ", ".join("?" for _ in hidden_team_ids)
    return (
        f" AND (ticket_id IS NULL OR ticket_id NOT IN "
        f"(SELECT ticket_id FROM {copy.prefix}_tickets WHERE team_id IN ({slots})))",
        sorted(hidden_team_ids),
    )


def _assigned(self: InboxModel, curs: Cursor, copy: Copy, e: Ticket.Assigned, position: int) -> None:
    assignee = str(e.new) if e.new else None
    curs.execute(
        f"UPDATE {copy.prefix}_tickets SET assignee_id = ? WHERE ticket_id = ?",
        (assignee, str(e.originator_id)),
    )
    _notify(self, curs, copy, e, position, "assigned", assignee)


def _mentioned(self: InboxModel, curs: Cursor, copy: Copy, e: Any, position: int) -> None:
    for member in dict.fromkeys(str(m) for m in e.mentions):
        _notify(self, curs, copy, e, position, "mentioned", member)


def _to_assignee(kind: str) -> Callable[[InboxModel, Cursor, Copy, Any, int], None]:
    def handler(self: InboxModel, curs: Cursor, copy: Copy, e: Any, position: int) -> None:
        _notify(self, curs, copy, e, position, kind, _assignee(curs, copy, str(e.originator_id)))

    return handler


def _agent_dispatched(
    self: InboxModel, curs: Cursor, copy: Copy, e: Ticket.AgentDispatched, position: int
) -> None:
    curs.execute(
        f"INSERT INTO {copy.prefix}_dispatches (dispatch_id, dispatcher_id) VALUES (?, ?)",
        (str(e.dispatch_id), str(e.actor_id) if e.actor_id else None),
    )


def _to_dispatcher(kind: str) -> Callable[[InboxModel, Cursor, Copy, Any, int], None]:
    """The member who dispatched an agent hears how it ended (a rule's dispatch tells nobody)."""

    def handler(self: InboxModel, curs: Cursor, copy: Copy, e: Any, position: int) -> None:
        curs.execute(
            f"SELECT dispatcher_id FROM {copy.prefix}_dispatches WHERE dispatch_id = ?", (str(e.dispatch_id),)
        )
        row = curs.fetchone()
        _notify(self, curs, copy, e, position, kind, row["dispatcher_id"] if row else None, str(e.agent_id))

    return handler


def _member_role(self: InboxModel, curs: Cursor, copy: Copy, e: Any, position: int) -> None:
    """Who the org's admins are (they hear of what concerns the whole org)."""
    if e.role is None:
        return
    curs.execute(
        f"DELETE FROM {copy.prefix}_admins WHERE org_id = ? AND member_id = ?",
        (str(e.originator_id), str(e.user_id)),
    )
    if e.role == "admin":
        curs.execute(
            f"INSERT INTO {copy.prefix}_admins (org_id, member_id) VALUES (?, ?)",
            (str(e.originator_id), str(e.user_id)),
        )


def _webhook_registered(
    self: InboxModel, curs: Cursor, copy: Copy, e: Webhook.Registered, position: int
) -> None:
    curs.execute(
        f"INSERT INTO {copy.prefix}_webhooks (webhook_id, org_id, url) VALUES (?, ?, ?)",
        (str(e.originator_id), str(e.org_id), text(e.url)),
    )


def _webhook_disabled(self: InboxModel, curs: Cursor, copy: Copy, e: Webhook.Disabled, position: int) -> None:
    """Every admin of the org hears that a webhook stopped itself, and why."""
    curs.execute(
        f"SELECT org_id, url FROM {copy.prefix}_webhooks WHERE webhook_id = ?", (str(e.originator_id),)
    )
    hook = curs.fetchone()
    if hook is None:
        return
    curs.execute(f"SELECT member_id FROM {copy.prefix}_admins WHERE org_id = ?", (hook["org_id"],))
    for admin in [r["member_id"] for r in curs.fetchall()]:
        curs.execute(
            f"SELECT enabled FROM {copy.prefix}_prefs WHERE member_id = ? AND kind = 'webhook_disabled'",
            (admin,),
        )
        pref = curs.fetchone()
        if pref is not None and not pref["enabled"]:
            continue
        curs.execute(
            f"INSERT INTO {copy.prefix}_items (item_id, org_id, member_id, position, kind, ticket_id, ticket_number, "
            "subject, actor_id, created_at, read) VALUES (?, ?, ?, ?, 'webhook_disabled', NULL, NULL, ?, NULL, ?, 0)",
            (
                item_id(position, admin),
                hook["org_id"],
                admin,
                position,
                text(f"{hook['url']}: {e.reason}"),
                micros(e.timestamp),
            ),
        )


def _items_read(self: InboxModel, curs: Cursor, copy: Copy, e: Inbox.ItemsRead, position: int) -> None:
    member = _member_of(curs, copy, str(e.originator_id))
    for read in e.item_ids:
        curs.execute(
            f"UPDATE {copy.prefix}_items SET read = 1 WHERE item_id = ? AND member_id = ?", (read, member)
        )


def _all_read(self: InboxModel, curs: Cursor, copy: Copy, e: Inbox.AllRead, position: int) -> None:
    member = _member_of(curs, copy, str(e.originator_id))
    curs.execute(
        f"UPDATE {copy.prefix}_items SET read = 1 WHERE member_id = ? AND position <= ? AND read = 0",
        (member, e.up_to),
    )


def _opened(self: InboxModel, curs: Cursor, copy: Copy, e: Inbox.Opened, position: int) -> None:
    curs.execute(
        f"INSERT INTO {copy.prefix}_inboxes (inbox_id, member_id) VALUES (?, ?)",
        (str(e.originator_id), str(e.user_id)),
    )


def _member_of(curs: Cursor, copy: Copy, inbox_id: str) -> str | None:
    curs.execute(f"SELECT member_id FROM {copy.prefix}_inboxes WHERE inbox_id = ?", (inbox_id,))
    row = curs.fetchone()
    return row["member_id"] if row else None


def _preferences(
    self: InboxModel, curs: Cursor, copy: Copy, e: Inbox.PreferencesChanged, position: int
) -> None:
    member = _member_of(curs, copy, str(e.originator_id))
    curs.execute(f"DELETE FROM {copy.prefix}_prefs WHERE member_id = ?", (member,))
    for kind, enabled in sorted(e.notify.items()):
        curs.execute(
            f"INSERT INTO {copy.prefix}_prefs (member_id, kind, enabled) VALUES (?, ?, ?)",
            (member, kind, int(enabled)),
        )


def _digest_chosen(self: InboxModel, curs: Cursor, copy: Copy, e: Inbox.DigestChosen, position: int) -> None:
    """Who wants a digest, how often, and from where its next one starts (`application/digest.py`)."""
    member = _member_of(curs, copy, str(e.originator_id))
    curs.execute(f"DELETE FROM {copy.prefix}_digests WHERE inbox_id = ?", (str(e.originator_id),))
    if member is not None and e.frequency != "off":
        curs.execute(
            f"INSERT INTO {copy.prefix}_digests (inbox_id, member_id, frequency, after_position, period_done) "
            "VALUES (?, ?, ?, ?, ?)",
            (str(e.originator_id), member, e.frequency, e.after, e.period_done),
        )


def _digest_done(self: InboxModel, curs: Cursor, copy: Copy, e: Any, position: int) -> None:
    """A digest queued or skipped: the next starts after it, a period later."""
    curs.execute(
        f"UPDATE {copy.prefix}_digests SET period_done = ?, after_position = ? WHERE inbox_id = ?",
        (e.period, e.up_to, str(e.originator_id)),
    )


class InboxModel(EventModel):
    """Every member's notifications, read or not."""

    name = "inbox"
    tables: ClassVar[dict[str, str]] = {
        # A ticket's notification names its ticket; an org's (a webhook disabled) names none.
        "items": "item_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, member_id TEXT NOT NULL, position BIGINT NOT NULL, "
        "kind TEXT NOT NULL, ticket_id TEXT, ticket_number INTEGER, subject TEXT NOT NULL, "
        "actor_id TEXT, created_at BIGINT NOT NULL, read INTEGER NOT NULL",
        "admins": "org_id TEXT NOT NULL, member_id TEXT NOT NULL, PRIMARY KEY (org_id, member_id)",
        "webhooks": "webhook_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, url TEXT NOT NULL",
        # The team: items about a private team's ticket are kept from members outside it when read.
        "tickets": "ticket_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, number INTEGER NOT NULL, subject TEXT NOT NULL, "
        "assignee_id TEXT, team_id TEXT",
        "inboxes": "inbox_id TEXT PRIMARY KEY, member_id TEXT NOT NULL",
        "dispatches": "dispatch_id TEXT PRIMARY KEY, dispatcher_id TEXT",
        "prefs": "member_id TEXT NOT NULL, kind TEXT NOT NULL, enabled INTEGER NOT NULL, PRIMARY KEY (member_id, kind)",
        # The members who want an e-mail digest (a table of its own: copies made before it get it empty).
        "digests": "inbox_id TEXT PRIMARY KEY, member_id TEXT NOT NULL, frequency TEXT NOT NULL, "
        "after_position BIGINT NOT NULL, period_done TEXT",
    }
    handlers: ClassVar[dict[type[Any], Callable[[Any, Cursor, Copy, Any, int], None]]] = {
        Ticket.Created: _created,
        Ticket.SubjectChanged: _subject_changed,
        Ticket.TeamChanged: _team_changed,
        Ticket.Assigned: _assigned,
        Ticket.MessageAdded: _mentioned,
        Ticket.NoteAdded: _mentioned,
        Ticket.ContactMessageAdded: _to_assignee("contact_replied"),
        Ticket.SlaBreached: _to_assignee("sla_breached"),
        Ticket.SlaWarned: _to_assignee("sla_warning"),
        Ticket.LinkedIssueDone: _to_assignee("issue_done"),
        Ticket.AgentDispatched: _agent_dispatched,
        Ticket.AgentCompleted: _to_dispatcher("agent_completed"),
        Ticket.AgentFailed: _to_dispatcher("agent_failed"),
        Organization.MemberAdded: _member_role,
        Organization.MemberUpdated: _member_role,
        Webhook.Registered: _webhook_registered,
        Webhook.Disabled: _webhook_disabled,
        Inbox.Opened: _opened,
        Inbox.ItemsRead: _items_read,
        Inbox.AllRead: _all_read,
        Inbox.PreferencesChanged: _preferences,
        Inbox.DigestChosen: _digest_chosen,
        Inbox.DigestQueued: _digest_done,
        Inbox.DigestSkipped: _digest_done,
    }

    def ddl(self, copy: Copy) -> list[str]:
        p = copy.prefix
        return [
            *super().ddl(copy),
            f"CREATE INDEX IF NOT EXISTS {p}_items_member ON {p}_items (member_id, position)",
        ]

    def items(
        self,
        curs: Cursor,
        copy: Copy,
        org_id: str,
        member_id: str,
        unread: bool,
        before: int | None,
        limit: int,
        hidden_team_ids: Collection[str] = (),
    ) -> tuple[list[InboxItem], int | None]:
        """A member's items, newest first, but those about `hidden_team_ids`' tickets; keyset pages on
        the position."""
        visible, hidden = _visible(copy, hidden_team_ids)
        where, params = "org_id = ? AND member_id = ?" + visible, [org_id, member_id, *hidden]
        if unread:
            where += " AND read = 0"
        if before is not None:
            where += " AND position < ?"
            params.append(before)  # type: ignore[arg-type]
        curs.execute(
            f"SELECT * FROM {copy.prefix}_items WHERE {where} ORDER BY position DESC LIMIT ?",
            (*params, limit + 1),
        )
        rows = curs.fetchall()
        items = [_item(r) for r in rows[:limit]]
        return items, (items[-1].position if len(rows) > limit else None)

    def item(
        self,
        curs: Cursor,
        copy: Copy,
        org_id: str,
        member_id: str,
        item: str,
        hidden_team_ids: Collection[str] = (),
    ) -> InboxItem | None:
        curs.execute(
            f"SELECT position FROM {copy.prefix}_items WHERE item_id = ? AND org_id = ? AND member_id = ?",
            (item, org_id, member_id),
        )
        row = curs.fetchone()
        if row is None:
            return None
        found, _ = self.items(
            curs, copy, org_id, member_id, False, int(row["position"]) + 1, 1, hidden_team_ids
        )
        return found[0] if found else None

    def unread_count(
        self, curs: Cursor, copy: Copy, org_id: str, member_id: str, hidden_team_ids: Collection[str] = ()
    ) -> int:
        visible, hidden = _visible(copy, hidden_team_ids)
        curs.execute(
            f"SELECT COUNT(*) AS n FROM {copy.prefix}_items WHERE org_id = ? AND member_id = ? AND read = 0{visible}",
            (org_id, member_id, *hidden),
        )
        row = curs.fetchone()
        return int(row["n"]) if row else 0

    def digests_due(self, curs: Cursor, copy: Copy, now: datetime, limit: int) -> list[str]:
        """Inboxes whose digest may be due by `now` (a period ended since their last) and that have
        something unread after their last digest; the `Inbox` aggregate decides."""
        p = copy.prefix
        due = [(f, period) for f in DIGEST_FREQUENCIES if (period := digest_period(f, now)) is not None]
        ended = " OR ".join("(d.frequency = ? AND (d.period_done IS NULL OR d.period_done < ?))" for _ in due)
        curs.execute(
            f"SELECT d.inbox_id FROM {p}_digests d WHERE ({ended}) AND EXISTS (SELECT 1 FROM {p}_items i "
            "WHERE i.member_id = d.member_id AND i.position > d.after_position AND i.read = 0) "
            "ORDER BY d.inbox_id LIMIT ?",
            (*(value for pair in due for value in pair), limit),
        )
        return [r["inbox_id"] for r in curs.fetchall()]

    def unread_after(
        self, curs: Cursor, copy: Copy, org_id: str, member_id: str, after: int, limit: int
    ) -> list[InboxItem]:
        """A member's unread items after log position `after`, oldest first."""
        curs.execute(
            f"SELECT * FROM {copy.prefix}_items WHERE org_id = ? AND member_id = ? AND read = 0 "
            "AND position > ? ORDER BY position LIMIT ?",
            (org_id, member_id, after, limit),
        )
        return [_item(r) for r in curs.fetchall()]


def _item(row: Any) -> InboxItem:
    return InboxItem(
        item_id=row["item_id"],
        position=int(row["position"]),
        kind=row["kind"],
        ticket_id=row["ticket_id"],
        ticket_number=None if row["ticket_number"] is None else int(row["ticket_number"]),
        subject=row["subject"],
        actor_id=row["actor_id"],
        created_at=from_micros(row["created_at"]),
        read=bool(row["read"]),
    )


INBOX = InboxModel()

__all__ = ["INBOX", "InboxItem", "InboxModel", "item_id"]
