"""The e-mail digest: a policy that queues, once per period, each opted-in member's unread
notifications as one mail, and the words of that mail.

A period ends by the clock, not by an event, so the policy is scheduled (the read side's
follower runs it with the breach recorder). It is handed the inbox read model's queries as
parameters, as the breach recorder is: which inboxes may have a digest due (opted in, a period
ended since their last digest, something unread after it), and a member's unread notifications
after a log position. For each inbox it records `Inbox.DigestQueued` (or `DigestSkipped`) on the
member's `Inbox` aggregate: the aggregate queues a period once, and two servers that queue the
same period clash on its version, so the second, retried, finds it done. The outbox read model
learns the queued digest from the log and the mail sender sends it as it sends every mail
(claims, retries, failures), composing it with `compose_digest` below.

A digest lists what arrived after the previous one (by log position, so nothing falls between two
digests, even across a restart or a server down for hours), and never a ticket the member cannot
see now (deleted, or of a private team they are not in): checked when queued and again when sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from tickets.application.app import TicketsApp, retry_on_conflict
from tickets.domain.inbox import DIGEST_MAX_ITEMS, Inbox, notification_summary
from tickets.domain.organization import Member, Organization
from tickets.domain.ticket import Ticket

logger = logging.getLogger("tickets.digest")

# How many unread notifications one digest looks at (the rest wait for the next).
UNREAD_LIMIT = 500


class Unread(Protocol):
    """An unread notification of the inbox read model (`projections.inbox.InboxItem`)."""

    @property
    def item_id(self) -> str: ...
    @property
    def position(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def ticket_id(self) -> str | None: ...
    @property
    def subject(self) -> str: ...
    @property
    def actor_id(self) -> str | None: ...


# (now, limit) -> ids of inboxes whose digest may be due by `now`, with something unread.
DigestsDue = Callable[[datetime, int], Iterable[str]]
# (org id, member id, after, limit) -> the member's unread notifications after log position `after`,
# oldest first, and the position the read model had reached when it answered.
UnreadAfter = Callable[[str, str, int, int], tuple[Sequence[Unread], int]]


def queue_due_digests(
    app: TicketsApp, due: DigestsDue, unread_after: UnreadAfter, now: datetime, limit: int = 500
) -> int:
    """Queue every digest due by `now`; returns how many were queued (skipped ones not counted)."""
    queued = sum(queue_digest(app, UUID(inbox_id), unread_after, now) for inbox_id in due(now, limit))
    if queued:
        logger.info("queued %d e-mail digests", queued)
    return queued


def queue_digest(app: TicketsApp, inbox_id: UUID, unread_after: UnreadAfter, now: datetime) -> bool:
    """Queue this inbox's digest if one is due (or skip it if nothing may be told); True if queued."""

    def attempt() -> bool:
        try:
            inbox: Inbox = app.repository.get(inbox_id)
        except AggregateNotFoundError:
            return False
        period = inbox.digest_due(now)
        if period is None:
            return False
        org: Organization = app.repository.get(inbox.org_id)
        member = _recipient(org, inbox.user_id)
        if member is None:
            return False
        unread, reached = unread_after(
            str(inbox.org_id), str(inbox.user_id), inbox.digest_after, UNREAD_LIMIT
        )
        # A full page leaves the rest for the next digest; otherwise it covers all the model had seen.
        up_to = unread[-1].position if len(unread) == UNREAD_LIMIT else reached
        visible = [item for item in unread if _may_see(app, org, member, item.ticket_id)]
        listed = [
            {
                "item_id": item.item_id,
                "kind": item.kind,
                "ticket_id": item.ticket_id,
                "actor_id": item.actor_id,
                "subject": item.subject,
            }
            for item in visible[:DIGEST_MAX_ITEMS]
        ]
        more = len(visible) - len(listed)
        if not inbox.queue_digest(period, listed, more, up_to, now):
            return False
        app.save(inbox)
        return bool(listed)

    return retry_on_conflict(attempt)


def _recipient(org: Organization, user_id: UUID) -> Member | None:
    """The member a digest goes to: a person of the org with an address (agents have none)."""
    member = org.members.get(str(user_id))
    return member if member is not None and not member.is_agent and member.email else None


def _may_see(app: TicketsApp, org: Organization, member: Member, ticket_id: str | None) -> bool:
    """Whether the member may read about this ticket now (an org's notice has none: yes)."""
    return ticket_id is None or _ticket(app, org, member, ticket_id) is not None


def _ticket(app: TicketsApp, org: Organization, member: Member, ticket_id: str) -> Ticket | None:
    try:
        ticket: object = app.repository.get(UUID(ticket_id))
    except AggregateNotFoundError:
        return None
    if not isinstance(ticket, Ticket) or ticket.deleted or ticket.org_id != org.id:
        return None
    hidden = org.hidden_team_ids(member.id, member.role)
    return None if ticket.team_id is not None and str(ticket.team_id) in hidden else ticket


# ---------------------------------------------------------------------------- the mail


class NothingToMailError(Exception):
    """The queued digest can no longer be sent: its member is gone, turned it off, or may see none of it."""


@dataclass(frozen=True)
class DigestMail:
    to: str
    subject: str
    text: str


def compose_digest(
    app: TicketsApp, org: Organization, inbox_id: UUID, version: int, public_url: str
) -> DigestMail:
    """The digest queued as version `version` of the inbox, in words, from the aggregates as they are now:
    each notification's summary, the ticket's number and subject now, and its address."""
    inbox: Inbox = app.repository.get(inbox_id)
    queued = next(iter(app.events.get(inbox_id, gt=version - 1, lte=version)), None)
    if not isinstance(queued, Inbox.DigestQueued):
        raise NothingToMailError(f"version {version} of inbox {inbox_id} queued no digest")
    member = _recipient(org, inbox.user_id)
    if member is None:
        raise NothingToMailError("the member is gone or has no address")
    if inbox.email_digest == "off":
        raise NothingToMailError("the member turned the digest off")
    lines = []
    for item in queued.items:
        actor_id = item.get("actor_id")
        actor = org.members.get(str(actor_id)) if actor_id else None
        actor_name = f"@{actor.handle}" if actor else (str(actor_id)[:8] if actor_id else "a rule")
        if item.get("ticket_id") is None:
            lines.append(f"- {notification_summary(item['kind'], actor_name, item['subject'])}")
            continue
        ticket = _ticket(app, org, member, item["ticket_id"])
        if ticket is None:
            continue
        about = f"#{ticket.ticket_number} {ticket.subject}"
        lines.append(f"- {notification_summary(item['kind'], actor_name, about)}")
        lines.append(f"  {public_url}/api/v1/tickets/{ticket.ticket_number}")
    if not lines:
        raise NothingToMailError("the member may no longer see any of its notifications")
    count = sum(line.startswith("- ") for line in lines)
    noun = "notification" if count + queued.more == 1 else "notifications"
    text = "\n".join(
        [
            f"Hello {member.name},",
            "",
            f"{count + queued.more} {noun} you have not read in {org.name} ({_when(queued.period)}):",
            "",
            *lines,
            *([f"- and {queued.more} more in your inbox"] if queued.more else []),
            "",
            "Read and mark them with `pfai inbox` (or GET /api/v1/inbox).",
            "",
            "---",
            f"You get this {inbox.email_digest} digest because you asked for it; "
            "`pfai inbox --digest off` (or PATCH /api/v1/me "
            '{"notify": {"emailDigest": "off"}}) turns it off.',
        ]
    )
    return DigestMail(member.email, f"{org.name}: {count + queued.more} unread {noun}", text)


def _when(period: str) -> str:
    """A period in words: `2026-01-05 09:00-10:00 UTC` or `2026-01-05 (UTC)`."""
    if "T" not in period:
        return f"{period} (UTC)"
    day, hour = period.rstrip("Z").split("T")
    start = int(hour[:2])
    return f"{day} {start:02d}:00-{(start + 1) % 24:02d}:00 UTC"


__all__ = [
    "DigestMail",
    "DigestsDue",
    "NothingToMailError",
    "Unread",
    "UnreadAfter",
    "compose_digest",
    "queue_digest",
    "queue_due_digests",
]
