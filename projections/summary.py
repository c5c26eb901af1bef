"""The read side's fold: a ticket's events -> a `TicketSummary` (what a list, counter or deadline needs).

`evolve(event, summary)` has one handler per Ticket event type, registered below with the
event class it handles: from an event type, its definition is in `tickets.domain.ticket`,
its projection handler is here. The rules mirror the aggregate's (on-hold pauses the SLA
clock, a reopened ticket's resolution target is unmet again, ...); the property tests
compare every summary with the aggregate itself, so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import singledispatch
from typing import Any, TypeVar

import msgspec

from tickets.domain.sla import SlaClock, SlaDueTimes
from tickets.domain.ticket import TICKET_EVENT_TYPES, Ticket
from tickets.domain.values import Status

WORD = re.compile(r"[^\W_]+", re.UNICODE)


def words(text: str) -> list[str]:
    """The distinct lower-case words of a text, in order: what `q` matches against."""
    return list(dict.fromkeys(w.lower() for w in WORD.findall(text)))


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
    created_at: datetime
    updated_at: datetime
    version: int

    @property
    def sla(self) -> SlaClock:
        """The SLA clock, with the domain's own rules (`tickets.domain.sla`)."""
        return SlaClock(
            first_response_due_at=self.first_response_due_at,
            resolution_due_at=self.resolution_due_at,
            first_response_at=self.first_response_at,
            resolved_at=self.resolved_at,
            closed_at=self.closed_at,
            on_hold_since=self.on_hold_since,
            first_response_missed=self.first_response_missed,
            resolution_missed=self.resolution_missed,
        )

    @sla.setter
    def sla(self, clock: SlaClock) -> None:
        self.first_response_due_at = clock.first_response_due_at
        self.resolution_due_at = clock.resolution_due_at
        self.first_response_at = clock.first_response_at
        self.resolved_at = clock.resolved_at
        self.closed_at = clock.closed_at
        self.on_hold_since = clock.on_hold_since
        self.first_response_missed = clock.first_response_missed
        self.resolution_missed = clock.resolution_missed

    @property
    def sla_deadline(self) -> datetime | None:
        """The deadline clients see (None while the clock is paused on hold), as on the ticket."""
        return self.sla.running_deadline

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

    @property
    def sla_clock_running(self) -> bool:
        """True while the ticket can be, or is, breached now (see `breach_watch`)."""
        return self.breach_watch is not None

    def search_words(self) -> list[str]:
        return list(dict.fromkeys([*words(self.subject), *self.description_words]))


# The version of the fold: bump it when `evolve` or the read models' rows change meaning. Copies
# carry it in their names, so a server of another version builds its own copies from the log
# instead of serving rows folded by other rules.
FOLD_VERSION = 2

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


E = TypeVar("E")


def _on(event_type: type[E]) -> Callable[[Callable[[E, TicketSummary], None]], None]:
    """Register a handler that mutates an existing summary; the version and update time follow."""

    def register(handler: Callable[[E, TicketSummary], None]) -> None:
        def apply(event: Any, summary: TicketSummary | None) -> TicketSummary | None:
            if summary is None:
                return None
            handler(event, summary)
            summary.version = event.originator_version
            summary.updated_at = event.timestamp
            return summary

        evolve.register(event_type)(apply)

    return register


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


@_on(Ticket.SubjectChanged)
def _subject(event: Ticket.SubjectChanged, s: TicketSummary) -> None:
    s.subject = event.new


@_on(Ticket.DescriptionChanged)
def _description(event: Ticket.DescriptionChanged, s: TicketSummary) -> None:
    s.description_words = words(event.new)


@_on(Ticket.StatusChanged)
def _status(event: Ticket.StatusChanged, s: TicketSummary) -> None:
    s.sla, _paused = s.sla.after_status_change(Status(event.old), Status(event.new), event.timestamp)
    s.status = event.new


@_on(Ticket.PriorityChanged)
def _priority(event: Ticket.PriorityChanged, s: TicketSummary) -> None:
    s.priority = event.new


@_on(Ticket.CategoryChanged)
def _category(event: Ticket.CategoryChanged, s: TicketSummary) -> None:
    s.category = event.new


@_on(Ticket.TeamChanged)
def _team(event: Ticket.TeamChanged, s: TicketSummary) -> None:
    s.team_id = _id(event.new)


@_on(Ticket.ContactChanged)
def _contact(event: Ticket.ContactChanged, s: TicketSummary) -> None:
    s.contact_email, s.contact_name = event.email, event.name


@_on(Ticket.Assigned)
def _assigned(event: Ticket.Assigned, s: TicketSummary) -> None:
    s.assignee_id = _id(event.new)


@_on(Ticket.TagAdded)
def _tag_added(event: Ticket.TagAdded, s: TicketSummary) -> None:
    s.tag_ids.append(str(event.tag_id))


@_on(Ticket.TagRemoved)
def _tag_removed(event: Ticket.TagRemoved, s: TicketSummary) -> None:
    s.tag_ids.remove(str(event.tag_id))


@_on(Ticket.MessageAdded)
def _message_added(event: Ticket.MessageAdded, s: TicketSummary) -> None:
    s.message_count += 1
    s.sla = s.sla.after_public_reply(str(event.actor_id) == s.creator_id, event.timestamp)


@_on(Ticket.NoteAdded)
def _note_added(event: Ticket.NoteAdded, s: TicketSummary) -> None:
    s.message_count += 1


@_on(Ticket.MessageEdited)
def _message_edited(event: Ticket.MessageEdited, s: TicketSummary) -> None:
    """Only the update time moves."""


@_on(Ticket.MessageDeleted)
def _message_deleted(event: Ticket.MessageDeleted, s: TicketSummary) -> None:
    s.message_count -= 1


@_on(Ticket.SlaDeadlineSet)
def _sla_deadline_set(event: Ticket.SlaDeadlineSet, s: TicketSummary) -> None:
    s.sla = s.sla.with_due_times(
        SlaDueTimes(event.first_response_due_at, event.resolution_due_at), event.timestamp
    )


@_on(Ticket.SlaClockResumed)
def _sla_clock_resumed(event: Ticket.SlaClockResumed, s: TicketSummary) -> None:
    s.sla = s.sla.resumed_to(
        SlaDueTimes(event.first_response_due_at, event.resolution_due_at), event.timestamp
    )


@_on(Ticket.SlaBreached)
def _sla_breached(event: Ticket.SlaBreached, s: TicketSummary) -> None:
    s.breach_recorded_for = event.deadline


@_on(Ticket.FollowUpCreated)
def _follow_up_created(event: Ticket.FollowUpCreated, s: TicketSummary) -> None:
    """Only the update time moves."""


__all__ = [
    "FOLD_VERSION",
    "SUMMARY_DECODER",
    "SUMMARY_ENCODER",
    "TICKET_TOPICS",
    "TicketSummary",
    "evolve",
    "words",
]
