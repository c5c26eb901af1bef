"""The read side's fold: a ticket's events -> a `TicketSummary` (what a list, counter or deadline needs).

`evolve(event, summary)` has one handler per Ticket event type (`HANDLERS`, keyed by the event
class): from an event type, its definition is in `tickets.domain.ticket`, its projection
handler is here. The rules mirror the aggregate's (on-hold pauses the SLA
clock, a reopened ticket's resolution target is unmet again, ...); the property tests
compare every summary with the aggregate itself, so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import fields
from datetime import datetime
from functools import singledispatch
from operator import attrgetter
from typing import Any

import msgspec

from tickets.domain.sla import SlaClock, SlaDueTimes
from tickets.domain.ticket import TICKET_EVENT_TYPES, Ticket
from tickets.domain.values import Status
from tickets.infrastructure.stored_events import EventReader

WORD = re.compile(r"[^\W_]+", re.UNICODE)


def words(text: str) -> list[str]:
    """The distinct lower-case words of a text, in order: what `q` matches against."""
    return list(dict.fromkeys(w.lower() for w in WORD.findall(text)))


# The summary keeps the SLA clock's fields flat, as its encoded state always had them.
SLA_FIELDS = tuple(f.name for f in fields(SlaClock))
_sla_values = attrgetter(*SLA_FIELDS)  # in field order: read in C, not one getattr call at a time


class TicketSummary(msgspec.Struct, kw_only=True):
    """The state of one live ticket as the read models see it. Ids are strings."""

    id: str
    org_id: str
    number: int
    subject: str
    description_words: list[str]
    status: str
    priority: str
    category: str
    source: str
    team_id: str | None
    assignee_id: str | None
    creator_id: str
    contact_email: str | None
    contact_name: str | None
    tag_ids: list[str]
    message_count: int = 0
    first_response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    on_hold_since: datetime | None = None
    first_response_missed: bool = False
    resolution_missed: bool = False
    breach_recorded_for: datetime | None = None
    warned_for: datetime | None = None  # the deadline an about-to-breach warning was recorded for
    held_seconds: float = (
        0.0  # time spent on hold, as the ticket counts it: its SLA window starts that much later
    )
    created_at: datetime
    updated_at: datetime
    version: int

    @property
    def sla(self) -> SlaClock:
        """The SLA clock, with the domain's own rules (`tickets.domain.sla`)."""
        return SlaClock(*_sla_values(self))

    @sla.setter
    def sla(self, clock: SlaClock) -> None:
        for name, value in zip(SLA_FIELDS, _sla_values(clock), strict=True):
            setattr(self, name, value)

    @property
    def sla_deadline(self) -> datetime | None:
        """The deadline clients see (and the list sorts by), as on the ticket."""
        return self.sla.shown_deadline(Status(self.status))

    @property
    def breach_watch(self) -> datetime | None:
        """The time after which the ticket counts as breached now (`SlaClock.breach_watch`)."""
        return self.sla.breach_watch(Status(self.status))

    @property
    def sla_breach_decided(self) -> bool:
        """True once a target's breach is a fact that no time passing can change (met late, missed
        before a hold or before resolving, recorded before a re-stamp). A ticket has ever breached
        when this is true or when it is breached now."""
        return self.sla.ever_breached(None)

    def search_words(self) -> list[str]:
        return list(dict.fromkeys([*words(self.subject), *self.description_words]))


# The version of the fold: bump it when `evolve` or the read models' rows change meaning. Copies
# carry it in their names, so a server of another version builds its own copies from the log
# instead of serving rows folded by other rules.
FOLD_VERSION = 3

SUMMARY_ENCODER = msgspec.msgpack.Encoder()
SUMMARY_DECODER = msgspec.msgpack.Decoder(TicketSummary)

# Topics of the events the read models fold (everything else in the log is skipped by the query).
TICKET_TOPICS: tuple[str, ...] = tuple(f"{cls.__module__}:{cls.__qualname__}" for cls in TICKET_EVENT_TYPES)


def _id(value: object) -> str | None:
    return None if value is None else str(value)


@singledispatch
def evolve(event: Any, summary: TicketSummary | None) -> TicketSummary | None:
    """The summary after `event` (None: the ticket is not, or no longer, live). Unknown events change nothing."""
    return summary


@evolve.register
def _created(event: Ticket.Created, summary: TicketSummary | None) -> TicketSummary | None:
    return TicketSummary(
        id=str(event.originator_id),
        org_id=str(event.org_id),
        number=event.ticket_number,
        subject=event.subject,
        description_words=words(event.description),
        status=Status.OPEN.value,
        priority=event.priority,
        category=event.category,
        source=event.source,
        team_id=_id(event.team_id),
        assignee_id=_id(event.assignee_id),
        creator_id=str(event.creator_id),
        contact_email=event.contact_email,
        contact_name=event.contact_name,
        tag_ids=[str(t) for t in dict.fromkeys(event.tag_ids)],
        first_response_due_at=event.first_response_due_at,
        resolution_due_at=event.resolution_due_at,
        created_at=event.timestamp,
        updated_at=event.timestamp,
        version=event.originator_version,
    )


@evolve.register
def _deleted(event: Ticket.Deleted, summary: TicketSummary | None) -> TicketSummary | None:
    return None


# A handler changes a live ticket's summary in place; `_changes` moves its version and update time.
Handler = Callable[[Any, TicketSummary], object]


def _set(**values: Handler) -> Handler:
    """A handler that sets each named field of the summary to its value (computed in this order)."""

    def handler(event: Any, s: TicketSummary) -> None:
        for name, value in values.items():
            setattr(s, name, value(event, s))

    return handler


def _changes(handler: Handler) -> Callable[[Any, TicketSummary | None], TicketSummary | None]:
    def apply(event: Any, summary: TicketSummary | None) -> TicketSummary | None:
        if summary is None:
            return None
        handler(event, summary)
        summary.version = event.originator_version
        summary.updated_at = event.timestamp
        return summary

    return apply


def _due_times(event: Any) -> SlaDueTimes:
    return SlaDueTimes(event.first_response_due_at, event.resolution_due_at)


HANDLERS: dict[type[Any], Handler] = {
    Ticket.SubjectChanged: _set(subject=lambda e, s: e.new),
    Ticket.DescriptionChanged: _set(description_words=lambda e, s: words(e.new)),
    Ticket.StatusChanged: _set(
        held_seconds=lambda e, s: (
            s.held_seconds
            + s.sla.after_status_change(Status(e.old), Status(e.new), e.timestamp)[1].total_seconds()
        ),
        sla=lambda e, s: s.sla.after_status_change(Status(e.old), Status(e.new), e.timestamp)[0],
        status=lambda e, s: e.new,
    ),
    Ticket.PriorityChanged: _set(priority=lambda e, s: e.new),
    Ticket.CategoryChanged: _set(category=lambda e, s: e.new),
    Ticket.TeamChanged: _set(team_id=lambda e, s: _id(e.new)),
    Ticket.ContactChanged: _set(contact_email=lambda e, s: e.email, contact_name=lambda e, s: e.name),
    Ticket.Assigned: _set(assignee_id=lambda e, s: _id(e.new)),
    Ticket.TagAdded: lambda e, s: s.tag_ids.append(str(e.tag_id)),
    Ticket.TagRemoved: lambda e, s: s.tag_ids.remove(str(e.tag_id)),
    Ticket.MessageAdded: _set(
        message_count=lambda e, s: s.message_count + 1,
        sla=lambda e, s: s.sla.after_public_reply(str(e.actor_id) == s.creator_id, e.timestamp),
    ),
    Ticket.ContactMessageAdded: _set(message_count=lambda e, s: s.message_count + 1),
    Ticket.NoteAdded: _set(message_count=lambda e, s: s.message_count + 1),
    Ticket.MessageEdited: _set(),  # only the version and update time move
    Ticket.MessageDeleted: _set(message_count=lambda e, s: s.message_count - 1),
    Ticket.AttachmentAdded: _set(),
    Ticket.SlaDeadlineSet: _set(sla=lambda e, s: s.sla.with_due_times(_due_times(e), e.timestamp)),
    Ticket.SlaClockResumed: _set(
        held_seconds=lambda e, s: s.held_seconds + e.held_seconds,
        sla=lambda e, s: s.sla.resumed_to(_due_times(e), e.timestamp),
    ),
    Ticket.SlaBreached: _set(breach_recorded_for=lambda e, s: e.deadline),
    Ticket.SlaWarned: _set(warned_for=lambda e, s: e.deadline),
    Ticket.FollowUpCreated: _set(),
    Ticket.IssueLinked: _set(),
    Ticket.LinkedIssueDone: _set(),
}
for _event_type, _handler in HANDLERS.items():
    evolve.register(_event_type, _changes(_handler))


def _version_only(event: Any, summary: TicketSummary | None) -> TicketSummary | None:
    """The email channel's (and agents') bookkeeping: the ticket's version moves, its update time does
    not (a mail going out is not a change anyone made to the ticket)."""
    if summary is not None:
        summary.version = event.originator_version
    return summary


for _event_type in (
    Ticket.EmailQueued,
    Ticket.EmailSent,
    Ticket.EmailFailed,
    Ticket.MailReceived,
    Ticket.RuleRun,  # a rule's bookkeeping; the changes it makes are events of their own
):
    evolve.register(_event_type, _version_only)
# An agent's dispatch and its outcome are bookkeeping too: what the agent changes are events of their own.
for _event_type in (Ticket.AgentDispatched, Ticket.AgentCompleted, Ticket.AgentFailed):
    evolve.register(_event_type, _version_only)


# Stored ticket events are read with msgspec, as structs of their fields (`EventReader`, ten times
# faster than the library's JSON transcoder), and each struct folds with its event class's handler.
TICKET_EVENTS = EventReader(TICKET_EVENT_TYPES)
for _event_type, _struct in TICKET_EVENTS.structs.items():
    evolve.register(_struct, evolve.dispatch(_event_type))
