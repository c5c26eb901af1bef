"""The org event feed's catalogue: public, versioned integration events made from the domain events.

The domain events stay internal and free to change; what leaves the system (`GET /api/v1/events`,
its stream, webhooks) is this catalogue. `FEED_TYPES` maps each ticket event class to its feed
type and the function that makes its `data`; `INTERNAL` names the ones that never leave. Every
ticket event class is in exactly one of them (`tests/unit/test_feed_catalogue.py`).

Each feed type is a msgspec Struct (`TicketCreatedEvent`, ...) tagged by `type`, so `FeedEvent`
decodes and validates any of them and `msgspec.json.schema` states each one exactly (the OpenAPI
description and docs/automation.md use it). A type's shape only grows: a new field gets a
default; anything else is a new `version`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID, uuid5

import msgspec

from tickets.domain.registry import NAMESPACE
from tickets.domain.ticket import Ticket

FEED_VERSION = 1

ActorType = Literal["member", "contact", "rule", "agent", "system"]


class ActorRef(msgspec.Struct, frozen=True):
    """Who caused the event: an org member, the ticket's contact, a trigger rule, an agent, or the system
    itself (`id` null)."""

    type: ActorType
    id: UUID | None


def actor_of(actor_id: UUID | None, contact_id: UUID | None, known: str | None = None) -> ActorRef:
    """An event's actor as the feed names it: the system (no actor), the ticket's contact, a rule or an
    agent (`known`: the feed read model knows rules' and agents' ids, as `Organization.actor_type`
    decides them for timelines), else a member."""
    if actor_id is None:
        return ActorRef("system", None)
    if contact_id is not None and actor_id == contact_id:
        return ActorRef("contact", actor_id)
    if known == "rule":
        return ActorRef("rule", actor_id)
    if known == "agent":
        return ActorRef("agent", actor_id)
    return ActorRef("member", actor_id)


# ---------------------------------------------------------------------------- data of each type


class _Data(msgspec.Struct, kw_only=True, rename="camel"):
    pass


class TicketCreatedData(_Data):
    subject: str
    description: str
    status: str
    priority: str
    category: str
    source: str
    team_id: UUID | None
    assignee_id: UUID | None
    contact_email: str | None
    contact_name: str | None
    tag_ids: list[UUID]
    follow_up_of: UUID | None


class FieldChange(msgspec.Struct, frozen=True):
    old: str | None
    new: str | None


class TicketUpdatedData(_Data):
    """The fields changed, by their API name: `subject`, `description`, `priority`, `category`, `teamId`,
    `contactEmail`, `contactName`."""

    changes: dict[str, FieldChange]


class StatusChangedData(_Data):
    old: str
    new: str


class AssignedData(_Data):
    old: UUID | None
    new: UUID | None


class TagData(_Data):
    tag_id: UUID


class AttachmentData(_Data):
    id: UUID
    filename: str
    content_type: str
    size: int


class MessageData(_Data):
    message_id: UUID
    content: str
    attachments: list[AttachmentData] = []


class MessageEditedData(_Data):
    message_id: UUID
    content: str


class MessageDeletedData(_Data):
    message_id: UUID


class SlaBreachedData(_Data):
    deadline: datetime


class SlaWarningData(_Data):
    deadline: datetime
    percent: int


class NoData(_Data):
    pass


class FollowUpData(_Data):
    follow_up_id: UUID


class AgentDispatchData(_Data):
    agent_id: UUID
    dispatch_id: UUID
    instruction: str
    source: str


class AgentOutcomeData(_Data):
    agent_id: UUID
    dispatch_id: UUID
    summary: str


class IssueData(_Data):
    issue_id: UUID
    issue_number: int


class EmailSentData(_Data):
    kind: str
    message_id: UUID | None
    to: str
    attempt: int


class EmailFailedData(_Data):
    kind: str
    message_id: UUID | None
    to: str
    error: str
    attempt: int
    final: bool


class EmailReceivedData(_Data):
    mail_message_id: str
    message_id: UUID | None


# ---------------------------------------------------------------------------- the envelopes


class FeedEnvelope(msgspec.Struct, kw_only=True, rename="camel", tag_field="type"):
    """What every feed event carries; `type` says which, and `data` its own fields."""

    id: UUID
    version: int
    occurred_at: datetime
    position: int
    org_id: UUID
    ticket_id: UUID
    ticket_number: int
    actor: ActorRef


class TicketCreatedEvent(FeedEnvelope, tag="ticket.created"):
    data: TicketCreatedData


class TicketUpdatedEvent(FeedEnvelope, tag="ticket.updated"):
    data: TicketUpdatedData


class TicketStatusChangedEvent(FeedEnvelope, tag="ticket.status_changed"):
    data: StatusChangedData


class TicketAssignedEvent(FeedEnvelope, tag="ticket.assigned"):
    data: AssignedData


class TicketMessageAddedEvent(FeedEnvelope, tag="ticket.message_added"):
    """A member's public reply."""

    data: MessageData


class TicketContactRepliedEvent(FeedEnvelope, tag="ticket.contact_replied"):
    """The contact wrote (portal or e-mail)."""

    data: MessageData


class TicketNoteAddedEvent(FeedEnvelope, tag="ticket.note_added"):
    """An internal note (never shown to the contact)."""

    data: MessageData


class TicketMessageEditedEvent(FeedEnvelope, tag="ticket.message_edited"):
    data: MessageEditedData


class TicketMessageDeletedEvent(FeedEnvelope, tag="ticket.message_deleted"):
    data: MessageDeletedData


class TicketTagAddedEvent(FeedEnvelope, tag="ticket.tag_added"):
    data: TagData


class TicketTagRemovedEvent(FeedEnvelope, tag="ticket.tag_removed"):
    data: TagData


class TicketAttachmentAddedEvent(FeedEnvelope, tag="ticket.attachment_added"):
    data: AttachmentData


class TicketSlaBreachedEvent(FeedEnvelope, tag="ticket.sla_breached"):
    data: SlaBreachedData


class TicketSlaWarningEvent(FeedEnvelope, tag="ticket.sla_warning"):
    data: SlaWarningData


class TicketDeletedEvent(FeedEnvelope, tag="ticket.deleted"):
    data: NoData


class TicketFollowUpCreatedEvent(FeedEnvelope, tag="ticket.follow_up_created"):
    data: FollowUpData


class TicketEmailSentEvent(FeedEnvelope, tag="ticket.email_sent"):
    data: EmailSentData


class TicketEmailFailedEvent(FeedEnvelope, tag="ticket.email_failed"):
    data: EmailFailedData


class TicketEmailReceivedEvent(FeedEnvelope, tag="ticket.email_received"):
    data: EmailReceivedData


class TicketAgentDispatchedEvent(FeedEnvelope, tag="ticket.agent_dispatched"):
    data: AgentDispatchData


class TicketAgentCompletedEvent(FeedEnvelope, tag="ticket.agent_completed"):
    data: AgentOutcomeData


class TicketAgentFailedEvent(FeedEnvelope, tag="ticket.agent_failed"):
    data: AgentOutcomeData


class TicketIssueLinkedEvent(FeedEnvelope, tag="ticket.issue_linked"):
    data: IssueData


class TicketLinkedIssueDoneEvent(FeedEnvelope, tag="ticket.linked_issue_done"):
    data: IssueData


FeedEvent = (
    TicketAgentDispatchedEvent
    | TicketAgentCompletedEvent
    | TicketAgentFailedEvent
    | TicketIssueLinkedEvent
    | TicketLinkedIssueDoneEvent
    | TicketCreatedEvent
    | TicketUpdatedEvent
    | TicketStatusChangedEvent
    | TicketAssignedEvent
    | TicketMessageAddedEvent
    | TicketContactRepliedEvent
    | TicketNoteAddedEvent
    | TicketMessageEditedEvent
    | TicketMessageDeletedEvent
    | TicketTagAddedEvent
    | TicketTagRemovedEvent
    | TicketAttachmentAddedEvent
    | TicketSlaBreachedEvent
    | TicketSlaWarningEvent
    | TicketDeletedEvent
    | TicketFollowUpCreatedEvent
    | TicketEmailSentEvent
    | TicketEmailFailedEvent
    | TicketEmailReceivedEvent
)

# ---------------------------------------------------------------------------- domain -> feed


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _changed(name: str) -> Callable[[Any], TicketUpdatedData]:
    return lambda e: TicketUpdatedData(changes={name: FieldChange(_text(e.old), _text(e.new))})


def _contact_changed(e: Ticket.ContactChanged) -> TicketUpdatedData:
    changes = {}
    if e.old_email != e.email:
        changes["contactEmail"] = FieldChange(e.old_email, e.email)
    if e.old_name != e.name:
        changes["contactName"] = FieldChange(e.old_name, e.name)
    return TicketUpdatedData(changes=changes)


def _attachments(items: list[dict[str, Any]]) -> list[AttachmentData]:
    return [
        AttachmentData(
            id=UUID(str(a["id"])), filename=a["filename"], content_type=a["content_type"], size=a["size"]
        )
        for a in items
    ]


def _message(e: Any) -> MessageData:
    return MessageData(message_id=e.message_id, content=e.content, attachments=_attachments(e.attachments))


def _created(e: Ticket.Created) -> TicketCreatedData:
    return TicketCreatedData(
        subject=e.subject,
        description=e.description,
        status="open",
        priority=e.priority,
        category=e.category,
        source=e.source,
        team_id=e.team_id,
        assignee_id=e.assignee_id,
        contact_email=e.contact_email,
        contact_name=e.contact_name,
        tag_ids=list(e.tag_ids),
        follow_up_of=e.follow_up_of,
    )


@dataclass(frozen=True)
class FeedType:
    """A feed type: its envelope class (whose tag is the type) and how a domain event makes its data."""

    envelope: type[FeedEnvelope]
    data: Callable[[Any], Any]

    @property
    def name(self) -> str:
        tag = self.envelope.__struct_config__.tag
        assert isinstance(tag, str)
        return tag


# Each ticket event that leaves the system, and as what. One place.
def _agent_outcome(e: Any) -> AgentOutcomeData:
    return AgentOutcomeData(agent_id=e.agent_id, dispatch_id=e.dispatch_id, summary=e.summary)


def _issue(e: Any) -> IssueData:
    return IssueData(issue_id=e.issue_id, issue_number=e.issue_number)


FEED_TYPES: dict[type[Ticket.Event], FeedType] = {
    Ticket.Created: FeedType(TicketCreatedEvent, _created),
    Ticket.SubjectChanged: FeedType(TicketUpdatedEvent, _changed("subject")),
    Ticket.DescriptionChanged: FeedType(TicketUpdatedEvent, _changed("description")),
    Ticket.PriorityChanged: FeedType(TicketUpdatedEvent, _changed("priority")),
    Ticket.CategoryChanged: FeedType(TicketUpdatedEvent, _changed("category")),
    Ticket.TeamChanged: FeedType(TicketUpdatedEvent, _changed("teamId")),
    Ticket.ContactChanged: FeedType(TicketUpdatedEvent, _contact_changed),
    Ticket.StatusChanged: FeedType(
        TicketStatusChangedEvent, lambda e: StatusChangedData(old=e.old, new=e.new)
    ),
    Ticket.Assigned: FeedType(TicketAssignedEvent, lambda e: AssignedData(old=e.old, new=e.new)),
    Ticket.MessageAdded: FeedType(TicketMessageAddedEvent, _message),
    Ticket.ContactMessageAdded: FeedType(TicketContactRepliedEvent, _message),
    Ticket.NoteAdded: FeedType(TicketNoteAddedEvent, _message),
    Ticket.MessageEdited: FeedType(
        TicketMessageEditedEvent, lambda e: MessageEditedData(message_id=e.message_id, content=e.new)
    ),
    Ticket.MessageDeleted: FeedType(
        TicketMessageDeletedEvent, lambda e: MessageDeletedData(message_id=e.message_id)
    ),
    Ticket.TagAdded: FeedType(TicketTagAddedEvent, lambda e: TagData(tag_id=e.tag_id)),
    Ticket.TagRemoved: FeedType(TicketTagRemovedEvent, lambda e: TagData(tag_id=e.tag_id)),
    Ticket.AttachmentAdded: FeedType(
        TicketAttachmentAddedEvent,
        lambda e: AttachmentData(
            id=e.attachment_id, filename=e.filename, content_type=e.content_type, size=e.size
        ),
    ),
    Ticket.SlaBreached: FeedType(TicketSlaBreachedEvent, lambda e: SlaBreachedData(deadline=e.deadline)),
    Ticket.SlaWarned: FeedType(
        TicketSlaWarningEvent, lambda e: SlaWarningData(deadline=e.deadline, percent=e.percent)
    ),
    Ticket.Deleted: FeedType(TicketDeletedEvent, lambda e: NoData()),
    Ticket.FollowUpCreated: FeedType(
        TicketFollowUpCreatedEvent, lambda e: FollowUpData(follow_up_id=e.follow_up_id)
    ),
    Ticket.EmailSent: FeedType(
        TicketEmailSentEvent,
        lambda e: EmailSentData(kind=e.kind, message_id=e.message_id, to=e.to, attempt=e.attempt),
    ),
    Ticket.EmailFailed: FeedType(
        TicketEmailFailedEvent,
        lambda e: EmailFailedData(
            kind=e.kind, message_id=e.message_id, to=e.to, error=e.error, attempt=e.attempt, final=e.final
        ),
    ),
    Ticket.MailReceived: FeedType(
        TicketEmailReceivedEvent,
        lambda e: EmailReceivedData(mail_message_id=e.mail_message_id, message_id=e.message_id),
    ),
    Ticket.AgentDispatched: FeedType(
        TicketAgentDispatchedEvent,
        lambda e: AgentDispatchData(
            agent_id=e.agent_id, dispatch_id=e.dispatch_id, instruction=e.instruction, source=e.source
        ),
    ),
    Ticket.AgentCompleted: FeedType(TicketAgentCompletedEvent, _agent_outcome),
    Ticket.AgentFailed: FeedType(TicketAgentFailedEvent, _agent_outcome),
    Ticket.IssueLinked: FeedType(TicketIssueLinkedEvent, _issue),
    Ticket.LinkedIssueDone: FeedType(TicketLinkedIssueDoneEvent, _issue),
}

# Ticket events that stay inside: the SLA clock's bookkeeping (its outcome is `ticket.sla_breached`,
# its due times are not part of the contract yet), the mail queue (its outcome is email_sent/failed)
# and a rule's run marker (its changes are in the feed, each with the rule as its actor).
INTERNAL: frozenset[type[Ticket.Event]] = frozenset(
    {Ticket.SlaDeadlineSet, Ticket.SlaClockResumed, Ticket.EmailQueued, Ticket.RuleRun}
)

# Every feed type, in catalogue order.
FEED_TYPE_NAMES: tuple[str, ...] = tuple(dict.fromkeys(t.name for t in FEED_TYPES.values()))
ENVELOPES: dict[str, type[FeedEnvelope]] = {t.name: t.envelope for t in FEED_TYPES.values()}


@dataclass(frozen=True)
class TicketFacts:
    """What the feed needs of a ticket beside its event: kept by the feed read model."""

    org_id: UUID
    ticket_number: int
    contact_id: UUID | None
    # What the event's actor is, when the feed knows it: "rule" or "agent".
    actor_kind: str | None = None


def feed_event_id(ticket_id: UUID, version: int) -> UUID:
    """A feed event's id: the same as its timeline entry's."""
    return uuid5(NAMESPACE, f"{ticket_id}:{version}")


def integration_event(e: Ticket.Event, facts: TicketFacts, position: int) -> FeedEnvelope | None:
    """The feed event a domain event makes (None: an internal one, or one with nothing to say)."""
    kind = FEED_TYPES.get(type(e))
    if kind is None:
        return None
    data = kind.data(e)
    if isinstance(data, TicketUpdatedData) and not data.changes:
        return None
    return kind.envelope(
        id=feed_event_id(e.originator_id, e.originator_version),
        version=FEED_VERSION,
        occurred_at=e.timestamp,
        position=position,
        org_id=facts.org_id,
        ticket_id=e.originator_id,
        ticket_number=facts.ticket_number,
        actor=actor_of(e.actor_id, facts.contact_id, facts.actor_kind),
        data=data,  # type: ignore[call-arg]
    )


ENCODER = msgspec.json.Encoder()
DECODER: msgspec.json.Decoder[FeedEvent] = msgspec.json.Decoder(FeedEvent)


def encode(event: FeedEnvelope) -> bytes:
    return ENCODER.encode(event)


def decode(body: bytes | str) -> FeedEnvelope:
    decoded: FeedEnvelope = DECODER.decode(body)
    return decoded


def catalogue() -> list[tuple[str, int, dict[str, Any]]]:
    """Each feed type, its version and its JSON Schema (for the docs and `GET /api/v1/events/types`)."""
    return [(name, FEED_VERSION, msgspec.json.schema(envelope)) for name, envelope in ENVELOPES.items()]


__all__ = [
    "ENVELOPES",
    "FEED_TYPES",
    "FEED_TYPE_NAMES",
    "FEED_VERSION",
    "INTERNAL",
    "ActorRef",
    "FeedEnvelope",
    "FeedEvent",
    "TicketFacts",
    "actor_of",
    "catalogue",
    "decode",
    "encode",
    "feed_event_id",
    "integration_event",
]
