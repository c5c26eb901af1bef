"""The Organization aggregate: an org's members, teams, tags, SLA policies and canned responses.

These are small collections that change rarely and carry uniqueness rules (a handle per
org, a tag name per team scope, one SLA policy per priority and team), so one aggregate
per org is their consistency boundary.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from tickets.domain.errors import ConflictError, InvalidValueError, NotFoundError
from tickets.domain.snapshots import TypedAggregate
from tickets.domain.values import Priority, Role, SlaTargets

HANDLE_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?$")
COLOR_PATTERN = re.compile(r"^#[0-9a-fA-F]{6}$")


def default_handle(email: str) -> str:
    """The @handle a member gets unless given one: the e-mail's local part, tidied."""
    local = email.split("@", 1)[0].lower()
    tidy = re.sub(r"[^a-z0-9._-]", "-", local).strip("._-")
    return tidy or "user"


@dataclass
class Member:
    id: UUID
    email: str
    name: str
    role: Role
    handle: str


@dataclass
class Team:
    id: UUID
    name: str
    description: str


@dataclass
class Tag:
    id: UUID
    name: str
    color: str
    team_id: UUID | None


@dataclass
class SlaPolicy:
    id: UUID
    priority: Priority
    first_response_minutes: int
    resolution_minutes: int
    team_id: UUID | None

    @property
    def targets(self) -> SlaTargets:
        return SlaTargets(self.first_response_minutes, self.resolution_minutes)


@dataclass
class CannedResponse:
    id: UUID
    title: str
    body: str
    team_id: UUID | None
    created_by: UUID


class Organization(TypedAggregate):
    """An org and the settings its tickets depend on."""

    class Event(Aggregate.Event):
        actor_id: UUID | None

    class Created(Event, Aggregate.Created):
        slug: str
        name: str

    @event(Created)
    def __init__(self, slug: str, name: str, actor_id: UUID | None, timestamp: datetime) -> None:
        self.slug = slug
        self.name = name
        self.members: dict[str, Member] = {}
        self.teams: dict[str, Team] = {}
        self.tags: dict[str, Tag] = {}
        self.sla_policies: dict[str, SlaPolicy] = {}
        self.canned_responses: dict[str, CannedResponse] = {}

    # ------------------------------------------------------------------ members

    def member(self, user_id: UUID) -> Member:
        found = self.members.get(str(user_id))
        if found is None:
            raise NotFoundError(f"user {user_id} not found")
        return found

    def is_member(self, user_id: UUID) -> bool:
        return str(user_id) in self.members

    def members_by_handle(self) -> dict[str, UUID]:
        return {m.handle: m.id for m in self.members.values()}

    def add_member(
        self,
        user_id: UUID,
        email: str,
        name: str,
        role: Role,
        handle: str | None,
        actor_id: UUID | None,
        at: datetime,
    ) -> Member:
        """Add a member; e-mail and @handle are unique in the org."""
        email = email.strip().lower()
        handle = (handle or default_handle(email)).lower().lstrip("@")
        if not HANDLE_PATTERN.match(handle):
            raise InvalidValueError(f"handle {handle!r} may hold only a-z, 0-9, '.', '_' and '-'")
        if any(m.email == email for m in self.members.values()):
            raise ConflictError(f"a member with e-mail {email} already exists")
        if any(m.handle == handle for m in self.members.values()):
            raise ConflictError(f"handle @{handle} is taken; choose another handle")
        self._member_added(
            user_id=user_id,
            email=email,
            name=name,
            role=role.value,
            handle=handle,
            actor_id=actor_id,
            timestamp=at,
        )
        return self.member(user_id)

    class MemberAdded(Event):
        user_id: UUID
        email: str
        name: str
        role: str
        handle: str

    @event(MemberAdded)
    def _member_added(
        self,
        user_id: UUID,
        email: str,
        name: str,
        role: str,
        handle: str,
        actor_id: UUID | None,
        timestamp: datetime,
    ) -> None:
        self.members[str(user_id)] = Member(user_id, email, name, Role(role), handle)

    def update_member(
        self, user_id: UUID, name: str | None, role: Role | None, actor_id: UUID, at: datetime
    ) -> Member:
        member = self.member(user_id)
        changes: dict[str, Any] = {}
        if name is not None and name != member.name:
            changes["name"] = name
        if role is not None and role != member.role:
            if member.role == Role.ADMIN and not self._has_other_admin(user_id):
                raise ConflictError("the org's last admin cannot lose the admin role")
            changes["role"] = role.value
        if changes:
            self._member_updated(user_id=user_id, changes=changes, actor_id=actor_id, timestamp=at)
        return self.member(user_id)

    def _has_other_admin(self, user_id: UUID) -> bool:
        return any(m.role == Role.ADMIN and m.id != user_id for m in self.members.values())

    class MemberUpdated(Event):
        user_id: UUID
        changes: dict[str, Any]

    @event(MemberUpdated)
    def _member_updated(
        self, user_id: UUID, changes: dict[str, Any], actor_id: UUID, timestamp: datetime
    ) -> None:
        member = self.members[str(user_id)]
        if "role" in changes:
            changes = {**changes, "role": Role(changes["role"])}
        self.members[str(user_id)] = replace(member, **changes)

    # ------------------------------------------------------------------ teams

    def team(self, team_id: UUID) -> Team:
        found = self.teams.get(str(team_id))
        if found is None:
            raise NotFoundError(f"team {team_id} not found")
        return found

    def require_team(self, team_id: UUID | None) -> None:
        """Check a referenced team exists (a bad reference is invalid input, not a missing page)."""
        if team_id is not None and str(team_id) not in self.teams:
            raise InvalidValueError(f"teamId {team_id} is not a team of this org")

    def _ensure_team_name_free(self, name: str, except_id: UUID | None = None) -> None:
        if any(t.name.lower() == name.lower() and t.id != except_id for t in self.teams.values()):
            raise ConflictError(f"a team named {name!r} already exists")

    def create_team(self, team_id: UUID, name: str, description: str, actor_id: UUID, at: datetime) -> Team:
        self._ensure_team_name_free(name)
        self._team_created(
            team_id=team_id, name=name, description=description, actor_id=actor_id, timestamp=at
        )
        return self.team(team_id)

    class TeamCreated(Event):
        team_id: UUID
        name: str
        description: str

    @event(TeamCreated)
    def _team_created(
        self, team_id: UUID, name: str, description: str, actor_id: UUID, timestamp: datetime
    ) -> None:
        self.teams[str(team_id)] = Team(team_id, name, description)

    def update_team(self, team_id: UUID, changes: dict[str, Any], actor_id: UUID, at: datetime) -> Team:
        team = self.team(team_id)
        if "name" in changes:
            self._ensure_team_name_free(changes["name"], except_id=team_id)
        changes = {k: v for k, v in changes.items() if getattr(team, k) != v}
        if changes:
            self._team_updated(team_id=team_id, changes=changes, actor_id=actor_id, timestamp=at)
        return self.team(team_id)

    class TeamUpdated(Event):
        team_id: UUID
        changes: dict[str, Any]

    @event(TeamUpdated)
    def _team_updated(
        self, team_id: UUID, changes: dict[str, Any], actor_id: UUID, timestamp: datetime
    ) -> None:
        self.teams[str(team_id)] = replace(self.teams[str(team_id)], **changes)

    def delete_team(self, team_id: UUID, actor_id: UUID, at: datetime) -> None:
        """Delete a team that no tag, SLA policy or canned response is scoped to."""
        self.team(team_id)
        in_use = [
            f"{len(items)} {kind}"
            for kind, items in (
                ("tag(s)", [t for t in self.tags.values() if t.team_id == team_id]),
                ("SLA policy(ies)", [p for p in self.sla_policies.values() if p.team_id == team_id]),
                ("canned response(s)", [c for c in self.canned_responses.values() if c.team_id == team_id]),
            )
            if items
        ]
        if in_use:
            raise ConflictError(f"team {team_id} still has {', '.join(in_use)}; delete or move them first")
        self._team_deleted(team_id=team_id, actor_id=actor_id, timestamp=at)

    class TeamDeleted(Event):
        team_id: UUID

    @event(TeamDeleted)
    def _team_deleted(self, team_id: UUID, actor_id: UUID, timestamp: datetime) -> None:
        del self.teams[str(team_id)]

    # ------------------------------------------------------------------ tags

    def tag(self, tag_id: UUID) -> Tag:
        found = self.tags.get(str(tag_id))
        if found is None:
            raise NotFoundError(f"tag {tag_id} not found")
        return found

    def require_tags(self, tag_ids: list[UUID]) -> None:
        unknown = [str(t) for t in tag_ids if str(t) not in self.tags]
        if unknown:
            raise InvalidValueError(f"unknown tag id(s): {', '.join(unknown)}")

    def _check_tag(self, name: str, color: str, team_id: UUID | None, except_id: UUID | None = None) -> None:
        if not COLOR_PATTERN.match(color):
            raise InvalidValueError(f"color {color!r} is not of the form #rrggbb")
        self.require_team(team_id)
        for tag in self.tags.values():
            if tag.id != except_id and tag.team_id == team_id and tag.name.lower() == name.lower():
                scope = f"team {team_id}" if team_id else "the org"
                raise ConflictError(f"a tag named {name!r} already exists in {scope}")

    def create_tag(
        self, tag_id: UUID, name: str, color: str, team_id: UUID | None, actor_id: UUID, at: datetime
    ) -> Tag:
        self._check_tag(name, color, team_id)
        self._tag_created(
            tag_id=tag_id, name=name, color=color.lower(), team_id=team_id, actor_id=actor_id, timestamp=at
        )
        return self.tag(tag_id)

    class TagCreated(Event):
        tag_id: UUID
        name: str
        color: str
        team_id: UUID | None

    @event(TagCreated)
    def _tag_created(
        self, tag_id: UUID, name: str, color: str, team_id: UUID | None, actor_id: UUID, timestamp: datetime
    ) -> None:
        self.tags[str(tag_id)] = Tag(tag_id, name, color, team_id)

    def update_tag(self, tag_id: UUID, changes: dict[str, Any], actor_id: UUID, at: datetime) -> Tag:
        merged = replace(self.tag(tag_id), **changes)
        self._check_tag(merged.name, merged.color, merged.team_id, except_id=tag_id)
        if "color" in changes:
            changes["color"] = changes["color"].lower()
        current = self.tag(tag_id)
        changes = {k: v for k, v in changes.items() if getattr(current, k) != v}
        if changes:
            self._tag_updated(tag_id=tag_id, changes=changes, actor_id=actor_id, timestamp=at)
        return self.tag(tag_id)

    class TagUpdated(Event):
        tag_id: UUID
        changes: dict[str, Any]

    @event(TagUpdated)
    def _tag_updated(
        self, tag_id: UUID, changes: dict[str, Any], actor_id: UUID, timestamp: datetime
    ) -> None:
        self.tags[str(tag_id)] = replace(self.tags[str(tag_id)], **changes)

    def delete_tag(self, tag_id: UUID, actor_id: UUID, at: datetime) -> None:
        self.tag(tag_id)
        self._tag_deleted(tag_id=tag_id, actor_id=actor_id, timestamp=at)

    class TagDeleted(Event):
        tag_id: UUID

    @event(TagDeleted)
    def _tag_deleted(self, tag_id: UUID, actor_id: UUID, timestamp: datetime) -> None:
        del self.tags[str(tag_id)]

    # ------------------------------------------------------------------ SLA policies

    def sla_policy(self, policy_id: UUID) -> SlaPolicy:
        found = self.sla_policies.get(str(policy_id))
        if found is None:
            raise NotFoundError(f"SLA policy {policy_id} not found")
        return found

    def sla_targets_for(self, priority: Priority, team_id: UUID | None) -> SlaTargets | None:
        """The team's policy for this priority, else the org-wide one, else None."""
        fallback: SlaTargets | None = None
        for policy in self.sla_policies.values():
            if policy.priority != priority:
                continue
            if team_id is not None and policy.team_id == team_id:
                return policy.targets
            if policy.team_id is None:
                fallback = policy.targets
        return fallback

    def _check_sla_policy(self, policy: SlaPolicy) -> None:
        if policy.first_response_minutes <= 0 or policy.resolution_minutes <= 0:
            raise InvalidValueError("firstResponseMinutes and resolutionMinutes must be positive")
        self.require_team(policy.team_id)
        for other in self.sla_policies.values():
            if other.id != policy.id and (other.priority, other.team_id) == (policy.priority, policy.team_id):
                scope = f"team {policy.team_id}" if policy.team_id else "the org"
                raise ConflictError(f"{scope} already has an SLA policy for priority {policy.priority.value}")

    def create_sla_policy(self, policy: SlaPolicy, actor_id: UUID, at: datetime) -> SlaPolicy:
        self._check_sla_policy(policy)
        fields = asdict(policy)
        fields["priority"] = policy.priority.value
        fields["policy_id"] = fields.pop("id")
        self._sla_policy_created(**fields, actor_id=actor_id, timestamp=at)
        return self.sla_policy(policy.id)

    class SlaPolicyCreated(Event):
        policy_id: UUID
        priority: str
        first_response_minutes: int
        resolution_minutes: int
        team_id: UUID | None

    @event(SlaPolicyCreated)
    def _sla_policy_created(
        self,
        policy_id: UUID,
        priority: str,
        first_response_minutes: int,
        resolution_minutes: int,
        team_id: UUID | None,
        actor_id: UUID,
        timestamp: datetime,
    ) -> None:
        self.sla_policies[str(policy_id)] = SlaPolicy(
            policy_id, Priority(priority), first_response_minutes, resolution_minutes, team_id
        )

    def update_sla_policy(
        self, policy_id: UUID, changes: dict[str, Any], actor_id: UUID, at: datetime
    ) -> SlaPolicy:
        current = self.sla_policy(policy_id)
        merged = replace(current, **changes)
        self._check_sla_policy(merged)
        encoded = {
            k: (v.value if isinstance(v, Priority) else v)
            for k, v in changes.items()
            if getattr(current, k) != v
        }
        if encoded:
            self._sla_policy_updated(policy_id=policy_id, changes=encoded, actor_id=actor_id, timestamp=at)
        return self.sla_policy(policy_id)

    class SlaPolicyUpdated(Event):
        policy_id: UUID
        changes: dict[str, Any]

    @event(SlaPolicyUpdated)
    def _sla_policy_updated(
        self, policy_id: UUID, changes: dict[str, Any], actor_id: UUID, timestamp: datetime
    ) -> None:
        if "priority" in changes:
            changes = {**changes, "priority": Priority(changes["priority"])}
        self.sla_policies[str(policy_id)] = replace(self.sla_policies[str(policy_id)], **changes)

    def delete_sla_policy(self, policy_id: UUID, actor_id: UUID, at: datetime) -> None:
        self.sla_policy(policy_id)
        self._sla_policy_deleted(policy_id=policy_id, actor_id=actor_id, timestamp=at)

    class SlaPolicyDeleted(Event):
        policy_id: UUID

    @event(SlaPolicyDeleted)
    def _sla_policy_deleted(self, policy_id: UUID, actor_id: UUID, timestamp: datetime) -> None:
        del self.sla_policies[str(policy_id)]

    # ------------------------------------------------------------------ canned responses

    def canned_response(self, canned_id: UUID) -> CannedResponse:
        found = self.canned_responses.get(str(canned_id))
        if found is None:
            raise NotFoundError(f"canned response {canned_id} not found")
        return found

    def create_canned_response(self, canned: CannedResponse, actor_id: UUID, at: datetime) -> CannedResponse:
        self.require_team(canned.team_id)
        self._canned_response_created(
            canned_id=canned.id,
            title=canned.title,
            body=canned.body,
            team_id=canned.team_id,
            created_by=canned.created_by,
            actor_id=actor_id,
            timestamp=at,
        )
        return self.canned_response(canned.id)

    class CannedResponseCreated(Event):
        canned_id: UUID
        title: str
        body: str
        team_id: UUID | None
        created_by: UUID

    @event(CannedResponseCreated)
    def _canned_response_created(
        self,
        canned_id: UUID,
        title: str,
        body: str,
        team_id: UUID | None,
        created_by: UUID,
        actor_id: UUID,
        timestamp: datetime,
    ) -> None:
        self.canned_responses[str(canned_id)] = CannedResponse(canned_id, title, body, team_id, created_by)

    def update_canned_response(
        self, canned_id: UUID, changes: dict[str, Any], actor_id: UUID, at: datetime
    ) -> CannedResponse:
        current = self.canned_response(canned_id)
        if "team_id" in changes:
            self.require_team(changes["team_id"])
        changes = {k: v for k, v in changes.items() if getattr(current, k) != v}
        if changes:
            self._canned_response_updated(
                canned_id=canned_id, changes=changes, actor_id=actor_id, timestamp=at
            )
        return self.canned_response(canned_id)

    class CannedResponseUpdated(Event):
        canned_id: UUID
        changes: dict[str, Any]

    @event(CannedResponseUpdated)
    def _canned_response_updated(
        self, canned_id: UUID, changes: dict[str, Any], actor_id: UUID, timestamp: datetime
    ) -> None:
        self.canned_responses[str(canned_id)] = replace(self.canned_responses[str(canned_id)], **changes)

    def delete_canned_response(self, canned_id: UUID, actor_id: UUID, at: datetime) -> None:
        self.canned_response(canned_id)
        self._canned_response_deleted(canned_id=canned_id, actor_id=actor_id, timestamp=at)

    class CannedResponseDeleted(Event):
        canned_id: UUID

    @event(CannedResponseDeleted)
    def _canned_response_deleted(self, canned_id: UUID, actor_id: UUID, timestamp: datetime) -> None:
        del self.canned_responses[str(canned_id)]
