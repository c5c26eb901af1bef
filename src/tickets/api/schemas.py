"""Request and response bodies: msgspec Structs with the spec's camelCase names."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar
from uuid import UUID

import msgspec
from litestar.datastructures import UploadFile
from msgspec import UNSET, Meta, UnsetType

from tickets.application.feed import FeedEvent
from tickets.domain.values import Category, IssueStatus, Priority, Role, Source, Status

T = TypeVar("T")

# Reusable constrained types, declared once. `pattern` is a search: NOT_BLANK means
# "contains something other than whitespace".
# Patterns are checked by Python here and by JavaScript-style engines in clients: `\s` differs
# between the two (Python counts \x1c-\x1f and \x85 as space, JavaScript counts \ufeff), so
# whitespace is spelled out as the union of both, and a pattern means the same everywhere.
SPACE = r"\s\x1c-\x1f\x85\ufeff"
NOT_BLANK = rf"[^{SPACE}]"
# The end of the text, in every engine (Python's `$` also matches before a final newline).
END = r"(?![\s\S])"
Subject = Annotated[
    str,
    Meta(
        min_length=1, max_length=500, pattern=NOT_BLANK, description="Short headline, like an e-mail subject"
    ),
]
Markdown = Annotated[str, Meta(max_length=65_536, description="Markdown text")]
Content = Annotated[
    str, Meta(min_length=1, max_length=65_536, pattern=NOT_BLANK, description="Markdown text")
]
Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=NOT_BLANK)]
ShortName = Annotated[str, Meta(min_length=1, max_length=64, pattern=NOT_BLANK)]
EMAIL_PATTERN = rf"^[^@{SPACE}]+@[^@{SPACE}]+\.[^@{SPACE}]+{END}"
Email = Annotated[str, Meta(max_length=254, pattern=EMAIL_PATTERN, examples=["ann@example.com"])]
HANDLE_PATTERN = rf"^@?[A-Za-z0-9._-]+{END}"
Handle = Annotated[str, Meta(min_length=1, max_length=64, pattern=HANDLE_PATTERN)]
# Checked by the domain (422) rather than here, so a bad colour reads as invalid, not malformed.
Color = Annotated[str, Meta(max_length=32, description="#rrggbb", examples=["#ef4444"])]
Minutes = Annotated[int, Meta(gt=0, le=525_600, description="Positive number of minutes")]
Title = Annotated[str, Meta(min_length=1, max_length=200, pattern=NOT_BLANK)]

# What each pattern above means, for validation errors in plain words (api/validation.py).
PATTERN_MEANINGS = {
    NOT_BLANK: "must not be blank",
    EMAIL_PATTERN: "must be an e-mail address, e.g. ann@example.com",
    HANDLE_PATTERN: "may only contain letters, digits, '.', '_' and '-' (after an optional '@')",
}


C = TypeVar("C")


def command(kind: type[C], body: msgspec.Struct) -> C:
    """The domain's command (`tickets.domain.commands`) a request body asks for: same field names;
    a field the client did not send (UNSET) is left to the command's default (`KEEP` in a change)."""
    sent = {name: getattr(body, name) for name in body.__struct_fields__ if getattr(body, name) is not UNSET}
    return kind(**sent)


class Request(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """Base of request bodies: camelCase, and unknown fields are an error (typos do not pass silently)."""


class Response(msgspec.Struct, rename="camel", kw_only=True):
    """Base of response bodies."""


class Page(Response, Generic[T]):
    """A page of a list; pass `nextCursor` back as `cursor` for the next one."""

    items: list[T]
    next_cursor: str | None


# ---------------------------------------------------------------------------- identity


class OrgOut(Response):
    id: UUID
    slug: str
    name: str
    auto_close_after_days: Annotated[
        int, Meta(description="Days a resolved ticket waits for its contact before it closes by itself")
    ]

    acknowledge_new_tickets: Annotated[
        bool, Meta(description="Whether a new ticket that came by e-mail or the portal gets a receipt e-mail")
    ]
    mail_address: Annotated[str, Meta(description="The org's own receiving address: `<slug>@<mail domain>`")]


class OrgUpdate(Request):
    auto_close_after_days: Annotated[int, Meta(ge=1, le=365)] | UnsetType = UNSET
    acknowledge_new_tickets: bool | UnsetType = UNSET


class MailAddressOut(Response):
    address: str
    team_id: UUID | None


class MailAddressCreate(Request):
    address: Annotated[
        Email, Meta(description="An address whose mail this org receives (its MX points here)")
    ]
    team_id: Annotated[UUID | None, Meta(description="The team of the tickets it opens")] = None


class UserOut(Response):
    id: UUID
    email: Annotated[str, Meta(description="Empty for an agent (agents have no e-mail)")]
    name: str
    role: Role
    handle: str
    kind: Annotated[Literal["human", "agent"], Meta(description="A person, or an agent (/api/v1/agents)")] = (
        "human"
    )


NotifyKinds = Annotated[
    dict[str, bool],
    Meta(
        description="Which notifications reach the inbox: assigned, mentioned, contact_replied, sla_breached, "
        "issue_done (all on by default)"
    ),
]


class MeOut(Response):
    user: UserOut
    org: OrgOut
    notify: NotifyKinds


class MeUpdate(Request):
    notify: NotifyKinds


class InboxItemOut(Response):
    id: str
    kind: Annotated[str, Meta(description="assigned, mentioned, contact_replied, sla_breached or issue_done")]
    summary: Annotated[str, Meta(description='In words, e.g. "@alice mentioned you on #42 Printer on fire"')]
    ticket_id: UUID
    ticket_number: int
    subject: str
    actor_id: UUID | None
    created_at: datetime
    read: bool
    position: int


class InboxCount(Response):
    unread: int


class UserCreate(Request):
    email: Email
    name: Name
    role: Role = Role.AGENT
    handle: Handle | None = None


class UserCreated(Response):
    user: UserOut
    token: str


class UserUpdate(Request):
    name: Name | UnsetType = UNSET
    role: Role | UnsetType = UNSET


AgentBehaviourName = Literal["triage"]
DispatchUrl = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=2048,
        description="Where dispatches are POSTed (http or https, a public host)",
        examples=["https://agents.example.com/dispatch"],
    ),
]


class AgentOut(Response):
    id: UUID
    name: str
    handle: str
    kind: Literal["agent"] = "agent"
    dispatch_url: str | None = None
    behaviour: AgentBehaviourName | None = None


class AgentCreate(Request):
    """An external agent (`dispatchUrl`) or a built-in one (`behaviour`): one of the two."""

    name: Name
    handle: Handle
    dispatch_url: DispatchUrl | None = None
    behaviour: AgentBehaviourName | None = None


class AgentCreated(Response):
    agent: AgentOut
    secret: Annotated[
        str | None,
        Meta(description="The secret dispatches are signed with (external agents): shown only this once"),
    ] = None


class AgentUpdate(Request):
    name: Name | UnsetType = UNSET
    dispatch_url: DispatchUrl | UnsetType | None = UNSET
    behaviour: AgentBehaviourName | UnsetType | None = UNSET


class AgentSecretOut(Response):
    secret: Annotated[str, Meta(description="The new signing secret: shown only this once")]


class DispatchComplete(Request):
    status: Literal["completed", "failed"]
    summary: Annotated[str, Meta(max_length=2000, description="What the agent did, in a line or two")] = ""


class TeamOut(Response):
    id: UUID
    name: str
    description: str


class TeamCreate(Request):
    name: Name
    description: Markdown = ""


class TeamUpdate(Request):
    name: Name | UnsetType = UNSET
    description: Markdown | UnsetType = UNSET


# ---------------------------------------------------------------------------- tags, SLA, canned


class TagOut(Response):
    id: UUID
    name: str
    color: str
    team_id: UUID | None


class TagRef(Response):
    id: UUID
    name: str
    color: str


class TagCreate(Request):
    name: ShortName
    color: Color = "#6b7280"
    team_id: UUID | None = None


class TagUpdate(Request):
    name: ShortName | UnsetType = UNSET
    color: Color | UnsetType = UNSET
    team_id: UUID | UnsetType | None = UNSET


class SlaPolicyOut(Response):
    id: UUID
    priority: Priority
    first_response_minutes: int
    resolution_minutes: int
    team_id: UUID | None


class SlaPolicyCreate(Request):
    priority: Priority
    first_response_minutes: Minutes
    resolution_minutes: Minutes
    team_id: UUID | None = None


class SlaPolicyUpdate(Request):
    priority: Priority | UnsetType = UNSET
    first_response_minutes: Minutes | UnsetType = UNSET
    resolution_minutes: Minutes | UnsetType = UNSET
    team_id: UUID | UnsetType | None = UNSET


class CannedResponseOut(Response):
    id: UUID
    title: str
    body: str
    team_id: UUID | None
    created_by: UUID


class CannedResponseCreate(Request):
    title: Title
    body: Content
    team_id: UUID | None = None


class CannedResponseUpdate(Request):
    title: Title | UnsetType = UNSET
    body: Content | UnsetType = UNSET
    team_id: UUID | UnsetType | None = UNSET


# ---------------------------------------------------------------------------- tickets


class UserRef(Response):
    id: UUID
    name: str
    email: str
    handle: str


class TicketOut(Response):
    id: UUID
    ticket_number: int
    subject: str
    description: str
    description_html: str
    status: Status
    priority: Priority
    category: Category
    source: Source
    team_id: UUID | None
    assignee_id: UUID | None
    assignee: UserRef | None
    creator_id: UUID
    creator: UserRef | None
    contact_id: Annotated[UUID | None, Meta(description="The contact the ticket's e-mail names")]
    contact_email: str | None
    contact_name: str | None
    tags: list[TagRef]
    message_count: int
    sla_deadline: datetime | None
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    sla_paused_at: datetime | None
    sla_remaining_seconds: int | None
    sla_breached: bool
    first_response_breached: bool
    resolution_breached: bool
    follow_up_of: UUID | None
    follow_up_ids: list[UUID]
    linked_issue_ids: Annotated[
        list[UUID], Meta(description="Engineering issues linked to this ticket (`POST .../convert-to-issue`)")
    ]
    # True only when an admin reads a soft-deleted ticket's history (`includeDeleted=true`).
    deleted: bool
    created_at: datetime
    updated_at: datetime
    version: int


class TicketListItem(Response):
    """A ticket as the list shows it."""

    id: UUID
    ticket_number: int
    subject: str
    status: Status
    priority: Priority
    category: Category
    source: Source
    team_id: UUID | None
    assignee_id: UUID | None
    assignee: UserRef | None
    contact_email: str | None
    contact_name: str | None
    tags: list[TagRef]
    message_count: int
    sla_deadline: datetime | None
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    sla_paused_at: datetime | None
    sla_remaining_seconds: int | None
    sla_breached: bool
    first_response_breached: bool
    resolution_breached: bool
    created_at: datetime
    updated_at: datetime


class TicketStats(Response):
    total: int
    by_status: dict[str, int]
    by_priority: dict[str, int]
    by_category: dict[str, int]
    sla_breached: int
    sla_breached_total: int


class TicketCreate(Request):
    subject: Subject
    description: Markdown = ""
    priority: Priority = Priority.MEDIUM
    category: Category = Category.GENERAL
    source: Source = Source.API
    team_id: UUID | None = None
    assignee_id: UUID | None = None
    contact_email: Email | None = None
    contact_name: Name | None = None
    tag_ids: Annotated[list[UUID], Meta(max_length=50)] = msgspec.field(default_factory=list)


class TicketUpdate(Request):
    subject: Subject | UnsetType = UNSET
    description: Markdown | UnsetType = UNSET
    status: Status | UnsetType = UNSET
    priority: Priority | UnsetType = UNSET
    category: Category | UnsetType = UNSET
    team_id: UUID | UnsetType | None = UNSET
    contact_email: Email | UnsetType | None = UNSET
    contact_name: Name | UnsetType | None = UNSET
    assignee_id: UUID | UnsetType | None = UNSET
    tag_ids: Annotated[list[UUID], Meta(max_length=50)] | UnsetType = UNSET


class AssignRequest(Request):
    assignee_id: UUID | None


class AttachmentOut(Response):
    """A stored file: download it at `/api/v1/attachments/{id}`."""

    id: UUID
    filename: str
    content_type: str
    size: Annotated[int, Meta(ge=1, description="Bytes")]
    sha256: Annotated[str, Meta(pattern="^[0-9a-f]{64}$", description="SHA-256 of the bytes, hex")]


class AttachmentUpload(msgspec.Struct, forbid_unknown_fields=True):
    """`multipart/form-data`: one or more `file` parts, each with a filename."""

    file: list[UploadFile]


AuthorType = Annotated[str, Meta(description="`member` (an org member) or `contact` (the ticket's contact)")]


class DeliveryOut(Response):
    status: Annotated[str, Meta(description="`queued`, `sent` or `failed` (no attempt follows)")]
    attempts: int
    last_error: str | None


class MessageOut(Response):
    id: UUID
    ticket_id: UUID
    author_type: AuthorType
    author_id: UUID
    content: str
    content_html: str
    is_internal_note: bool
    mentions: list[UUID]
    created_at: datetime
    edited_at: datetime | None
    attachments: list[AttachmentOut]
    delivery: Annotated[
        DeliveryOut | None,
        Meta(description="The e-mail of a public message to the ticket's contact, as it goes; null if none"),
    ] = None


class MessageCreate(Request):
    content: Content
    is_internal_note: bool = False
    attachment_ids: Annotated[
        list[UUID],
        Meta(
            description="Files uploaded to this ticket (`POST .../attachments`) that no message carries yet"
        ),
    ] = []


class MessageUpdate(Request):
    content: Content


class ActivityOut(Response):
    id: UUID
    type: str
    summary: Annotated[
        str,
        Meta(
            description="The change in one line, e.g. `priority medium → urgent`: members as @handle, "
            "teams and tags by name, times in RFC 3339 UTC",
            examples=["priority medium → urgent", "assignee - → @alice"],
        ),
    ]
    actor_id: UUID | None
    old_value: Any
    new_value: Any
    created_at: datetime
    version: int


# ---------------------------------------------------------------------------- the event feed, webhooks

WebhookUrl = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=2000,
        description="Where deliveries are POSTed: http(s), resolving to public addresses only",
        examples=["https://hooks.example.com/pfai"],
    ),
]
FeedTypeName = Annotated[str, Meta(min_length=1, max_length=64, examples=["ticket.created"])]
WebhookEvents = Annotated[
    list[FeedTypeName],
    Meta(
        min_length=1,
        max_length=50,
        description="The feed event types to deliver (`GET /api/v1/events/types`)",
    ),
]
WebhookDescription = Annotated[str, Meta(max_length=500)]


class FeedPage(Response):
    """Feed events in log order; ask again with `after=nextAfter` for the next ones (it moves on even
    when nothing of this org happened)."""

    items: list[FeedEvent]
    next_after: Annotated[int, Meta(ge=0)]


class FeedTypeOut(Response):
    type: str
    version: int
    json_schema: dict[str, Any]


class WebhookOut(Response):
    id: UUID
    url: str
    events: list[str]
    active: bool
    description: str
    disabled_reason: Annotated[
        str | None, Meta(description="Why the webhook turned itself off (after a day of failed deliveries)")
    ]
    created_at: datetime
    previous_secret_expires_at: Annotated[
        datetime | None, Meta(description="Until then the previous secret also signs (after a rotation)")
    ]


class WebhookCreated(WebhookOut):
    secret: Annotated[str, Meta(description="The signing secret (`whsec_...`): shown only now")]


class WebhookSecretOut(Response):
    secret: Annotated[str, Meta(description="The new signing secret: shown only now")]
    previous_secret_expires_at: datetime


class WebhookCreate(Request):
    url: WebhookUrl
    events: WebhookEvents
    active: bool = True
    description: WebhookDescription = ""


class WebhookUpdate(Request):
    url: WebhookUrl | UnsetType = UNSET
    events: WebhookEvents | UnsetType = UNSET
    active: (
        Annotated[bool, Meta(description="`true` also turns on a webhook that disabled itself")] | UnsetType
    ) = UNSET
    description: WebhookDescription | UnsetType = UNSET


class WebhookDeliveryOut(Response):
    id: UUID
    webhook_id: UUID
    event_id: UUID
    event_type: str
    position: int | None
    status: Annotated[str, Meta(description="pending, sending, retrying, delivered or failed (given up)")]
    attempts: int
    response_status: Annotated[int | None, Meta(description="The HTTP status of the last answer")]
    latency_ms: Annotated[int | None, Meta(description="How long the last attempt took to be answered")]
    error: str | None
    response_body: Annotated[str | None, Meta(description="The start (at most 1 KB) of the last answer")]
    next_attempt_at: Annotated[datetime | None, Meta(description="When the next attempt is due (retrying)")]
    created_at: datetime
    updated_at: datetime


# ---------------------------------------------------------------------------- contacts


class ContactOut(Response):
    id: UUID
    email: str
    name: str
    created_at: datetime
    sign_in_requested_at: Annotated[
        datetime | None,
        Meta(description="When the contact last asked for a portal sign-in link at /portal/login"),
    ]


class ContactCreate(Request):
    email: Email
    name: Name


class ContactUpdate(Request):
    name: Name | UnsetType = UNSET


class PortalLinkOut(Response):
    url: Annotated[str, Meta(description="Single use; open it in the contact's browser to sign in")]
    expires_at: datetime


# ---------------------------------------------------------------------------- the portal (contacts)


class PortalSessionOut(Response):
    contact_name: str
    email: str
    org_name: str
    csrf_token: Annotated[str, Meta(description="Send it as `X-CSRF-Token` with every portal write")]


class PortalTicketItem(Response):
    """A ticket as its contact sees it in a list."""

    ticket_number: int
    subject: str
    status: Status
    created_at: datetime
    updated_at: datetime


class PortalAttachmentOut(Response):
    """A file of a public message; download it at `url` (with the portal session)."""

    id: UUID
    filename: str
    content_type: str
    size: int
    url: str


class PortalMessageOut(Response):
    """A public message as the ticket's contact sees it."""

    id: UUID
    author_type: AuthorType
    author_name: str
    content: str
    content_html: str
    created_at: datetime
    attachments: list[PortalAttachmentOut]


class PortalTicketOut(Response):
    """A ticket as its contact sees it: never notes, tags, team, assignee or SLA fields."""

    ticket_number: int
    subject: str
    description: str
    description_html: str
    status: Status
    created_at: datetime
    updated_at: datetime
    messages: list[PortalMessageOut]


class PortalTicketCreate(Request):
    subject: Subject
    description: Content


class PortalMessageCreate(Request):
    content: Content


class Health(Response):
    status: str
    store: str
    head_position: int


# ---------------------------------------------------------------------------- engineering issues

IssueTitle = Annotated[str, Meta(min_length=1, max_length=500, pattern=r"\S")]
IssueMetadata = Annotated[
    dict[str, Any],
    Meta(description="Free JSON (at most 16,000 characters); `ticketId` names the ticket an issue came from"),
]


class IssueOut(Response):
    id: UUID
    issue_number: int
    title: str
    description: str
    description_html: str
    status: IssueStatus
    priority: Priority
    assignee_id: UUID | None
    metadata: dict[str, Any]
    ticket_ids: list[UUID]
    created_at: datetime
    updated_at: datetime
    version: int


class IssueListItem(Response):
    id: UUID
    issue_number: int
    title: str
    status: IssueStatus
    priority: Priority
    assignee_id: UUID | None
    created_at: datetime
    updated_at: datetime


class IssueCreate(Request):
    title: IssueTitle
    description: Markdown = ""
    priority: Priority = Priority.MEDIUM
    assignee_id: UUID | None = None
    metadata: IssueMetadata = msgspec.field(default_factory=dict)


class IssueUpdate(Request):
    title: IssueTitle | UnsetType = UNSET
    description: Markdown | UnsetType = UNSET
    status: IssueStatus | UnsetType = UNSET
    priority: Priority | UnsetType = UNSET
    assignee_id: UUID | UnsetType | None = UNSET
    metadata: IssueMetadata | UnsetType = UNSET


class ConvertToIssue(Request):
    title: IssueTitle | None = None
    description: Markdown | None = None


class IssueLinkCreate(Request):
    ticket_id: Annotated[str, Meta(min_length=1, max_length=64, description="The ticket's UUID or number")]
