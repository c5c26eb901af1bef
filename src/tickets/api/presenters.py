"""Domain objects to response bodies: the one place that shapes what clients see."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TypedDict
from uuid import UUID

import msgspec

from projections.feed import DeliveryRow
from projections.inbox import InboxItem
from projections.issues import IssueRow
from projections.portal import PortalMessage, PortalTicket
from projections.summary import TicketSummary
from tickets.api import schemas
from tickets.application.inbox import Preferences
from tickets.application.rules import DryRun
from tickets.domain.contact import Contact
from tickets.domain.inbox import DigestFrequency, notification_summary
from tickets.domain.issue import Issue
from tickets.domain.organization import CannedResponse, Member, Organization, SlaPolicy, Tag, Team
from tickets.domain.rules import Action, Condition, Rule
from tickets.domain.sla import SlaClock
from tickets.domain.ticket import Activity, Attachment, Message, Ref, Summary, SummaryValue, Ticket
from tickets.domain.values import Category, IssueStatus, Priority, Source, Status
from tickets.domain.webhook import Webhook, WebhookDelivery
from tickets.infrastructure.markdown import render_markdown


def user(member: Member) -> schemas.UserOut:
    return schemas.UserOut(
        id=member.id,
        email=member.email,
        name=member.name,
        role=member.role,
        handle=member.handle,
        kind=member.kind,
    )


def agent(member: Member) -> schemas.AgentOut:
    return schemas.AgentOut(
        id=member.id,
        name=member.name,
        handle=member.handle,
        dispatch_url=member.dispatch_url,
        behaviour=member.behaviour,
    )


def user_ref(org: Organization, user_id: object) -> schemas.UserRef | None:
    member = org.members.get(str(user_id)) if user_id else None
    if member is None:
        return None
    return schemas.UserRef(id=member.id, name=member.name, email=member.email, handle=member.handle)


def org(organization: Organization, mail_domain: str) -> schemas.OrgOut:
    return schemas.OrgOut(
        id=organization.id,
        slug=organization.slug,
        name=organization.name,
        auto_close_after_days=organization.auto_close_after_days,
        acknowledge_new_tickets=organization.acknowledge_new_tickets,
        mail_address=f"{organization.slug}@{mail_domain}",
        sla_warning_percent=organization.sla_warning_percent,
    )


def team(value: Team) -> schemas.TeamOut:
    return schemas.TeamOut(id=value.id, name=value.name, description=value.description, private=value.private)


def tag(value: Tag) -> schemas.TagOut:
    return schemas.TagOut(id=value.id, name=value.name, color=value.color, team_id=value.team_id)


def sla_policy(value: SlaPolicy) -> schemas.SlaPolicyOut:
    return schemas.SlaPolicyOut(
        id=value.id,
        priority=value.priority,
        first_response_minutes=value.first_response_minutes,
        resolution_minutes=value.resolution_minutes,
        team_id=value.team_id,
    )


def canned_response(value: CannedResponse) -> schemas.CannedResponseOut:
    return schemas.CannedResponseOut(
        id=value.id, title=value.title, body=value.body, team_id=value.team_id, created_by=value.created_by
    )


class SlaState(TypedDict):
    sla_deadline: datetime | None
    sla_paused_at: datetime | None
    sla_remaining_seconds: int | None
    sla_breached: bool
    first_response_breached: bool
    resolution_breached: bool


def sla_state(clock: SlaClock, status: Status, now: datetime) -> SlaState:
    """What a ticket and a list item say of the SLA at `now`: one rule for both (`domain/sla.py`)."""
    remaining = clock.remaining_when_paused
    return SlaState(
        sla_deadline=clock.shown_deadline(status),
        sla_paused_at=clock.on_hold_since if clock.paused else None,
        sla_remaining_seconds=None if remaining is None else int(remaining.total_seconds()),
        sla_breached=clock.is_breached(status, now),
        first_response_breached=clock.first_response_breached(now),
        resolution_breached=clock.resolution_breached(now),
    )


def tag_refs(organization: Organization, tag_ids: Iterable[object]) -> list[schemas.TagRef]:
    """The org's tags of these ids (a tag deleted since is left out)."""
    tags = [organization.tags.get(str(t)) for t in tag_ids]
    return [schemas.TagRef(id=t.id, name=t.name, color=t.color) for t in tags if t is not None]


def assignee_outside_team(organization: Organization, team_id: UUID | None, assignee_id: UUID | None) -> bool:
    """Whether a ticket's assignee is outside its team: only a team with members can tell."""
    team = organization.teams.get(str(team_id)) if team_id else None
    return bool(team and team.member_ids and assignee_id and assignee_id not in team.member_ids)


def ticket(value: Ticket, organization: Organization, now: datetime) -> schemas.TicketOut:
    return schemas.TicketOut(
        id=value.id,
        ticket_number=value.ticket_number,
        subject=value.subject,
        description=value.description,
        description_html=render_markdown(value.description),
        status=value.status,
        priority=value.priority,
        category=value.category,
        source=value.source,
        team_id=value.team_id,
        assignee_id=value.assignee_id,
        assignee=user_ref(organization, value.assignee_id),
        creator_id=value.creator_id,
        creator=user_ref(organization, value.creator_id),
        contact_id=value.contact_id,
        contact_email=value.contact_email,
        contact_name=value.contact_name,
        tags=tag_refs(organization, value.tag_ids),
        message_count=value.message_count,
        first_response_due_at=value.first_response_due_at,
        resolution_due_at=value.resolution_due_at,
        first_response_at=value.first_response_at,
        resolved_at=value.resolved_at,
        closed_at=value.closed_at,
        **sla_state(value.sla, value.status, now),
        follow_up_of=value.follow_up_of,
        follow_up_ids=list(value.follow_up_ids),
        assignee_outside_team=assignee_outside_team(organization, value.team_id, value.assignee_id),
        linked_issue_ids=list(value.linked_issue_ids),
        deleted=value.deleted,
        created_at=value.created_on,
        updated_at=value.modified_on,
        version=value.version,
    )


def ticket_list_item(summary: TicketSummary, org: Organization, now: datetime) -> schemas.TicketListItem:
    """A ticket as the list shows it (from the read side's summary)."""
    return schemas.TicketListItem(
        id=UUID(summary.id),
        ticket_number=summary.number,
        subject=summary.subject,
        status=Status(summary.status),
        priority=Priority(summary.priority),
        category=Category(summary.category),
        source=Source(summary.source),
        team_id=UUID(summary.team_id) if summary.team_id else None,
        assignee_id=UUID(summary.assignee_id) if summary.assignee_id else None,
        assignee=user_ref(org, summary.assignee_id),
        contact_email=summary.contact_email,
        contact_name=summary.contact_name,
        tags=tag_refs(org, summary.tag_ids),
        message_count=summary.message_count,
        first_response_due_at=summary.first_response_due_at,
        resolution_due_at=summary.resolution_due_at,
        **sla_state(summary.sla, Status(summary.status), now),
        created_at=summary.created_at,
        updated_at=summary.updated_at,
    )


# The attributes every stored event has; the rest of an event is its payload.
_EVENT_ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp", "actor_id"})
_JSON = msgspec.json.Encoder()


def stored_event_line(domain_event: Ticket.Event) -> bytes:
    """One stored event as a line of JSON: type, version, time, actor and its payload, in plain JSON."""
    payload = {k: v for k, v in vars(domain_event).items() if k not in _EVENT_ENVELOPE}
    return (
        _JSON.encode(
            {
                "type": type(domain_event).__qualname__,
                "version": domain_event.originator_version,
                "time": domain_event.timestamp,
                "actorId": getattr(domain_event, "actor_id", None),
                "payload": payload,
            }
        )
        + b"\n"
    )


def message(value: Message, ticket_id: UUID) -> schemas.MessageOut:
    return schemas.MessageOut(
        id=value.id,
        ticket_id=ticket_id,
        author_type=value.author_type,
        author_id=value.author_id,
        content=value.content,
        content_html=render_markdown(value.content),
        is_internal_note=value.is_internal_note,
        mentions=list(value.mentions),
        created_at=value.created_at,
        edited_at=value.edited_at,
        attachments=[attachment(a) for a in value.attachments],
        delivery=schemas.DeliveryOut(
            status=value.delivery.status,
            attempts=value.delivery.attempts,
            last_error=value.delivery.last_error,
        )
        if value.delivery
        else None,
    )


def attachment(value: Attachment) -> schemas.AttachmentOut:
    return schemas.AttachmentOut(
        id=value.id,
        filename=value.filename,
        content_type=value.content_type,
        size=value.size,
        sha256=value.sha256,
    )


def contact(value: Contact) -> schemas.ContactOut:
    return schemas.ContactOut(
        id=value.id,
        email=value.email,
        name=value.name,
        created_at=value.created_on,
        sign_in_requested_at=value.sign_in_requested_at,
    )


def portal_ticket_item(value: PortalTicket) -> schemas.PortalTicketItem:
    return schemas.PortalTicketItem(
        ticket_number=value.number,
        subject=value.subject,
        status=Status(value.status),
        created_at=value.created_at,
        updated_at=value.updated_at,
    )


def portal_ticket(
    value: PortalTicket, messages: list[PortalMessage], organization: Organization, contact_name: str
) -> schemas.PortalTicketOut:
    """A ticket and its public thread as the contact sees them (from the portal read model only)."""
    return schemas.PortalTicketOut(
        ticket_number=value.number,
        subject=value.subject,
        description=value.description,
        description_html=render_markdown(value.description),
        status=Status(value.status),
        created_at=value.created_at,
        updated_at=value.updated_at,
        messages=[portal_message(m, organization, contact_name) for m in messages],
    )


def portal_message(
    value: PortalMessage, organization: Organization, contact_name: str
) -> schemas.PortalMessageOut:
    """A member signs with their name (not their e-mail or @handle); the contact as themselves."""
    member = organization.members.get(value.author_id) if value.author_type == "member" else None
    author = (
        contact_name if value.author_type == "contact" else (member.name if member else organization.name)
    )
    return schemas.PortalMessageOut(
        id=UUID(value.message_id),
        author_type=value.author_type,
        author_name=author,
        content=value.content,
        content_html=render_markdown(value.content),
        created_at=value.created_at,
        attachments=[
            schemas.PortalAttachmentOut(
                id=UUID(a.attachment_id),
                filename=a.filename,
                content_type=a.content_type,
                size=a.size,
                url=f"/portal/attachments/{a.attachment_id}",
            )
            for a in value.attachments
        ],
    )


def activity(entry: Activity, organization: Organization) -> schemas.ActivityOut:
    """A timeline entry as clients see it: camelCase keys, times in UTC, names in the summary; a rule's
    change says so (`… by rule 'VIP routing'`)."""
    actor_type = organization.actor_type(entry.actor_id)
    said = summary(entry.summary, organization)
    if actor_type == "rule" and entry.type != "rule_run":
        said = f"{said} by rule {_name(Ref('rule', entry.actor_id), organization)}"
    return schemas.ActivityOut(
        id=entry.id,
        type=entry.type,
        summary=said,
        actor_id=entry.actor_id,
        actor=schemas.ActorOut(type=actor_type, id=entry.actor_id),
        old_value=_json_value(entry.old_value),
        new_value=_json_value(entry.new_value),
        created_at=entry.created_at,
        version=entry.version,
    )


_SNAKE_JOINT = re.compile(r"_([a-z])")


def _json_value(value: Any) -> Any:
    """An activity's value as the API writes it: dict keys in camelCase, times in UTC (msgspec then
    writes them as RFC 3339 with a `Z`, and UUIDs as strings)."""
    if isinstance(value, dict):
        return {_SNAKE_JOINT.sub(lambda m: m.group(1).upper(), k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return value


def summary(value: Summary, organization: Organization) -> str:
    """A summary's words with its values written out: `priority medium → urgent`, `assignee - → @alice`."""
    return value.text.format(*(_summary_word(v, organization) for v in value.values))


def _summary_word(value: SummaryValue, organization: Organization) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, datetime):
        # To the second: a summary is for reading; the exact time is in the entry's values.
        return f"{value.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
    if isinstance(value, Ref):
        return _name(value, organization)
    return value


def _name(ref: Ref, organization: Organization) -> str:
    """A member's @handle, a team's or tag's name; a short id for what the org no longer has."""
    if ref.id is None:
        return "-"
    key = str(ref.id)
    if ref.kind == "member" and key in organization.members:
        return f"@{organization.members[key].handle}"
    if ref.kind == "team" and key in organization.teams:
        return organization.teams[key].name
    if ref.kind == "tag" and key in organization.tags:
        return organization.tags[key].name
    if ref.kind == "rule" and key in organization.rule_names:
        return f"'{organization.rule_names[key]}'"
    return key[:8]


def issue(value: Issue) -> schemas.IssueOut:
    return schemas.IssueOut(
        id=value.id,
        issue_number=value.issue_number,
        title=value.title,
        description=value.description,
        description_html=render_markdown(value.description),
        status=value.status,
        priority=value.priority,
        assignee_id=value.assignee_id,
        metadata=dict(value.metadata),
        ticket_ids=list(value.ticket_ids),
        created_at=value.created_on,
        updated_at=value.modified_on,
        version=value.version,
    )


def issue_list_item(row: IssueRow) -> schemas.IssueListItem:
    return schemas.IssueListItem(
        id=UUID(row.issue_id),
        issue_number=row.number,
        title=row.title,
        status=IssueStatus(row.status),
        priority=Priority(row.priority),
        assignee_id=UUID(row.assignee_id) if row.assignee_id else None,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def notify(preferences: Preferences) -> dict[str, bool | DigestFrequency]:
    """The member's `notify`: each kind on or off, and `emailDigest`."""
    return {**preferences.notify, schemas.EMAIL_DIGEST: preferences.email_digest}


def inbox_item(item: InboxItem, organization: Organization) -> schemas.InboxItemOut:
    """A notification, with a one-line summary naming who did it (a member by @handle)."""
    actor = _name(Ref("member", UUID(item.actor_id)), organization) if item.actor_id else "a rule"
    about = f"#{item.ticket_number} {item.subject}" if item.ticket_number is not None else item.subject
    return schemas.InboxItemOut(
        id=item.item_id,
        kind=item.kind,
        summary=notification_summary(item.kind, actor, about),
        ticket_id=UUID(item.ticket_id) if item.ticket_id else None,
        ticket_number=item.ticket_number,
        subject=item.subject,
        actor_id=UUID(item.actor_id) if item.actor_id else None,
        created_at=item.created_at,
        read=item.read,
        position=item.position,
    )


def webhook(value: Webhook, now: datetime) -> schemas.WebhookOut:
    grace = value.previous_secret_until
    return schemas.WebhookOut(
        id=value.id,
        url=value.url,
        events=list(value.events),
        active=value.active,
        description=value.description,
        disabled_reason=value.disabled_reason,
        created_at=value.created_at,
        previous_secret_expires_at=grace if grace is not None and grace > now else None,
    )


def webhook_created(value: Webhook, now: datetime) -> schemas.WebhookCreated:
    return schemas.WebhookCreated(**msgspec.structs.asdict(webhook(value, now)), secret=value.secret)


def webhook_delivery(row: DeliveryRow) -> schemas.WebhookDeliveryOut:
    return schemas.WebhookDeliveryOut(
        id=UUID(row.delivery_id),
        webhook_id=UUID(row.webhook_id),
        event_id=UUID(row.event_id),
        event_type=row.event_type,
        position=row.position,
        status=row.state,
        attempts=row.attempts,
        response_status=row.status_code,
        latency_ms=row.latency_ms,
        error=row.error,
        response_body=row.response_body,
        next_attempt_at=row.due_at if row.state in ("pending", "retrying") else None,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def webhook_attempt(value: WebhookDelivery) -> schemas.WebhookDeliveryOut:
    """A delivery as its aggregate has it now (the answer to a ping or a redelivery)."""
    return schemas.WebhookDeliveryOut(
        id=value.id,
        webhook_id=value.webhook_id,
        event_id=value.event_id,
        event_type=value.event_type,
        position=value.position,
        status=value.state,
        attempts=value.attempts,
        response_status=value.status_code,
        latency_ms=value.latency_ms,
        error=value.error,
        response_body=None,
        next_attempt_at=value.retry_at if value.state in ("pending", "retrying") else None,
        created_at=value.first_attempt_at,
        updated_at=value.modified_on,
    )


def condition(value: Condition) -> schemas.ConditionOut:
    return schemas.ConditionOut(field=value.field, op=value.op, value=value.value)


def action(value: Action) -> schemas.ActionOut:
    return schemas.ActionOut(
        type=value.type,
        value=value.value,
        team_id=value.team_id,
        user_id=value.user_id,
        tag_id=value.tag_id,
        canned_response_id=value.canned_response_id,
        text=value.text,
        agent=value.agent,
    )


def rule(value: Rule) -> schemas.RuleOut:
    return schemas.RuleOut(
        id=value.id,
        name=value.name,
        on=list(value.on),
        conditions=schemas.ConditionsOut(
            all=[condition(c) for c in value.all_of], any=[condition(c) for c in value.any_of]
        ),
        actions=[action(a) for a in value.actions],
        active=value.active,
        position=value.position,
        active_since=value.since.astimezone(UTC),
    )


def dry_run(value: DryRun) -> schemas.RuleDryRunOut:
    return schemas.RuleDryRunOut(
        rule_id=value.rule.id,
        ticket_id=value.ticket.id,
        ticket_number=value.ticket.ticket_number,
        matched=value.matched,
        conditions=[
            schemas.ConditionResultOut(
                group="all" if r.group == "all" else "any",
                field=r.condition.field,
                op=r.condition.op,
                value=r.condition.value,
                holds=r.holds,
            )
            for r in value.conditions
        ],
        changes=[activity(a, value.org) for a in value.changes],
        error=value.error,
    )
