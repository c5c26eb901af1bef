"""The Ticket aggregate: a support request and its thread.

Every change is one event. Each event class says how it changes the ticket (the
decorated method body, which also runs on replay) and how it reads in the activity
timeline (`activity()`: the values it changed and a one-line summary): an event type and
its rendering live side by side. Timeline entries hold values (UUIDs, datetimes, names of
fields in snake_case); the API formats them.

Public methods check the rules first and only then trigger an event, so replaying
history never fails.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from tickets.domain.contact import contact_id_for
from tickets.domain.errors import (
    ConflictError,
    ForbiddenError,
    InvalidValueError,
    NotFoundError,
    TicketClosedError,
)
from tickets.domain.registry import NAMESPACE
from tickets.domain.sla import SlaClock, SlaDueTimes, due_times, warning_time
from tickets.domain.snapshots import TypedAggregate
from tickets.domain.values import Category, Priority, SlaTargets, Source, Status


@dataclass(frozen=True)
class Ref:
    """A member, team, tag or ticket named in a summary: the edge shows it by name."""

    kind: Literal["member", "team", "tag", "ticket", "contact", "rule"]
    id: UUID | None


SummaryValue = str | datetime | Ref | None


@dataclass(frozen=True)
class Summary:
    """A timeline entry in one line: `text` with a `{}` slot per value, which the edge writes out
    (a name for a `Ref`, a time in UTC, `-` for none)."""

    text: str
    values: tuple[SummaryValue, ...] = ()


def _changed(label: str, old: SummaryValue, new: SummaryValue) -> Summary:
    return Summary(f"{label} {{}} → {{}}", (old, new))


def _due(prefix: str, first_response_due_at: datetime | None, resolution_due_at: datetime | None) -> Summary:
    due = [
        (label, at)
        for label, at in (("first response", first_response_due_at), ("resolution", resolution_due_at))
        if at is not None
    ]
    if not due:
        return Summary(f"{prefix}no deadline")
    return Summary(prefix + "; ".join(f"{label} by {{}}" for label, _ in due), tuple(at for _, at in due))


def _contact(name: str | None, email: str | None) -> str | None:
    return " ".join(part for part in (name, f"<{email}>" if email else None) if part) or None


@dataclass(frozen=True)
class Activity:
    """One entry of the timeline, made by one event: what changed, as values, and its summary."""

    id: UUID
    type: str
    actor_id: UUID | None
    old_value: Any
    new_value: Any
    summary: Summary
    created_at: datetime
    version: int


# An attachment no message has used within this time is discarded: it can be neither used nor read.
UNUSED_ATTACHMENT_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True)
class Attachment:
    """A file added to a ticket: its metadata and the SHA-256 of its bytes, which are stored outside
    the event log (by that hash)."""

    id: UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    added_by: UUID
    added_at: datetime
    # The message that carries it; None while it waits to be used.
    message_id: UUID | None = None

    def metadata(self) -> dict[str, Any]:
        """What a message event records of it."""
        return {
            "id": self.id,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
        }


AuthorType = Literal["member", "contact"]

# Why a ticket mails its contact: an agent's public reply, the receipt of a new emailed or portal
# ticket, a resolve notice (which opens the push-back window).
MailKind = Literal["reply", "acknowledgement", "resolved"]
MAIL_KINDS: tuple[MailKind, ...] = ("reply", "acknowledgement", "resolved")
# How many ids of the thread's mails a ticket keeps for the `References` header of the next one.
MAIL_THREAD_KEPT = 20


@dataclass(frozen=True)
class Delivery:
    """Where a public message's e-mail to the contact stands: queued, sent, or failed for good."""

    status: Literal["queued", "sent", "failed"]
    attempts: int = 0
    last_error: str | None = None


@dataclass(frozen=True)
class Message:
    """A public message or an internal note in a ticket's thread (immutable: changes replace it).

    Its author is an org member, or the ticket's contact (`author_type`), whose messages are
    always public.
    """

    id: UUID
    author_id: UUID
    content: str
    is_internal_note: bool
    mentions: list[UUID]
    created_at: datetime
    edited_at: datetime | None = None
    deleted: bool = False
    author_type: AuthorType = "member"
    attachments: tuple[Attachment, ...] = ()
    # Set when the message is mailed to the contact (`Ticket.EmailQueued`), then as it goes.
    delivery: Delivery | None = None


class Ticket(TypedAggregate):
    """A customer-support ticket. Its events are the source of truth."""

    # The version of the ticket's rules and state, for snapshots (`domain/snapshots.py`).
    # 2: typed snapshots; SLA outcomes recorded; a hold moves only the targets still running.
    # 3: contact messages; the time of the latest resolution (the push-back window).
    # 4: attachments.
    # 5: e-mail: each message's delivery, the thread's mail ids.
    # 6: agents: each dispatch and where it stands.
    # 7: linked engineering issues.
    # 8: trigger rules: the (rule, trigger) pairs run, and the rule and depth of the latest run.
    # 9: the deadline last warned of (about to breach).
    class_version = 9

    # Dicts of immutable values: a copy of the ticket shares the values. Messages and attachments
    # are immutable, so a command on a ticket with thousands of messages copies no message (and a
    # thread not read yet from its snapshot stays unread: `infrastructure/snapshot_parts.py`).
    _SHALLOW_COPIED = frozenset({"messages", "attachments"})
    # The SLA clock is a frozen dataclass of times and flags: changes replace it.
    _SHARED = frozenset({"sla"})

    # ------------------------------------------------------------------ creation

    @classmethod
    def open(
        cls,
        *,
        org_id: UUID,
        ticket_number: int,
        subject: str,
        actor_id: UUID,
        at: datetime,
        description: str = "",
        priority: Priority = Priority.MEDIUM,
        category: Category = Category.GENERAL,
        source: Source = Source.API,
        team_id: UUID | None = None,
        assignee_id: UUID | None = None,
        contact_email: str | None = None,
        contact_name: str | None = None,
        tag_ids: list[UUID] | None = None,
        follow_up_of: UUID | None = None,
        sla_targets: SlaTargets | None = None,
    ) -> Ticket:
        """Open a new ticket; `sla_targets` (from the matching policy) stamps its due times."""
        due = due_times(at, timedelta(0), sla_targets)
        return cls(
            org_id=org_id,
            ticket_number=ticket_number,
            subject=subject,
            description=description,
            priority=priority.value,
            category=category.value,
            source=source.value,
            team_id=team_id,
            assignee_id=assignee_id,
            creator_id=actor_id,
            contact_email=contact_email,
            contact_name=contact_name,
            tag_ids=list(dict.fromkeys(tag_ids or [])),
            follow_up_of=follow_up_of,
            first_response_due_at=due.first_response_due_at,
            resolution_due_at=due.resolution_due_at,
            actor_id=actor_id,
            timestamp=at,
        )

    class Event(Aggregate.Event):
        """Every ticket event names who acted (None for the system itself)."""

        actor_id: UUID | None

        if TYPE_CHECKING:  # declared for the type checker only: each event class writes its own

            def activity(self) -> Activity: ...

        def _activity(self, kind: str, summary: Summary, old: Any = None, new: Any = None) -> Activity:
            """This event's timeline entry: `activity()` of each event class says what it shows."""
            return Activity(
                id=uuid5(NAMESPACE, f"{self.originator_id}:{self.originator_version}"),
                type=kind,
                actor_id=self.actor_id,
                old_value=old,
                new_value=new,
                summary=summary,
                created_at=self.timestamp,
                version=self.originator_version,
            )

    class Created(Event, Aggregate.Created):
        org_id: UUID
        ticket_number: int
        subject: str
        description: str
        priority: str
        category: str
        source: str
        team_id: UUID | None
        assignee_id: UUID | None
        creator_id: UUID
        contact_email: str | None
        contact_name: str | None
        tag_ids: list[UUID]
        follow_up_of: UUID | None
        first_response_due_at: datetime | None
        resolution_due_at: datetime | None

        def activity(self) -> Activity:
            initial = {
                "subject": self.subject,
                "description": self.description,
                "status": Status.OPEN.value,
                "priority": self.priority,
                "category": self.category,
                "source": self.source,
                "team_id": self.team_id,
                "assignee_id": self.assignee_id,
                "creator_id": self.creator_id,
                "contact_email": self.contact_email,
                "contact_name": self.contact_name,
                "tag_ids": list(self.tag_ids),
                "follow_up_of": self.follow_up_of,
                "first_response_due_at": self.first_response_due_at,
                "resolution_due_at": self.resolution_due_at,
            }
            return self._activity("created", Summary('created "{}"', (self.subject,)), new=initial)

    @event(Created)
    def __init__(
        self,
        org_id: UUID,
        ticket_number: int,
        subject: str,
        description: str,
        priority: str,
        category: str,
        source: str,
        team_id: UUID | None,
        assignee_id: UUID | None,
        creator_id: UUID,
        contact_email: str | None,
        contact_name: str | None,
        tag_ids: list[UUID],
        follow_up_of: UUID | None,
        first_response_due_at: datetime | None,
        resolution_due_at: datetime | None,
        actor_id: UUID,
        timestamp: datetime,
    ) -> None:
        self.org_id = org_id
        self.ticket_number = ticket_number
        self.subject = subject
        self.description = description
        self.status = Status.OPEN
        self.priority = Priority(priority)
        self.category = Category(category)
        self.source = Source(source)
        self.team_id = team_id
        self.assignee_id = assignee_id
        self.creator_id = creator_id
        self.contact_email = contact_email
        self.contact_name = contact_name
        self.tag_ids: list[UUID] = list(tag_ids)
        self.follow_up_of = follow_up_of
        self.follow_up_ids: list[UUID] = []
        # A dict; loaded from a snapshot, a mapping that reads the thread when first used.
        self.messages: MutableMapping[str, Message] = {}
        self.message_count = 0
        self.attachments: dict[str, Attachment] = {}
        self.deleted = False
        self.sla = SlaClock(first_response_due_at=first_response_due_at, resolution_due_at=resolution_due_at)
        self.held_seconds = 0.0
        self.sla_breached_deadline: datetime | None = None
        self.sla_warned_deadline: datetime | None = None
        # When the ticket was last resolved, while it stays resolved: the push-back window's start.
        self.resolved_since: datetime | None = None
        # The Message-IDs of the mails of this ticket's thread, sent and received, newest last.
        self.mail_thread: list[str] = []
        # Engineering issues linked to it, and those of them whose completion it was told of.
        self.linked_issue_ids: list[UUID] = []
        self.done_issue_ids: list[UUID] = []
        # Each agent dispatch of this ticket: dispatch id -> {"agent_id", "status"} (dispatched,
        # completed, failed); plain strings, so snapshots hold them as they are.
        self.agent_dispatches: dict[str, dict[str, str]] = {}
        # Trigger rules (`domain/rules.py`): "<rule id>:<trigger version>" -> outcome, for each rule run on
        # this ticket (so each runs once per trigger), and the rule whose changes are being recorded
        # now with the depth of its chain (so a rule's own changes do not trigger it, and chains end).
        self.rule_runs: dict[str, str] = {}
        self.rule_actor: UUID | None = None
        self.rule_depth = 0

    # ------------------------------------------------------------------ derived state

    @property
    def contact_id(self) -> UUID | None:
        """The contact who asked: derived from the ticket's e-mail, so every ticket has one when it has an address."""
        return contact_id_for(self.org_id, self.contact_email) if self.contact_email else None

    @property
    def sla_deadline(self) -> datetime | None:
        """The earliest SLA target not yet met, or None."""
        return self.sla.deadline

    def is_sla_breached(self, now: datetime) -> bool:
        """True when `now` is past the deadline and the SLA clock is running."""
        return self.sla.is_breached(self.status, now)

    @property
    def first_response_due_at(self) -> datetime | None:
        return self.sla.first_response_due_at

    @property
    def resolution_due_at(self) -> datetime | None:
        return self.sla.resolution_due_at

    @property
    def first_response_at(self) -> datetime | None:
        return self.sla.first_response_at

    @property
    def resolved_at(self) -> datetime | None:
        return self.sla.resolved_at

    @property
    def closed_at(self) -> datetime | None:
        return self.sla.closed_at

    @property
    def held(self) -> timedelta:
        return timedelta(seconds=self.held_seconds)

    def visible_messages(self, include_internal: bool = True) -> list[Message]:
        """The thread, oldest first, without deleted messages."""
        return [
            m
            for m in self.messages.values()
            if not m.deleted and (include_internal or not m.is_internal_note)
        ]

    # ------------------------------------------------------------------ guards

    def _ensure_changeable(self) -> None:
        if self.deleted:
            raise NotFoundError(f"ticket {self.id} not found")
        if self.status == Status.CLOSED:
            raise TicketClosedError(
                f"ticket #{self.ticket_number} is closed; create a follow-up ticket instead"
            )

    # ------------------------------------------------------------------ field changes

    def change_subject(self, subject: str, actor_id: UUID, at: datetime) -> None:
        self._ensure_changeable()
        if subject != self.subject:
            self._subject_changed(old=self.subject, new=subject, actor_id=actor_id, timestamp=at)

    class SubjectChanged(Event):
        old: str
        new: str

        def activity(self) -> Activity:
            return self._activity(
                "subject_changed", Summary('subject "{}" → "{}"', (self.old, self.new)), self.old, self.new
            )

    @event(SubjectChanged)
    def _subject_changed(self, old: str, new: str, actor_id: UUID, timestamp: datetime) -> None:
        self.subject = new

    def change_description(self, description: str, actor_id: UUID, at: datetime) -> None:
        self._ensure_changeable()
        if description != self.description:
            self._description_changed(old=self.description, new=description, actor_id=actor_id, timestamp=at)

    class DescriptionChanged(Event):
        old: str
        new: str

        def activity(self) -> Activity:
            return self._activity("description_changed", Summary("description edited"), self.old, self.new)

    @event(DescriptionChanged)
    def _description_changed(self, old: str, new: str, actor_id: UUID, timestamp: datetime) -> None:
        self.description = new

    def change_status(self, status: Status, actor_id: UUID, at: datetime) -> None:
        """Move to `status`. Any open status may go to any other; closed is final.

        Leaving `on_hold` first records that the SLA clock resumed, with the due times it moved.
        """
        self._ensure_changeable()
        if status == self.status:
            return
        if self.status == Status.ON_HOLD and self.sla.on_hold_since is not None:
            resumed, held = self.sla.resumed(at)
            self._sla_clock_resumed(
                held_seconds=held.total_seconds(),
                first_response_due_at=resumed.first_response_due_at,
                resolution_due_at=resumed.resolution_due_at,
                old_deadline=self.sla.deadline,
                actor_id=actor_id,
                timestamp=at,
            )
        self._status_changed(old=self.status.value, new=status.value, actor_id=actor_id, timestamp=at)
        # A member resolving the ticket tells the contact, who may answer within the push-back window.
        if status == Status.RESOLVED and actor_id is not None and actor_id != self.contact_id:
            self.queue_email("resolved", None, at)

    class SlaClockResumed(Event):
        """The hold ended: the targets still running when it began moved later by the time held."""

        held_seconds: float
        first_response_due_at: datetime | None
        resolution_due_at: datetime | None
        old_deadline: datetime | None

        def activity(self) -> Activity:
            return self._activity(
                "sla_clock_resumed",
                _due("SLA clock resumed after hold; ", self.first_response_due_at, self.resolution_due_at),
                self.old_deadline,
                {
                    "held_seconds": self.held_seconds,
                    "first_response_due_at": self.first_response_due_at,
                    "resolution_due_at": self.resolution_due_at,
                },
            )

    @event(SlaClockResumed)
    def _sla_clock_resumed(
        self,
        held_seconds: float,
        first_response_due_at: datetime | None,
        resolution_due_at: datetime | None,
        old_deadline: datetime | None,
        actor_id: UUID,
        timestamp: datetime,
    ) -> None:
        self.sla = self.sla.resumed_to(SlaDueTimes(first_response_due_at, resolution_due_at), timestamp)
        self.held_seconds += held_seconds

    class StatusChanged(Event):
        old: str
        new: str

        def activity(self) -> Activity:
            return self._activity(
                "status_changed", _changed("status", self.old, self.new), self.old, self.new
            )

    @event(StatusChanged)
    def _status_changed(self, old: str, new: str, actor_id: UUID | None, timestamp: datetime) -> None:
        self.sla, paused = self.sla.after_status_change(Status(old), Status(new), timestamp)
        self.held_seconds += paused.total_seconds()
        self.status = Status(new)
        self.resolved_since = timestamp if self.status == Status.RESOLVED else None

    # ------------------------------------------------------------------ the push-back window

    def push_back_window_over(self, window: timedelta, now: datetime) -> bool:
        """Resolved for `window` or longer: the contact's time to say it is not solved has run out."""
        return (
            not self.deleted
            and self.status == Status.RESOLVED
            and self.resolved_since is not None
            and now >= self.resolved_since + window
        )

    def close_after_window(self, window: timedelta, now: datetime) -> bool:
        """Close a ticket resolved for `window` or longer, as the system; returns whether it did.

        Run again (by a second closer, or after a crash) it finds the ticket closed and does nothing.
        """
        if not self.push_back_window_over(window, now):
            return False
        self._status_changed(old=self.status.value, new=Status.CLOSED.value, actor_id=None, timestamp=now)
        return True

    def change_priority(
        self, priority: Priority, sla_targets: SlaTargets | None, actor_id: UUID, at: datetime
    ) -> None:
        """Change the priority and re-stamp the SLA due times from the matching policy."""
        self._ensure_changeable()
        if priority != self.priority:
            self._priority_changed(
                old=self.priority.value, new=priority.value, actor_id=actor_id, timestamp=at
            )
            self.apply_sla_targets(sla_targets, actor_id, at)

    class PriorityChanged(Event):
        old: str
        new: str

        def activity(self) -> Activity:
            return self._activity(
                "priority_changed", _changed("priority", self.old, self.new), self.old, self.new
            )

    @event(PriorityChanged)
    def _priority_changed(self, old: str, new: str, actor_id: UUID, timestamp: datetime) -> None:
        self.priority = Priority(new)

    def change_category(self, category: Category, actor_id: UUID, at: datetime) -> None:
        self._ensure_changeable()
        if category != self.category:
            self._category_changed(
                old=self.category.value, new=category.value, actor_id=actor_id, timestamp=at
            )

    class CategoryChanged(Event):
        old: str
        new: str

        def activity(self) -> Activity:
            return self._activity(
                "category_changed", _changed("category", self.old, self.new), self.old, self.new
            )

    @event(CategoryChanged)
    def _category_changed(self, old: str, new: str, actor_id: UUID, timestamp: datetime) -> None:
        self.category = Category(new)

    def change_team(
        self, team_id: UUID | None, sla_targets: SlaTargets | None, actor_id: UUID, at: datetime
    ) -> None:
        """Move the ticket to another team (or none) and re-stamp the SLA due times."""
        self._ensure_changeable()
        if team_id != self.team_id:
            self._team_changed(old=self.team_id, new=team_id, actor_id=actor_id, timestamp=at)
            self.apply_sla_targets(sla_targets, actor_id, at)

    class TeamChanged(Event):
        old: UUID | None
        new: UUID | None

        def activity(self) -> Activity:
            summary = _changed("team", Ref("team", self.old), Ref("team", self.new))
            return self._activity("team_changed", summary, self.old, self.new)

    @event(TeamChanged)
    def _team_changed(self, old: UUID | None, new: UUID | None, actor_id: UUID, timestamp: datetime) -> None:
        self.team_id = new

    def change_contact(self, email: str | None, name: str | None, actor_id: UUID, at: datetime) -> None:
        self._ensure_changeable()
        if (email, name) != (self.contact_email, self.contact_name):
            self._contact_changed(
                old_email=self.contact_email,
                old_name=self.contact_name,
                email=email,
                name=name,
                actor_id=actor_id,
                timestamp=at,
            )

    class ContactChanged(Event):
        old_email: str | None
        old_name: str | None
        email: str | None
        name: str | None

        def activity(self) -> Activity:
            return self._activity(
                "contact_changed",
                _changed("contact", _contact(self.old_name, self.old_email), _contact(self.name, self.email)),
                {"email": self.old_email, "name": self.old_name},
                {"email": self.email, "name": self.name},
            )

    @event(ContactChanged)
    def _contact_changed(
        self,
        old_email: str | None,
        old_name: str | None,
        email: str | None,
        name: str | None,
        actor_id: UUID,
        timestamp: datetime,
    ) -> None:
        self.contact_email = email
        self.contact_name = name

    def assign(self, assignee_id: UUID | None, actor_id: UUID, at: datetime) -> None:
        """Make `assignee_id` (an org member, checked by the caller) responsible; None unassigns."""
        self._ensure_changeable()
        if assignee_id != self.assignee_id:
            self._assigned(old=self.assignee_id, new=assignee_id, actor_id=actor_id, timestamp=at)

    class Assigned(Event):
        old: UUID | None
        new: UUID | None

        def activity(self) -> Activity:
            summary = _changed("assignee", Ref("member", self.old), Ref("member", self.new))
            return self._activity("assigned", summary, self.old, self.new)

    @event(Assigned)
    def _assigned(self, old: UUID | None, new: UUID | None, actor_id: UUID, timestamp: datetime) -> None:
        self.assignee_id = new

    # ------------------------------------------------------------------ tags

    def set_tags(self, tag_ids: list[UUID], actor_id: UUID, at: datetime) -> None:
        """Replace the tag set, recording one event per tag added or removed."""
        self._ensure_changeable()
        wanted = list(dict.fromkeys(tag_ids))
        for tag_id in [t for t in self.tag_ids if t not in wanted]:
            self._tag_removed(tag_id=tag_id, actor_id=actor_id, timestamp=at)
        for tag_id in [t for t in wanted if t not in self.tag_ids]:
            self._tag_added(tag_id=tag_id, actor_id=actor_id, timestamp=at)

    class TagAdded(Event):
        tag_id: UUID

        def activity(self) -> Activity:
            return self._activity(
                "tag_added", Summary("tag added {}", (Ref("tag", self.tag_id),)), new=self.tag_id
            )

    @event(TagAdded)
    def _tag_added(self, tag_id: UUID, actor_id: UUID, timestamp: datetime) -> None:
        self.tag_ids.append(tag_id)

    class TagRemoved(Event):
        tag_id: UUID

        def activity(self) -> Activity:
            return self._activity(
                "tag_removed", Summary("tag removed {}", (Ref("tag", self.tag_id),)), self.tag_id
            )

    @event(TagRemoved)
    def _tag_removed(self, tag_id: UUID, actor_id: UUID, timestamp: datetime) -> None:
        self.tag_ids.remove(tag_id)

    # ------------------------------------------------------------------ thread

    def add_message(
        self,
        message_id: UUID,
        author_id: UUID,
        content: str,
        is_internal_note: bool,
        mentions: list[UUID],
        at: datetime,
        attachment_ids: Sequence[UUID] = (),
    ) -> Message:
        """Append a public message or an internal note to the thread, with attachments of this
        ticket that no message uses yet (each used once, within `UNUSED_ATTACHMENT_LIFETIME`)."""
        self._ensure_changeable()
        attachments = [self._unused_attachment(a, at).metadata() for a in dict.fromkeys(attachment_ids)]
        trigger = self._note_added if is_internal_note else self._message_added
        trigger(
            message_id=message_id,
            content=content,
            mentions=mentions,
            attachments=attachments,
            actor_id=author_id,
            timestamp=at,
        )
        if not is_internal_note:
            self.queue_email("reply", message_id, at)
        return self.messages[str(message_id)]

    class MessageAdded(Event):
        """A public reply. Version 2 added `attachments`, the metadata of each file it carries
        (`Attachment.metadata()`); version-1 events, stored before attachments, load with none."""

        class_version = 2
        message_id: UUID
        content: str
        mentions: list[UUID]
        attachments: list[dict[str, Any]]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["attachments"] = []

        def activity(self) -> Activity:
            return self._activity("message_added", Summary("public reply"), new=self.message_id)

    @event(MessageAdded)
    def _message_added(
        self,
        message_id: UUID,
        content: str,
        mentions: list[UUID],
        attachments: list[dict[str, Any]],
        actor_id: UUID,
        timestamp: datetime,
    ) -> None:
        self._append_message(message_id, actor_id, content, False, mentions, attachments, timestamp)
        self.sla = self.sla.after_public_reply(actor_id == self.creator_id, timestamp)

    def add_contact_message(
        self, message_id: UUID, content: str, at: datetime, attachment_ids: Sequence[UUID] = ()
    ) -> Message:
        """The ticket's contact writes in the thread: always public, never a first response; with
        attachments the contact added to this ticket and no message uses yet.

        A reply says the ticket needs attention again: `pending` and `resolved` go back to `open`
        (`on_hold` stays: the team waits for someone else). A closed ticket takes no reply; the
        caller opens a follow-up instead.
        """
        self._ensure_changeable()
        if self.contact_id is None:
            raise ForbiddenError(f"ticket #{self.ticket_number} has no contact")
        attachments = [self._unused_attachment(a, at).metadata() for a in dict.fromkeys(attachment_ids)]
        if any(self.attachments[str(a["id"])].added_by != self.contact_id for a in attachments):
            raise InvalidValueError("a contact's reply can carry only files the contact added")
        self._contact_message_added(
            message_id=message_id,
            content=content,
            attachments=attachments,
            actor_id=self.contact_id,
            timestamp=at,
        )
        if self.status in (Status.PENDING, Status.RESOLVED):
            self.change_status(Status.OPEN, self.contact_id, at)
        return self.messages[str(message_id)]

    class ContactMessageAdded(Event):
        message_id: UUID
        content: str
        attachments: list[dict[str, Any]]

        def activity(self) -> Activity:
            return self._activity(
                "contact_message_added", Summary("reply from the contact"), new=self.message_id
            )

    @event(ContactMessageAdded)
    def _contact_message_added(
        self,
        message_id: UUID,
        content: str,
        attachments: list[dict[str, Any]],
        actor_id: UUID,
        timestamp: datetime,
    ) -> None:
        self._append_message(
            message_id, actor_id, content, False, [], attachments, timestamp, author_type="contact"
        )

    class NoteAdded(Event):
        """An internal note; version 2 added `attachments`, as `MessageAdded`."""

        class_version = 2
        message_id: UUID
        content: str
        mentions: list[UUID]
        attachments: list[dict[str, Any]]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["attachments"] = []

        def activity(self) -> Activity:
            return self._activity("note_added", Summary("internal note"), new=self.message_id)

    @event(NoteAdded)
    def _note_added(
        self,
        message_id: UUID,
        content: str,
        mentions: list[UUID],
        attachments: list[dict[str, Any]],
        actor_id: UUID,
        timestamp: datetime,
    ) -> None:
        self._append_message(message_id, actor_id, content, True, mentions, attachments, timestamp)

    def _append_message(
        self,
        message_id: UUID,
        author_id: UUID,
        content: str,
        is_internal_note: bool,
        mentions: list[UUID],
        attachments: list[dict[str, Any]],
        at: datetime,
        author_type: AuthorType = "member",
    ) -> None:
        attached = []
        for item in attachments:
            key = str(item["id"])
            self.attachments[key] = replace(self.attachments[key], message_id=message_id)
            attached.append(self.attachments[key])
        self.messages[str(message_id)] = Message(
            id=message_id,
            author_id=author_id,
            content=content,
            is_internal_note=is_internal_note,
            mentions=list(mentions),
            created_at=at,
            author_type=author_type,
            attachments=tuple(attached),
        )
        self.message_count += 1

    def message(self, message_id: UUID) -> Message:
        """The live message with this id, or NotFoundError."""
        found = self.messages.get(str(message_id))
        if found is None or found.deleted:
            raise NotFoundError(f"message {message_id} not found on ticket #{self.ticket_number}")
        return found

    def edit_message(
        self, message_id: UUID, editor_id: UUID, content: str, mentions: list[UUID], at: datetime
    ) -> Message:
        """Change a message's content; only its author may."""
        self._ensure_changeable()
        message = self.message(message_id)
        if message.author_id != editor_id:
            raise ForbiddenError("only the author of a message may edit it")
        if content != message.content:
            self._message_edited(
                message_id=message_id,
                old=message.content,
                new=content,
                mentions=mentions,
                actor_id=editor_id,
                timestamp=at,
            )
        return self.messages[str(message_id)]

    class MessageEdited(Event):
        message_id: UUID
        old: str
        new: str
        mentions: list[UUID]

        def activity(self) -> Activity:
            return self._activity("message_edited", Summary("message edited"), self.old, self.new)

    @event(MessageEdited)
    def _message_edited(
        self, message_id: UUID, old: str, new: str, mentions: list[UUID], actor_id: UUID, timestamp: datetime
    ) -> None:
        key = str(message_id)
        self.messages[key] = replace(
            self.messages[key], content=new, mentions=list(mentions), edited_at=timestamp
        )

    def delete_message(self, message_id: UUID, actor_id: UUID, at: datetime) -> None:
        """Remove a message from the thread; only its author may. Its events stay."""
        self._ensure_changeable()
        message = self.message(message_id)
        if message.author_id != actor_id:
            raise ForbiddenError("only the author of a message may delete it")
        self._message_deleted(message_id=message_id, actor_id=actor_id, timestamp=at)

    class MessageDeleted(Event):
        message_id: UUID

        def activity(self) -> Activity:
            return self._activity("message_deleted", Summary("message deleted"), self.message_id)

    @event(MessageDeleted)
    def _message_deleted(self, message_id: UUID, actor_id: UUID, timestamp: datetime) -> None:
        key = str(message_id)
        self.messages[key] = replace(self.messages[key], deleted=True)
        self.message_count -= 1

    # ------------------------------------------------------------------ attachments

    def add_attachment(
        self,
        attachment_id: UUID,
        filename: str,
        content_type: str,
        size: int,
        sha256: str,
        actor_id: UUID,
        at: datetime,
    ) -> Attachment:
        """Record a file stored for this ticket; a message can then carry it (`add_message`)."""
        self._ensure_changeable()
        self._attachment_added(
            attachment_id=attachment_id,
            filename=filename,
            content_type=content_type,
            size=size,
            sha256=sha256,
            actor_id=actor_id,
            timestamp=at,
        )
        return self.attachments[str(attachment_id)]

    class AttachmentAdded(Event):
        """A file was stored for the ticket: its metadata and hash (the bytes are not in the log)."""

        attachment_id: UUID
        filename: str
        content_type: str
        size: int
        sha256: str

        def activity(self) -> Activity:
            added = {
                "id": self.attachment_id,
                "filename": self.filename,
                "content_type": self.content_type,
                "size": self.size,
                "sha256": self.sha256,
            }
            return self._activity(
                "attachment_added", Summary('attachment "{}" added', (self.filename,)), new=added
            )

    @event(AttachmentAdded)
    def _attachment_added(
        self,
        attachment_id: UUID,
        filename: str,
        content_type: str,
        size: int,
        sha256: str,
        actor_id: UUID,
        timestamp: datetime,
    ) -> None:
        self.attachments[str(attachment_id)] = Attachment(
            id=attachment_id,
            filename=filename,
            content_type=content_type,
            size=size,
            sha256=sha256,
            added_by=actor_id,
            added_at=timestamp,
        )

    def _unused_attachment(self, attachment_id: UUID, at: datetime) -> Attachment:
        found = self.attachments.get(str(attachment_id))
        if found is None:
            raise InvalidValueError(
                f"attachment {attachment_id} is not an attachment of ticket #{self.ticket_number}"
            )
        if found.message_id is not None:
            raise ConflictError(
                f"attachment {attachment_id} is already attached to message {found.message_id}"
            )
        if self._expired(found, at):
            raise InvalidValueError(
                f"attachment {attachment_id} was not used within "
                f"{UNUSED_ATTACHMENT_LIFETIME // timedelta(hours=1)} hours and has been "
                "discarded; upload it again"
            )
        return found

    @staticmethod
    def _expired(attachment: Attachment, now: datetime) -> bool:
        return attachment.message_id is None and now - attachment.added_at > UNUSED_ATTACHMENT_LIFETIME

    def is_live(self, attachment: Attachment, now: datetime) -> bool:
        """Whether the attachment can be read: the ticket is not deleted, and the attachment waits to be
        used (for `UNUSED_ATTACHMENT_LIFETIME`) or a message that is not deleted carries it."""
        if self.deleted or self._expired(attachment, now):
            return False
        return attachment.message_id is None or not self.messages[str(attachment.message_id)].deleted

    def is_public(self, attachment: Attachment) -> bool:
        """Whether a public message that is not deleted carries the attachment (what a contact may see)."""
        message = self.messages.get(str(attachment.message_id)) if attachment.message_id else None
        return message is not None and not message.deleted and not message.is_internal_note

    def live_attachment(self, attachment_id: UUID, now: datetime) -> Attachment:
        """The attachment with this id if it can be read (`is_live`), or NotFoundError."""
        found = self.attachments.get(str(attachment_id))
        if found is None or not self.is_live(found, now):
            raise NotFoundError(f"attachment {attachment_id} not found")
        return found

    def live_attachments(self, now: datetime) -> list[Attachment]:
        """Every attachment that can be read at `now`."""
        return [a for a in self.attachments.values() if self.is_live(a, now)]

    # ------------------------------------------------------------------ SLA

    def apply_sla_targets(self, targets: SlaTargets | None, actor_id: UUID, at: datetime) -> None:
        """Stamp the due times of the matching policy (None clears them)."""
        due = due_times(self.created_on, self.held, targets)
        current = SlaDueTimes(self.sla.first_response_due_at, self.sla.resolution_due_at)
        if due != current:
            self._sla_deadline_set(
                first_response_due_at=due.first_response_due_at,
                resolution_due_at=due.resolution_due_at,
                old_deadline=self.sla_deadline,
                actor_id=actor_id,
                timestamp=at,
            )

    class SlaDeadlineSet(Event):
        first_response_due_at: datetime | None
        resolution_due_at: datetime | None
        old_deadline: datetime | None

        def activity(self) -> Activity:
            return self._activity(
                "sla_deadline_set",
                _due("SLA: ", self.first_response_due_at, self.resolution_due_at),
                self.old_deadline,
                {
                    "first_response_due_at": self.first_response_due_at,
                    "resolution_due_at": self.resolution_due_at,
                },
            )

    @event(SlaDeadlineSet)
    def _sla_deadline_set(
        self,
        first_response_due_at: datetime | None,
        resolution_due_at: datetime | None,
        old_deadline: datetime | None,
        actor_id: UUID,
        timestamp: datetime,
    ) -> None:
        self.sla = self.sla.with_due_times(SlaDueTimes(first_response_due_at, resolution_due_at), timestamp)

    def record_sla_breach(self, now: datetime) -> bool:
        """Record, once per deadline, that the SLA deadline has passed. Returns whether it did."""
        deadline = self.sla.breach_watch(self.status)
        if self.deleted or deadline is None or not self.is_sla_breached(now):
            return False
        if self.sla_breached_deadline == deadline:
            return False
        self._sla_breached(deadline=deadline, actor_id=None, timestamp=now)
        return True

    def record_sla_warning(self, now: datetime, percent: int | None) -> bool:
        """Record, once per deadline, that `percent` of the time to it has gone while the clock runs
        (an about-to-breach warning; None: the org wants none). Returns whether it did."""
        deadline = self.sla.shown_deadline(self.status)
        if self.deleted or percent is None or deadline is None or now >= deadline:
            return False
        if deadline in (self.sla_warned_deadline, self.sla_breached_deadline):
            return False
        # Holds move the due times on by their length: the window starts that much after creation.
        if now < warning_time(deadline, self.created_on + self.held, percent):
            return False
        self._sla_warned(deadline=deadline, percent=percent, actor_id=None, timestamp=now)
        return True

    class SlaWarned(Event):
        deadline: datetime
        percent: int

        def activity(self) -> Activity:
            return self._activity(
                "sla_warning",
                Summary(
                    f"SLA deadline approaching ({self.percent}% of the time gone; due {{}})", (self.deadline,)
                ),
                new=self.deadline,
            )

    @event(SlaWarned)
    def _sla_warned(
        self, deadline: datetime, percent: int, actor_id: UUID | None, timestamp: datetime
    ) -> None:
        self.sla_warned_deadline = deadline

    class SlaBreached(Event):
        deadline: datetime

        def activity(self) -> Activity:
            return self._activity(
                "sla_breached", Summary("SLA breached (deadline {})", (self.deadline,)), new=self.deadline
            )

    @event(SlaBreached)
    def _sla_breached(self, deadline: datetime, actor_id: UUID | None, timestamp: datetime) -> None:
        self.sla_breached_deadline = deadline

    # ------------------------------------------------------------------ lifecycle

    def delete(self, actor_id: UUID, at: datetime) -> None:
        """Soft-delete: the ticket disappears from the API; its events stay."""
        if self.deleted:
            raise NotFoundError(f"ticket {self.id} not found")
        self._deleted(actor_id=actor_id, timestamp=at)

    class Deleted(Event):
        def activity(self) -> Activity:
            return self._activity("deleted", Summary("deleted"))

    @event(Deleted)
    def _deleted(self, actor_id: UUID, timestamp: datetime) -> None:
        self.deleted = True

    def record_follow_up(self, follow_up_id: UUID, actor_id: UUID, at: datetime) -> None:
        """Link a follow-up ticket; only a closed ticket gets one."""
        if self.deleted:
            raise NotFoundError(f"ticket {self.id} not found")
        if self.status != Status.CLOSED:
            raise TicketClosedError(
                f"ticket #{self.ticket_number} is {self.status.value}, not closed; change it directly"
            )
        self._follow_up_created(follow_up_id=follow_up_id, actor_id=actor_id, timestamp=at)

    class FollowUpCreated(Event):
        follow_up_id: UUID

        def activity(self) -> Activity:
            summary = Summary("follow-up ticket {} created", (Ref("ticket", self.follow_up_id),))
            return self._activity("follow_up_created", summary, new=self.follow_up_id)

    @event(FollowUpCreated)
    def _follow_up_created(self, follow_up_id: UUID, actor_id: UUID, timestamp: datetime) -> None:
        self.follow_up_ids.append(follow_up_id)

    # ------------------------------------------------------------------ e-mail

    def queue_email(self, kind: MailKind, message_id: UUID | None, at: datetime) -> bool:
        """Mail the contact (if the ticket has one): the email channel's sender follows this event.

        Only these events send mail, so the history written before e-mail existed sends none.
        """
        if self.contact_email is None or self.deleted:
            return False
        self._email_queued(
            kind=kind, message_id=message_id, to=self.contact_email, actor_id=None, timestamp=at
        )
        return True

    class EmailQueued(Event):
        """A mail to the contact is to be sent: a reply (`message_id`), a receipt, a resolve notice."""

        kind: str
        message_id: UUID | None
        to: str

        def activity(self) -> Activity:
            return self._activity(
                "email_queued",
                Summary(f"{_MAIL_NOUNS[self.kind]} to {{}} queued", (self.to,)),
                new=self.message_id,
            )

    @event(EmailQueued)
    def _email_queued(
        self, kind: str, message_id: UUID | None, to: str, actor_id: None, timestamp: datetime
    ) -> None:
        if message_id is not None and (message := self.messages.get(str(message_id))) is not None:
            self.messages[str(message_id)] = replace(message, delivery=Delivery("queued"))

    def record_email_sent(
        self, kind: str, message_id: UUID | None, to: str, mail_message_id: str, attempt: int, at: datetime
    ) -> None:
        """The mail went to the SMTP server (recorded by the sender; also on a closed ticket)."""
        self._email_sent(
            kind=kind,
            message_id=message_id,
            to=to,
            mail_message_id=mail_message_id,
            attempt=attempt,
            actor_id=None,
            timestamp=at,
        )

    class EmailSent(Event):
        kind: str
        message_id: UUID | None
        to: str
        mail_message_id: str
        attempt: int

        def activity(self) -> Activity:
            return self._activity(
                "email_sent",
                Summary(f"{_MAIL_NOUNS[self.kind]} sent to {{}}", (self.to,)),
                new={
                    "message_id": self.message_id,
                    "mail_message_id": self.mail_message_id,
                    "attempt": self.attempt,
                },
            )

    @event(EmailSent)
    def _email_sent(
        self,
        kind: str,
        message_id: UUID | None,
        to: str,
        mail_message_id: str,
        attempt: int,
        actor_id: None,
        timestamp: datetime,
    ) -> None:
        self._delivered(message_id, Delivery("sent", attempt))
        self.mail_thread = [*self.mail_thread, mail_message_id][-MAIL_THREAD_KEPT:]

    def record_email_failed(
        self, kind: str, message_id: UUID | None, to: str, error: str, attempt: int, final: bool, at: datetime
    ) -> None:
        """An attempt to send failed; `final` when no attempt follows."""
        self._email_failed(
            kind=kind,
            message_id=message_id,
            to=to,
            error=error,
            attempt=attempt,
            final=final,
            actor_id=None,
            timestamp=at,
        )

    class EmailFailed(Event):
        kind: str
        message_id: UUID | None
        to: str
        error: str
        attempt: int
        final: bool

        def activity(self) -> Activity:
            outcome = "failed" if self.final else "failed, will retry"
            return self._activity(
                "email_failed",
                Summary(f"{_MAIL_NOUNS[self.kind]} to {{}} {outcome}: {{}}", (self.to, self.error)),
                new={"message_id": self.message_id, "attempt": self.attempt, "final": self.final},
            )

    @event(EmailFailed)
    def _email_failed(
        self,
        kind: str,
        message_id: UUID | None,
        to: str,
        error: str,
        attempt: int,
        final: bool,
        actor_id: None,
        timestamp: datetime,
    ) -> None:
        self._delivered(message_id, Delivery("failed" if final else "queued", attempt, error))

    def _delivered(self, message_id: UUID | None, delivery: Delivery) -> None:
        if message_id is not None and (message := self.messages.get(str(message_id))) is not None:
            self.messages[str(message_id)] = replace(message, delivery=delivery)

    # ------------------------------------------------------------------ trigger rules

    def rule_ran(self, rule_id: UUID, trigger_version: int) -> bool:
        """Whether the rule already ran (or was stopped, or failed) for the trigger at that version."""
        return f"{rule_id}:{trigger_version}" in self.rule_runs

    def trigger_depth(self, actor_id: UUID | None) -> int:
        """How deep in a chain of rules an event by `actor_id` recorded now is: a rule's changes are at
        the depth it ran at; anyone else's at 0."""
        return self.rule_depth if actor_id is not None and actor_id == self.rule_actor else 0

    def record_rule_run(
        self,
        rule_id: UUID,
        trigger_version: int,
        depth: int,
        outcome: Literal["applied", "failed", "stopped"],
        detail: str | None,
        at: datetime,
    ) -> None:
        """Record that a rule ran for a trigger: its changes (recorded next, by the rule) follow this."""
        if self.rule_ran(rule_id, trigger_version):
            raise ConflictError(f"rule {rule_id} already ran for version {trigger_version}")
        self._rule_run(
            rule_id=rule_id,
            trigger_version=trigger_version,
            depth=depth,
            outcome=outcome,
            detail=detail,
            actor_id=rule_id,
            timestamp=at,
        )

    class RuleRun(Event):
        """A trigger rule ran for the trigger recorded at `trigger_version`: `applied` (its changes
        follow, by the rule), `failed` (`detail` says why; nothing changed) or `stopped` (the chain of
        rules was too deep; a note follows)."""

        rule_id: UUID
        trigger_version: int
        depth: int
        outcome: str
        detail: str | None

        def activity(self) -> Activity:
            rule = Ref("rule", self.rule_id)
            if self.outcome == "applied":
                summary = Summary("rule {} applied", (rule,))
            elif self.outcome == "failed":
                summary = Summary("rule {} failed: {}", (rule, self.detail))
            else:
                summary = Summary("rule {} not run: {}", (rule, self.detail))
            detail = {"trigger_version": self.trigger_version, "depth": self.depth, "outcome": self.outcome}
            return self._activity("rule_run", summary, new={"rule_id": self.rule_id, **detail})

    @event(RuleRun)
    def _rule_run(
        self,
        rule_id: UUID,
        trigger_version: int,
        depth: int,
        outcome: str,
        detail: str | None,
        actor_id: UUID,
        timestamp: datetime,
    ) -> None:
        self.rule_runs[f"{rule_id}:{trigger_version}"] = outcome
        self.rule_actor = rule_id
        self.rule_depth = depth

    def record_mail_received(
        self, mail_message_id: str, message_id: UUID | None, dropped: list[dict[str, Any]], at: datetime
    ) -> None:
        """A mail made this ticket (`message_id` None) or its message; `dropped`: parts not kept
        (`{filename, size, reason}`), which only members see, in the timeline."""
        self._mail_received(
            mail_message_id=mail_message_id,
            message_id=message_id,
            dropped=dropped,
            actor_id=self.contact_id,
            timestamp=at,
        )

    class MailReceived(Event):
        mail_message_id: str
        message_id: UUID | None
        dropped: list[dict[str, Any]]

        def activity(self) -> Activity:
            dropped = "; ".join(f"{d['filename']} dropped: {d['reason']}" for d in self.dropped)
            return self._activity(
                "email_received",
                Summary("received by e-mail" + (f" ({dropped})" if dropped else "")),
                new={
                    "mail_message_id": self.mail_message_id,
                    "message_id": self.message_id,
                    "dropped": self.dropped,
                },
            )

    @event(MailReceived)
    def _mail_received(
        self,
        mail_message_id: str,
        message_id: UUID | None,
        dropped: list[dict[str, Any]],
        actor_id: UUID | None,
        timestamp: datetime,
    ) -> None:
        self.mail_thread = [*self.mail_thread, mail_message_id][-MAIL_THREAD_KEPT:]

    # ------------------------------------------------------------------ engineering issues

    def link_issue(self, issue_id: UUID, issue_number: int, actor_id: UUID, at: datetime) -> bool:
        """Record that an issue links this ticket (saved with the issue's `TicketLinked`)."""
        if issue_id in self.linked_issue_ids:
            return False
        self._issue_linked(issue_id=issue_id, issue_number=issue_number, actor_id=actor_id, timestamp=at)
        return True

    class IssueLinked(Event):
        issue_id: UUID
        issue_number: int

        def activity(self) -> Activity:
            return self._activity(
                "issue_linked", Summary("issue #{} linked", (str(self.issue_number),)), new=self.issue_id
            )

    @event(IssueLinked)
    def _issue_linked(self, issue_id: UUID, issue_number: int, actor_id: UUID, timestamp: datetime) -> None:
        self.linked_issue_ids = [*self.linked_issue_ids, issue_id]

    def record_issue_done(
        self, issue_id: UUID, issue_number: int, title: str, actor_id: UUID, at: datetime
    ) -> bool:
        """A linked issue reached `done`: an internal note says so, by whoever finished it; once per issue.

        Also on a closed ticket (the note is history, not a change anyone asked of the ticket).
        """
        if issue_id not in self.linked_issue_ids or issue_id in self.done_issue_ids or self.deleted:
            return False
        self._linked_issue_done(issue_id=issue_id, issue_number=issue_number, actor_id=actor_id, timestamp=at)
        self._note_added(
            message_id=uuid5(issue_id, f"done:{self.id}"),
            content=f"Linked issue #{issue_number} ({title}) is done.",
            mentions=[],
            attachments=[],
            actor_id=actor_id,
            timestamp=at,
        )
        return True

    class LinkedIssueDone(Event):
        issue_id: UUID
        issue_number: int

        def activity(self) -> Activity:
            return self._activity(
                "linked_issue_done",
                Summary("linked issue #{} done", (str(self.issue_number),)),
                new=self.issue_id,
            )

    @event(LinkedIssueDone)
    def _linked_issue_done(
        self, issue_id: UUID, issue_number: int, actor_id: UUID, timestamp: datetime
    ) -> None:
        self.done_issue_ids = [*self.done_issue_ids, issue_id]

    # ------------------------------------------------------------------ agents

    def dispatch_agent(
        self,
        agent_id: UUID,
        dispatch_id: UUID,
        instruction: str,
        source: str,
        actor_id: UUID | None,
        at: datetime,
    ) -> None:
        """Ask an agent (a member of kind `agent`) to act on this ticket: by an @-mention in a message or
        note (`source` "mention"), or by a rule ("rule"). The dispatcher follows this event."""
        self._ensure_changeable()
        if source not in ("mention", "rule"):
            raise InvalidValueError(f"a dispatch comes from a mention or a rule, not {source!r}")
        if str(dispatch_id) in self.agent_dispatches:
            raise ConflictError(f"dispatch {dispatch_id} exists already")
        self._agent_dispatched(
            agent_id=agent_id,
            dispatch_id=dispatch_id,
            instruction=instruction[:AGENT_INSTRUCTION_KEPT],
            source=source,
            actor_id=actor_id,
            timestamp=at,
        )

    class AgentDispatched(Event):
        """An agent is asked to act on the ticket (members see it; the contact never does)."""

        agent_id: UUID
        dispatch_id: UUID
        instruction: str
        source: str

        def activity(self) -> Activity:
            return self._activity(
                "agent_dispatched",
                Summary(
                    f"{{}} dispatched by {self.source}: {{}}",
                    (Ref("member", self.agent_id), _short(self.instruction)),
                ),
                new={
                    "agent_id": self.agent_id,
                    "dispatch_id": self.dispatch_id,
                    "instruction": self.instruction,
                    "source": self.source,
                },
            )

    @event(AgentDispatched)
    def _agent_dispatched(
        self,
        agent_id: UUID,
        dispatch_id: UUID,
        instruction: str,
        source: str,
        actor_id: UUID | None,
        timestamp: datetime,
    ) -> None:
        self.agent_dispatches = {
            **self.agent_dispatches,
            str(dispatch_id): {"agent_id": str(agent_id), "status": "dispatched"},
        }

    def agent_of_dispatch(self, dispatch_id: UUID) -> UUID:
        """The agent a dispatch of this ticket went to; NotFoundError for a dispatch of another ticket."""
        found = self.agent_dispatches.get(str(dispatch_id))
        if found is None:
            raise NotFoundError(f"dispatch {dispatch_id} not found on ticket #{self.ticket_number}")
        return UUID(found["agent_id"])

    def dispatch_open(self, dispatch_id: UUID) -> bool:
        found = self.agent_dispatches.get(str(dispatch_id))
        return found is not None and found["status"] == "dispatched"

    def record_agent_outcome(
        self, dispatch_id: UUID, outcome: str, summary: str, actor_id: UUID | None, at: datetime
    ) -> None:
        """How a dispatch ended: `completed` or `failed`, with the agent's (or the dispatcher's) summary.
        Recorded once (a second report is a conflict), also on a ticket closed meanwhile."""
        agent_id = self.agent_of_dispatch(dispatch_id)
        if not self.dispatch_open(dispatch_id):
            raise ConflictError(f"dispatch {dispatch_id} has ended already")
        trigger = {"completed": self._agent_completed, "failed": self._agent_failed}.get(outcome)
        if trigger is None:
            raise InvalidValueError(f"a dispatch ends completed or failed, not {outcome!r}")
        trigger(
            agent_id=agent_id,
            dispatch_id=dispatch_id,
            summary=summary[:AGENT_SUMMARY_KEPT],
            actor_id=actor_id,
            timestamp=at,
        )

    class AgentCompleted(Event):
        agent_id: UUID
        dispatch_id: UUID
        summary: str

        def activity(self) -> Activity:
            return self._activity(
                "agent_completed",
                Summary("{} completed: {}", (Ref("member", self.agent_id), _short(self.summary))),
                new={"agent_id": self.agent_id, "dispatch_id": self.dispatch_id, "summary": self.summary},
            )

    @event(AgentCompleted)
    def _agent_completed(
        self, agent_id: UUID, dispatch_id: UUID, summary: str, actor_id: UUID | None, timestamp: datetime
    ) -> None:
        self._dispatch_ended(dispatch_id, "completed")

    class AgentFailed(Event):
        agent_id: UUID
        dispatch_id: UUID
        summary: str

        def activity(self) -> Activity:
            return self._activity(
                "agent_failed",
                Summary("{} failed: {}", (Ref("member", self.agent_id), _short(self.summary))),
                new={"agent_id": self.agent_id, "dispatch_id": self.dispatch_id, "summary": self.summary},
            )

    @event(AgentFailed)
    def _agent_failed(
        self, agent_id: UUID, dispatch_id: UUID, summary: str, actor_id: UUID | None, timestamp: datetime
    ) -> None:
        self._dispatch_ended(dispatch_id, "failed")

    def _dispatch_ended(self, dispatch_id: UUID, status: str) -> None:
        key = str(dispatch_id)
        self.agent_dispatches = {
            **self.agent_dispatches,
            key: {**self.agent_dispatches[key], "status": status},
        }


# How much of an instruction and of an outcome's summary a dispatch records.
AGENT_INSTRUCTION_KEPT = 4000
AGENT_SUMMARY_KEPT = 2000


def _short(text: str, length: int = 80) -> str:
    """A one-line excerpt for a timeline summary."""
    line = " ".join(text.split())
    return line if len(line) <= length else line[: length - 1] + "…"


_MAIL_NOUNS = {"reply": "reply e-mail", "acknowledgement": "receipt e-mail", "resolved": "resolve notice"}


# Every ticket event that exists, for catalogues and projections: one place.
TICKET_EVENT_TYPES: tuple[type[Ticket.Event], ...] = (
    Ticket.Created,
    Ticket.SubjectChanged,
    Ticket.DescriptionChanged,
    Ticket.StatusChanged,
    Ticket.PriorityChanged,
    Ticket.CategoryChanged,
    Ticket.TeamChanged,
    Ticket.ContactChanged,
    Ticket.Assigned,
    Ticket.TagAdded,
    Ticket.TagRemoved,
    Ticket.MessageAdded,
    Ticket.ContactMessageAdded,
    Ticket.NoteAdded,
    Ticket.MessageEdited,
    Ticket.MessageDeleted,
    Ticket.AttachmentAdded,
    Ticket.SlaDeadlineSet,
    Ticket.SlaClockResumed,
    Ticket.SlaBreached,
    Ticket.SlaWarned,
    Ticket.Deleted,
    Ticket.FollowUpCreated,
    Ticket.EmailQueued,
    Ticket.EmailSent,
    Ticket.EmailFailed,
    Ticket.MailReceived,
    Ticket.IssueLinked,
    Ticket.LinkedIssueDone,
    Ticket.AgentDispatched,
    Ticket.AgentCompleted,
    Ticket.AgentFailed,
    Ticket.RuleRun,
)


__all__ = [
    "TICKET_EVENT_TYPES",
    "UNUSED_ATTACHMENT_LIFETIME",
    "Activity",
    "Attachment",
    "AuthorType",
    "Delivery",
    "MailKind",
    "Message",
    "Ref",
    "SlaDueTimes",
    "Summary",
    "Ticket",
    "due_times",
]
