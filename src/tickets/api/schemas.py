"""Request and response bodies: msgspec Structs with the spec's camelCase names."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar
from uuid import UUID

import msgspec
from litestar.datastructures import UploadFile
from msgspec import UNSET, Meta, UnsetType

from tickets.application.feed import FeedEvent
from tickets.domain.commands import KEEP, RuleChanges, RuleSpec
from tickets.domain.inbox import DIGEST_FREQUENCIES, NOTIFICATION_KINDS, DigestFrequency
from tickets.domain.rules import ACTION_TYPES, FIELDS, OPS, TRIGGERS, Action, Condition
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
    sla_warning_percent: Annotated[
        int | None,
        Meta(
            description="Assignees are warned (inbox `sla_warning`) when this share of a ticket's SLA target "
            "has gone (default 80); null: no warnings"
        ),
    ]


class OrgUpdate(Request):
    auto_close_after_days: Annotated[int, Meta(ge=1, le=365)] | UnsetType = UNSET
    sla_warning_percent: Annotated[int, Meta(ge=1, le=99)] | UnsetType | None = UNSET
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


# The API's name of the digest setting inside `notify`, beside the kinds of notification.
EMAIL_DIGEST = "emailDigest"
_NOTIFY = (
    f"Which notifications reach the inbox: {', '.join(NOTIFICATION_KINDS)} (all on by default); and "
    "emailDigest: whether my unread notifications are mailed to me once an hour or once a day (UTC), or not "
    "(off, the default)"
)
NotifyKinds = Annotated[dict[str, bool | DigestFrequency], Meta(description=_NOTIFY)]
# A request's: msgspec's JSON schema (the one the description shows for bodies) states exactly which key
# takes which values; the values are checked by the handler (`_notify_changes`), a wrong one is a 400.
NotifyChanges = Annotated[
    dict[str, Any],
    Meta(
        description=_NOTIFY + "; send only what changes",
        extra_json_schema={
            "properties": {EMAIL_DIGEST: {"enum": list(DIGEST_FREQUENCIES)}},
            "additionalProperties": {"type": "boolean"},
        },
    ),
]


class MeOut(Response):
    user: UserOut
    org: OrgOut
    notify: NotifyKinds


class MeUpdate(Request):
    notify: NotifyChanges


class InboxItemOut(Response):
    id: str
    kind: Annotated[
        str,
        Meta(description=", ".join(NOTIFICATION_KINDS) + " (webhook_disabled: admins)"),
    ]
    summary: Annotated[str, Meta(description='In words, e.g. "@alice mentioned you on #42 Printer on fire"')]
    ticket_id: Annotated[UUID | None, Meta(description="null for an org's notice (a webhook disabled)")]
    ticket_number: int | None
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


Private = Annotated[
    bool, Meta(description="A private team's tickets are seen by its members and admins only (everywhere)")
]


class TeamOut(Response):
    id: UUID
    name: str
    description: str
    private: Private


class TeamCreate(Request):
    name: Name
    description: Markdown = ""
    private: Private = False


class TeamUpdate(Request):
    name: Name | UnsetType = UNSET
    description: Markdown | UnsetType = UNSET
    private: Private | UnsetType = UNSET


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
    assignee_outside_team: Annotated[
        bool,
        Meta(
            description="The assignee is not a member of the ticket's team (allowed; teams with members only)"
        ),
    ]
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


class ActorOut(Response):
    """Who made a change: a member, the ticket's contact, a trigger rule, an agent, or the system
    itself (`id` null)."""

    type: Literal["member", "contact", "rule", "agent", "system"]
    id: UUID | None


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
    actor: ActorOut
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


# ---------------------------------------------------------------------------- trigger rules

# The names of fields, ops, events and action types are checked by the domain, so that an unknown one
# is a 422 saying what may be used; the schema lists them (`enum`) all the same.
RuleEvent = Annotated[
    str, Meta(max_length=64, extra_json_schema={"enum": list(TRIGGERS)}, examples=["ticket.created"])
]
ConditionField = Annotated[str, Meta(max_length=64, extra_json_schema={"enum": list(FIELDS)})]
ConditionOp = Annotated[str, Meta(max_length=64, extra_json_schema={"enum": list(OPS)})]
ConditionValue = Annotated[
    str | list[Annotated[str, Meta(max_length=1000)]] | None,
    Meta(
        description="A string (ids as UUIDs; a regular expression for `matches`), a list for `in`, "
        "null for `changed` (and for `is` null: no team, unassigned)"
    ),
]


class ConditionIn(Request):
    """`{field, op, value}`: see docs/automation.md#rules for which ops each field takes."""

    field: ConditionField
    op: ConditionOp
    value: ConditionValue = None


class ConditionsIn(Request):
    all: Annotated[list[ConditionIn], Meta(max_length=50, description="Every one must hold")] = []
    any: Annotated[list[ConditionIn], Meta(max_length=50, description="One must hold (if any)")] = []


class ActionIn(Request):
    """`type` and the one parameter it takes: `value` (set_priority, set_category, set_status),
    `teamId` (set_team, assign_round_robin, assign_least_busy), `userId` (assign), `tagId` (add_tag,
    remove_tag), `text` (add_note), `cannedResponseId` (reply), `agent` and an optional `text`
    (dispatch_agent)."""

    type: Annotated[str, Meta(max_length=64, extra_json_schema={"enum": list(ACTION_TYPES)})]
    value: Annotated[str, Meta(max_length=64)] | None = None
    team_id: UUID | None = None
    user_id: UUID | None = None
    tag_id: UUID | None = None
    canned_response_id: UUID | None = None
    text: Annotated[str, Meta(max_length=65_536)] | None = None
    agent: Annotated[str, Meta(max_length=65, description="The agent's @handle")] | None = None


RuleEvents = Annotated[list[RuleEvent], Meta(min_length=1, max_length=4)]
RuleActions = Annotated[list[ActionIn], Meta(min_length=1, max_length=20)]
Position = Annotated[int, Meta(ge=0, le=1_000_000, description="Rules run by position, then name")]


class RuleCreate(Request):
    name: Name
    on: RuleEvents
    actions: RuleActions
    conditions: ConditionsIn = msgspec.field(default_factory=ConditionsIn)
    active: bool = True
    position: Position = 0


class RuleUpdate(Request):
    """The fields sent replace the rule's (`conditions` and `actions` as wholes)."""

    name: Name | UnsetType = UNSET
    on: RuleEvents | UnsetType = UNSET
    conditions: ConditionsIn | UnsetType = UNSET
    actions: RuleActions | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    position: Position | UnsetType = UNSET


class ConditionOut(Response):
    field: str
    op: str
    value: str | list[str] | None


class ConditionsOut(Response):
    all: list[ConditionOut]
    any: list[ConditionOut]


class ActionOut(Response, omit_defaults=True):
    """An action: `type` and the parameter it takes (the others are left out)."""

    type: str
    value: str | None = None
    team_id: UUID | None = None
    user_id: UUID | None = None
    tag_id: UUID | None = None
    canned_response_id: UUID | None = None
    text: str | None = None
    agent: str | None = None


class RuleOut(Response):
    id: UUID
    name: str
    on: list[str]
    conditions: ConditionsOut
    actions: list[ActionOut]
    active: bool
    position: int
    active_since: Annotated[
        datetime,
        Meta(description="It reacts to events from this moment (its last change) on, never to older ones"),
    ]


class DryRunRequest(Request):
    ticket_id: Annotated[str, Meta(min_length=1, max_length=64, description="The ticket's id or number")]


class ConditionResultOut(Response):
    group: Literal["all", "any"]
    field: str
    op: str
    value: str | list[str] | None
    holds: bool


class RuleDryRunOut(Response):
    """What the rule would do to the ticket now; nothing was changed."""

    rule_id: UUID
    ticket_id: UUID
    ticket_number: int
    matched: Annotated[bool, Meta(description="Whether its conditions hold for the ticket as it is")]
    conditions: list[ConditionResultOut]
    changes: Annotated[
        list[ActivityOut],
        Meta(description="The timeline entries its actions would record (whether or not it matched)"),
    ]
    error: Annotated[str | None, Meta(description="Why its actions could not apply now")]


def _conditions(items: list[ConditionIn]) -> list[Condition]:
    return [Condition(c.field, c.op, c.value) for c in items]


def _actions(items: list[ActionIn]) -> list[Action]:
    return [
        Action(a.type, a.value, a.team_id, a.user_id, a.tag_id, a.canned_response_id, a.text, a.agent)
        for a in items
    ]


def rule_spec(body: RuleCreate) -> RuleSpec:
    """The domain's command a rule's create body asks for."""
    return RuleSpec(
        name=body.name,
        on=list(body.on),
        actions=_actions(body.actions),
        all_of=_conditions(body.conditions.all),
        any_of=_conditions(body.conditions.any),
        active=body.active,
        position=body.position,
    )


def rule_changes(body: RuleUpdate) -> RuleChanges:
    """The domain's command a rule's PATCH asks for (fields not sent are kept)."""
    conditions = body.conditions
    return RuleChanges(
        name=KEEP if isinstance(body.name, UnsetType) else body.name,
        on=KEEP if isinstance(body.on, UnsetType) else list(body.on),
        actions=KEEP if isinstance(body.actions, UnsetType) else _actions(body.actions),
        all_of=KEEP if isinstance(conditions, UnsetType) else _conditions(conditions.all),
        any_of=KEEP if isinstance(conditions, UnsetType) else _conditions(conditions.any),
        active=KEEP if isinstance(body.active, UnsetType) else body.active,
        position=KEEP if isinstance(body.position, UnsetType) else body.position,
    )
