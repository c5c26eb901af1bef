"""The Organization aggregate: an org's members, teams, tags, SLA policies and canned responses.

These are small collections that change rarely and carry uniqueness rules (a handle per
org, a tag name per team scope, one SLA policy per priority and team), so one aggregate
per org is their consistency boundary.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar, cast
from urllib.parse import urlsplit
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from tickets.domain.commands import (
    KEEP,
    CannedResponseChanges,
    Keep,
    MemberChanges,
    SlaPolicyChanges,
    TagChanges,
    TeamChanges,
)
from tickets.domain.errors import ConflictError, InvalidValueError, NotFoundError
from tickets.domain.rules import Rule, check_rule, rule_order
from tickets.domain.snapshots import TypedAggregate
from tickets.domain.values import Priority, Role, SlaTargets

HANDLE_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?$")
COLOR_PATTERN = re.compile(r"^#[0-9a-fA-F]{6}$")


def default_handle(email: str) -> str:
    """The @handle a member gets unless given one: the e-mail's local part, tidied."""
    local = email.split("@", 1)[0].lower()
    tidy = re.sub(r"[^a-z0-9._-]", "-", local).strip("._-")
    return tidy or "user"


# A member is a person (`human`) or an agent, a program that @-mentions and rules dispatch to
# (docs/automation.md): it has no e-mail and no token of its own, and either a dispatch URL (an
# external agent) or a built-in behaviour.
MemberKind = Literal["human", "agent"]
AgentBehaviour = Literal["triage"]
AGENT_BEHAVIOURS: tuple[AgentBehaviour, ...] = ("triage",)


@dataclass(frozen=True)
class Member:
    id: UUID
    email: str
    name: str
    role: Role
    handle: str
    kind: MemberKind = "human"
    # An agent's: where its dispatches are POSTed (external), or which built-in behaviour runs them.
    dispatch_url: str | None = None
    behaviour: AgentBehaviour | None = None

    @property
    def is_agent(self) -> bool:
        return self.kind == "agent"


@dataclass(frozen=True)
class Team:
    id: UUID
    name: str
    description: str
    # Its members, in the order they joined (round-robin assignment goes round in this order).
    member_ids: tuple[UUID, ...] = ()
    # A private team's tickets are seen by its members and admins only.
    private: bool = False


@dataclass(frozen=True)
class Tag:
    id: UUID
    name: str
    color: str
    team_id: UUID | None


@dataclass(frozen=True)
class SlaPolicy:
    id: UUID
    priority: Priority
    first_response_minutes: int
    resolution_minutes: int
    team_id: UUID | None

    @property
    def targets(self) -> SlaTargets:
        return SlaTargets(self.first_response_minutes, self.resolution_minutes)


@dataclass(frozen=True)
class CannedResponse:
    id: UUID
    title: str
    body: str
    team_id: UUID | None
    created_by: UUID


# How long a resolved ticket waits for its contact to push back before it closes by itself.
DEFAULT_AUTO_CLOSE_DAYS = 7
AUTO_CLOSE_DAYS_RANGE = range(1, 366)
# An assignee is warned that a ticket is about to breach once this share of its SLA target has gone.
DEFAULT_SLA_WARNING_PERCENT = 80
SLA_WARNING_PERCENT_RANGE = range(1, 100)

# Who an event's actor is (`Organization.actor_type`); `agent` is for members that are agents.
ActorType = Literal["member", "contact", "rule", "agent", "system"]


class Organization(TypedAggregate):
    """An org and the settings its tickets depend on."""

    # Snapshots (`domain/snapshots.py`): 2 adds the push-back window; 3 the e-mail settings; 4 agents
    # (members' kind, dispatch URL, behaviour); 5 team members and trigger rules (a snapshot of an
    # earlier version would restore teams without members and no rules, so it is ignored); 6 the SLA
    # warning share.
    class_version = 6

    class Event(Aggregate.Event):
        actor_id: UUID | None

    class Created(Event, Aggregate.Created):
        slug: str
        name: str

    # Dicts of immutable values (frozen dataclasses, ids, names): a copy of the org shares the values
    # (every request loads its org: copying each member, team and tag made that its costliest part).
    _SHALLOW_COPIED = frozenset(
        {
            "members",
            "teams",
            "tags",
            "sla_policies",
            "canned_responses",
            "mail_addresses",
            "rules",
            "rule_names",
        }
    )

    @event(Created)
    def __init__(self, slug: str, name: str, actor_id: UUID | None, timestamp: datetime) -> None:
        self.slug = slug
        self.name = name
        self.members: dict[str, Member] = {}
        self.teams: dict[str, Team] = {}
        self.tags: dict[str, Tag] = {}
        self.sla_policies: dict[str, SlaPolicy] = {}
        self.canned_responses: dict[str, CannedResponse] = {}
        self.auto_close_after_days = DEFAULT_AUTO_CLOSE_DAYS
        self.sla_warning_percent: int | None = DEFAULT_SLA_WARNING_PERCENT
        # E-mail: a receipt for each new emailed or portal ticket; extra addresses -> their team.
        self.acknowledge_new_tickets = True
        self.mail_addresses: dict[str, UUID | None] = {}
        # Trigger rules by id, and the name of every rule there ever was (deleted ones too), so a
        # ticket's history still says "by rule 'VIP routing'".
        self.rules: dict[str, Rule] = {}
        self.rule_names: dict[str, str] = {}

    # ------------------------------------------------------------------ actors

    def actor_type(self, actor_id: UUID | None) -> ActorType:
        """Who an event's `actor_id` is: the one place that decides it (timelines, the event feed).

        None is the system itself (the closer, the breach recorder); a rule's id (of a rule that
        exists or existed) a rule; an agent (a member of kind agent) an agent; an org member a
        member; any other id a contact (contacts act under their derived id, `contact_id_for`;
        members are never removed).
        """
        if actor_id is None:
            return "system"
        key = str(actor_id)
        if key in self.rule_names:
            return "rule"
        if key in self.members:
            return "agent" if self.members[key].is_agent else "member"
        return "contact"

    # ------------------------------------------------------------------ e-mail

    def set_acknowledge_new_tickets(self, enabled: bool, actor_id: UUID, at: datetime) -> None:
        """Whether a new ticket that came by e-mail or the portal gets a receipt e-mail."""
        if enabled != self.acknowledge_new_tickets:
            self._acknowledgements_changed(enabled=enabled, actor_id=actor_id, timestamp=at)

    class AcknowledgementsChanged(Event):
        enabled: bool

    @event(AcknowledgementsChanged)
    def _acknowledgements_changed(self, enabled: bool, actor_id: UUID, timestamp: datetime) -> None:
        self.acknowledge_new_tickets = enabled

    def add_mail_address(self, address: str, team_id: UUID | None, actor_id: UUID, at: datetime) -> None:
        """Receive mail at `address` too, routed to `team_id` if given (a team of this org)."""
        self.require_team(team_id)
        if address in self.mail_addresses:
            raise ConflictError(f"{address} is already an address of this org")
        self._mail_address_added(address=address, team_id=team_id, actor_id=actor_id, timestamp=at)

    class MailAddressAdded(Event):
        address: str
        team_id: UUID | None

    @event(MailAddressAdded)
    def _mail_address_added(
        self, address: str, team_id: UUID | None, actor_id: UUID, timestamp: datetime
    ) -> None:
        self.mail_addresses = {**self.mail_addresses, address: team_id}

    def remove_mail_address(self, address: str, actor_id: UUID, at: datetime) -> None:
        if address not in self.mail_addresses:
            raise NotFoundError(f"{address} is not an address of this org")
        self._mail_address_removed(address=address, actor_id=actor_id, timestamp=at)

    class MailAddressRemoved(Event):
        address: str

    @event(MailAddressRemoved)
    def _mail_address_removed(self, address: str, actor_id: UUID, timestamp: datetime) -> None:
        self.mail_addresses = {a: t for a, t in self.mail_addresses.items() if a != address}

    # ------------------------------------------------------------------ the push-back window

    @property
    def push_back_window(self) -> timedelta:
        return timedelta(days=self.auto_close_after_days)

    def set_auto_close_after_days(self, days: int, actor_id: UUID, at: datetime) -> None:
        """Resolved tickets close by themselves after `days` (1-365) without a reply from the contact."""
        if days not in AUTO_CLOSE_DAYS_RANGE:
            raise InvalidValueError(f"autoCloseAfterDays must be from 1 to 365, not {days}")
        if days != self.auto_close_after_days:
            self._auto_close_changed(days=days, actor_id=actor_id, timestamp=at)

    class AutoCloseChanged(Event):
        days: int

    @event(AutoCloseChanged)
    def _auto_close_changed(self, days: int, actor_id: UUID, timestamp: datetime) -> None:
        self.auto_close_after_days = days

    # ------------------------------------------------------------------ SLA warnings

    def set_sla_warning_percent(self, percent: int | None, actor_id: UUID, at: datetime) -> None:
        """Warn assignees when `percent` (1-99) of a ticket's SLA target has gone; None: never."""
        if percent is not None and percent not in SLA_WARNING_PERCENT_RANGE:
            raise InvalidValueError(
                f"slaWarningPercent must be from 1 to 99 (or null: no warnings), not {percent}"
            )
        if percent != self.sla_warning_percent:
            self._sla_warning_changed(percent=percent, actor_id=actor_id, timestamp=at)

    class SlaWarningChanged(Event):
        percent: int | None

    @event(SlaWarningChanged)
    def _sla_warning_changed(self, percent: int | None, actor_id: UUID, timestamp: datetime) -> None:
        self.sla_warning_percent = percent

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

    def update_member(self, user_id: UUID, changes: MemberChanges, actor_id: UUID, at: datetime) -> Member:
        member = self.member(user_id)
        name = _changed(changes.name, member.name)
        role = _changed(changes.role, member.role)
        if role is not None and member.is_agent:
            raise InvalidValueError(f"@{member.handle} is an agent: its role stays {member.role.value}")
        if role is not None and member.role == Role.ADMIN and not self._has_other_admin(user_id):
            raise ConflictError("the org's last admin cannot lose the admin role")
        if (name, role) != (None, None):
            self._member_updated(
                user_id=user_id,
                name=name,
                role=None if role is None else role.value,
                actor_id=actor_id,
                timestamp=at,
            )
        return self.member(user_id)

    def _has_other_admin(self, user_id: UUID) -> bool:
        return any(m.role == Role.ADMIN and m.id != user_id for m in self.members.values())

    class MemberUpdated(Event):
        """The new name and role; None: unchanged."""

        class_version = 2
        user_id: UUID
        name: str | None
        role: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            _typed_changes(state, ("name", "role"))

    @event(MemberUpdated)
    def _member_updated(
        self, user_id: UUID, name: str | None, role: str | None, actor_id: UUID, timestamp: datetime
    ) -> None:
        member = self.members[str(user_id)]
        self.members[str(user_id)] = replace(
            member, name=_kept(name, member.name), role=member.role if role is None else Role(role)
        )

    # ------------------------------------------------------------------ agents

    def agent(self, user_id: UUID) -> Member:
        member = self.member(user_id)
        if not member.is_agent:
            raise NotFoundError(f"agent {user_id} not found")
        return member

    def agents(self) -> list[Member]:
        return [m for m in self.members.values() if m.is_agent]

    def find_agent(self, ref: str) -> Member:
        """An agent by id or by @handle."""
        ref = ref.strip()
        for member in self.agents():
            if ref in (str(member.id), member.handle, f"@{member.handle}"):
                return member
        raise NotFoundError(f"no agent {ref!r} in this org")

    def add_agent(
        self,
        user_id: UUID,
        name: str,
        handle: str,
        dispatch_url: str | None,
        behaviour: str | None,
        actor_id: UUID | None,
        at: datetime,
    ) -> Member:
        """Add an agent: a member with an @handle, no e-mail, and a dispatch URL or a built-in behaviour."""
        handle = handle.lower().lstrip("@")
        if not HANDLE_PATTERN.match(handle):
            raise InvalidValueError(f"handle {handle!r} may hold only a-z, 0-9, '.', '_' and '-'")
        if any(m.handle == handle for m in self.members.values()):
            raise ConflictError(f"handle @{handle} is taken; choose another handle")
        _check_agent_target(dispatch_url, behaviour)
        self._agent_added(
            user_id=user_id,
            name=name,
            handle=handle,
            dispatch_url=dispatch_url,
            behaviour=behaviour,
            actor_id=actor_id,
            timestamp=at,
        )
        return self.member(user_id)

    class AgentAdded(Event):
        user_id: UUID
        name: str
        handle: str
        dispatch_url: str | None
        behaviour: str | None

    @event(AgentAdded)
    def _agent_added(
        self,
        user_id: UUID,
        name: str,
        handle: str,
        dispatch_url: str | None,
        behaviour: str | None,
        actor_id: UUID | None,
        timestamp: datetime,
    ) -> None:
        # Agents act as agents (the role): they write to the tickets they are dispatched to, nothing else.
        self.members[str(user_id)] = Member(
            user_id,
            "",
            name,
            Role.AGENT,
            handle,
            "agent",
            dispatch_url,
            cast("AgentBehaviour | None", behaviour),
        )

    def update_agent(
        self,
        user_id: UUID,
        name: str | Keep,
        dispatch_url: str | Keep | None,
        behaviour: str | Keep | None,
        actor_id: UUID,
        at: datetime,
    ) -> Member:
        """Rename an agent or change what runs its dispatches (a URL or a behaviour, never both)."""
        agent = self.agent(user_id)
        new_name = _or(name, agent.name)
        new_url = _or(dispatch_url, agent.dispatch_url)
        new_behaviour = _or(behaviour, agent.behaviour)
        # Setting one of the two clears the other, unless both were sent.
        if not isinstance(dispatch_url, Keep) and dispatch_url is not None and isinstance(behaviour, Keep):
            new_behaviour = None
        if not isinstance(behaviour, Keep) and behaviour is not None and isinstance(dispatch_url, Keep):
            new_url = None
        _check_agent_target(new_url, new_behaviour)
        if (new_name, new_url, new_behaviour) != (agent.name, agent.dispatch_url, agent.behaviour):
            self._agent_updated(
                user_id=user_id,
                name=new_name,
                dispatch_url=new_url,
                behaviour=new_behaviour,
                actor_id=actor_id,
                timestamp=at,
            )
        return self.member(user_id)

    class AgentUpdated(Event):
        """The agent's name and target after the change (all three, as they now are)."""

        user_id: UUID
        name: str
        dispatch_url: str | None
        behaviour: str | None

    @event(AgentUpdated)
    def _agent_updated(
        self,
        user_id: UUID,
        name: str,
        dispatch_url: str | None,
        behaviour: str | None,
        actor_id: UUID,
        timestamp: datetime,
    ) -> None:
        self.members[str(user_id)] = replace(
            self.members[str(user_id)],
            name=name,
            dispatch_url=dispatch_url,
            behaviour=cast("AgentBehaviour | None", behaviour),
        )

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

    def update_team(self, team_id: UUID, changes: TeamChanges, actor_id: UUID, at: datetime) -> Team:
        team = self.team(team_id)
        name = _changed(changes.name, team.name)
        description = _changed(changes.description, team.description)
        if name is not None:
            self._ensure_team_name_free(name, except_id=team_id)
        if (name, description) != (None, None):
            self._team_updated(
                team_id=team_id, name=name, description=description, actor_id=actor_id, timestamp=at
            )
        return self.team(team_id)

    class TeamUpdated(Event):
        """The new name and description; None: unchanged."""

        class_version = 2
        team_id: UUID
        name: str | None
        description: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            _typed_changes(state, ("name", "description"))

    @event(TeamUpdated)
    def _team_updated(
        self, team_id: UUID, name: str | None, description: str | None, actor_id: UUID, timestamp: datetime
    ) -> None:
        team = self.teams[str(team_id)]
        self.teams[str(team_id)] = replace(
            team, name=_kept(name, team.name), description=_kept(description, team.description)
        )

    def set_team_private(self, team_id: UUID, private: bool, actor_id: UUID, at: datetime) -> Team:
        """Make a team private (its tickets seen by its members and admins only) or not."""
        if self.team(team_id).private != private:
            self._team_privacy_changed(team_id=team_id, private=private, actor_id=actor_id, timestamp=at)
        return self.team(team_id)

    class TeamPrivacyChanged(Event):
        team_id: UUID
        private: bool

    @event(TeamPrivacyChanged)
    def _team_privacy_changed(
        self, team_id: UUID, private: bool, actor_id: UUID, timestamp: datetime
    ) -> None:
        self.teams[str(team_id)] = replace(self.teams[str(team_id)], private=private)

    def hidden_team_ids(self, user_id: UUID, role: Role) -> set[str]:
        """The private teams whose tickets this member may not see: the one rule of who sees what.
        Admins see every team's; a member sees a private team's only as one of its members."""
        if role == Role.ADMIN:
            return set()
        return {key for key, team in self.teams.items() if team.private and user_id not in team.member_ids}

    def delete_team(self, team_id: UUID, actor_id: UUID, at: datetime) -> None:
        """Delete a team that no tag, SLA policy or canned response is scoped to."""
        self.team(team_id)
        in_use = [
            f"{len(items)} {kind}"
            for kind, items in (
                ("tag(s)", [t for t in self.tags.values() if t.team_id == team_id]),
                ("SLA policy(ies)", [p for p in self.sla_policies.values() if p.team_id == team_id]),
                ("canned response(s)", [c for c in self.canned_responses.values() if c.team_id == team_id]),
                ("rule(s)", [r for r in self.rules.values() if team_id in {a.team_id for a in r.actions}]),
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

    # ------------------------------------------------------------------ team members

    def add_team_member(self, team_id: UUID, user_id: UUID, actor_id: UUID, at: datetime) -> Member:
        """Make an org member a member of the team (again: nothing changes)."""
        team = self.team(team_id)
        member = self.member(user_id)
        if user_id not in team.member_ids:
            self._team_member_added(team_id=team_id, user_id=user_id, actor_id=actor_id, timestamp=at)
        return member

    class TeamMemberAdded(Event):
        team_id: UUID
        user_id: UUID

    @event(TeamMemberAdded)
    def _team_member_added(self, team_id: UUID, user_id: UUID, actor_id: UUID, timestamp: datetime) -> None:
        team = self.teams[str(team_id)]
        self.teams[str(team_id)] = replace(team, member_ids=(*team.member_ids, user_id))

    def remove_team_member(self, team_id: UUID, user_id: UUID, actor_id: UUID, at: datetime) -> None:
        team = self.team(team_id)
        if user_id not in team.member_ids:
            raise NotFoundError(f"user {user_id} is not a member of team {team.name!r}")
        self._team_member_removed(team_id=team_id, user_id=user_id, actor_id=actor_id, timestamp=at)

    class TeamMemberRemoved(Event):
        team_id: UUID
        user_id: UUID

    @event(TeamMemberRemoved)
    def _team_member_removed(self, team_id: UUID, user_id: UUID, actor_id: UUID, timestamp: datetime) -> None:
        team = self.teams[str(team_id)]
        self.teams[str(team_id)] = replace(team, member_ids=tuple(m for m in team.member_ids if m != user_id))

    def team_members(self, team_id: UUID) -> list[Member]:
        """The team's members, in the order they joined."""
        return [self.members[str(m)] for m in self.team(team_id).member_ids]

    # ------------------------------------------------------------------ trigger rules

    def rule(self, rule_id: UUID) -> Rule:
        found = self.rules.get(str(rule_id))
        if found is None:
            raise NotFoundError(f"rule {rule_id} not found")
        return found

    def ordered_rules(self) -> list[Rule]:
        """The rules in the order they run: by position, then name."""
        return sorted(self.rules.values(), key=rule_order)

    def _check_rule(self, rule: Rule) -> Rule:
        """The rule checked (`domain/rules.py`) and its references to this org's teams, members, tags and
        canned responses checked too; a name taken by another rule is a conflict."""
        checked = check_rule(rule)
        for i, action in enumerate(checked.actions):
            where = f"actions[{i}]"
            if action.team_id is not None and str(action.team_id) not in self.teams:
                raise InvalidValueError(f"{where}.teamId: {action.team_id} is not a team of this org")
            if action.user_id is not None and str(action.user_id) not in self.members:
                raise InvalidValueError(f"{where}.userId: {action.user_id} is not a member of this org")
            if action.tag_id is not None and str(action.tag_id) not in self.tags:
                raise InvalidValueError(f"{where}.tagId: {action.tag_id} is not a tag of this org")
            canned = action.canned_response_id
            if canned is not None and str(canned) not in self.canned_responses:
                raise InvalidValueError(
                    f"{where}.cannedResponseId: {canned} is not a canned response of this org"
                )
        for other in self.rules.values():
            if other.id != checked.id and other.name.lower() == checked.name.lower():
                raise ConflictError(f"a rule named {checked.name!r} already exists")
        return checked

    def create_rule(self, rule: Rule, actor_id: UUID, at: datetime) -> Rule:
        checked = self._check_rule(rule)
        self._rule_created(
            rule_id=checked.id, definition=checked.definition(), actor_id=actor_id, timestamp=at
        )
        return self.rule(checked.id)

    class RuleCreated(Event):
        """A trigger rule; `definition` is `Rule.definition()`: plain JSON values."""

        rule_id: UUID
        definition: dict[str, Any]

    @event(RuleCreated)
    def _rule_created(
        self, rule_id: UUID, definition: dict[str, Any], actor_id: UUID, timestamp: datetime
    ) -> None:
        rule = Rule.from_definition(rule_id, definition, timestamp)
        self.rules[str(rule_id)] = rule
        self.rule_names[str(rule_id)] = rule.name

    def replace_rule(self, rule: Rule, actor_id: UUID, at: datetime) -> Rule:
        """Give an existing rule a new definition (what `PATCH` and `pfai rule apply` make); from now on
        it reacts to events after this moment only."""
        current = self.rule(rule.id)
        checked = self._check_rule(rule)
        if checked.definition() != current.definition():
            self._rule_updated(
                rule_id=checked.id, definition=checked.definition(), actor_id=actor_id, timestamp=at
            )
        return self.rule(checked.id)

    class RuleUpdated(Event):
        """The rule's whole new definition."""

        rule_id: UUID
        definition: dict[str, Any]

    @event(RuleUpdated)
    def _rule_updated(
        self, rule_id: UUID, definition: dict[str, Any], actor_id: UUID, timestamp: datetime
    ) -> None:
        rule = Rule.from_definition(rule_id, definition, timestamp)
        self.rules[str(rule_id)] = rule
        self.rule_names[str(rule_id)] = rule.name

    def delete_rule(self, rule_id: UUID, actor_id: UUID, at: datetime) -> None:
        self.rule(rule_id)
        self._rule_deleted(rule_id=rule_id, actor_id=actor_id, timestamp=at)

    class RuleDeleted(Event):
        rule_id: UUID

    @event(RuleDeleted)
    def _rule_deleted(self, rule_id: UUID, actor_id: UUID, timestamp: datetime) -> None:
        del self.rules[str(rule_id)]

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

    def update_tag(self, tag_id: UUID, changes: TagChanges, actor_id: UUID, at: datetime) -> Tag:
        current = self.tag(tag_id)
        color = changes.color if changes.color is KEEP else changes.color.lower()
        merged = Tag(
            tag_id,
            _or(changes.name, current.name),
            _or(color, current.color),
            _or(changes.team_id, current.team_id),
        )
        self._check_tag(merged.name, merged.color, merged.team_id, except_id=tag_id)
        if merged != current:
            self._tag_updated(
                tag_id=tag_id,
                name=_changed(merged.name, current.name),
                color=_changed(merged.color, current.color),
                team_id=merged.team_id,
                team_changed=merged.team_id != current.team_id,
                actor_id=actor_id,
                timestamp=at,
            )
        return self.tag(tag_id)

    class TagUpdated(Event):
        """The new name and colour (None: unchanged), and the new team if `team_changed` (None: org-wide)."""

        class_version = 2
        tag_id: UUID
        name: str | None
        color: str | None
        team_id: UUID | None
        team_changed: bool

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            _typed_changes(state, ("name", "color"), scoped=True)

    @event(TagUpdated)
    def _tag_updated(
        self,
        tag_id: UUID,
        name: str | None,
        color: str | None,
        team_id: UUID | None,
        team_changed: bool,
        actor_id: UUID,
        timestamp: datetime,
    ) -> None:
        tag = self.tags[str(tag_id)]
        self.tags[str(tag_id)] = replace(
            tag,
            name=_kept(name, tag.name),
            color=_kept(color, tag.color),
            team_id=team_id if team_changed else tag.team_id,
        )

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
        self, policy_id: UUID, changes: SlaPolicyChanges, actor_id: UUID, at: datetime
    ) -> SlaPolicy:
        current = self.sla_policy(policy_id)
        merged = SlaPolicy(
            policy_id,
            _or(changes.priority, current.priority),
            _or(changes.first_response_minutes, current.first_response_minutes),
            _or(changes.resolution_minutes, current.resolution_minutes),
            _or(changes.team_id, current.team_id),
        )
        self._check_sla_policy(merged)
        if merged != current:
            priority = _changed(merged.priority, current.priority)
            self._sla_policy_updated(
                policy_id=policy_id,
                priority=None if priority is None else priority.value,
                first_response_minutes=_changed(
                    merged.first_response_minutes, current.first_response_minutes
                ),
                resolution_minutes=_changed(merged.resolution_minutes, current.resolution_minutes),
                team_id=merged.team_id,
                team_changed=merged.team_id != current.team_id,
                actor_id=actor_id,
                timestamp=at,
            )
        return self.sla_policy(policy_id)

    class SlaPolicyUpdated(Event):
        """The new priority and minutes (None: unchanged), and the new team if `team_changed`."""

        class_version = 2
        policy_id: UUID
        priority: str | None
        first_response_minutes: int | None
        resolution_minutes: int | None
        team_id: UUID | None
        team_changed: bool

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            _typed_changes(state, ("priority", "first_response_minutes", "resolution_minutes"), scoped=True)

    @event(SlaPolicyUpdated)
    def _sla_policy_updated(
        self,
        policy_id: UUID,
        priority: str | None,
        first_response_minutes: int | None,
        resolution_minutes: int | None,
        team_id: UUID | None,
        team_changed: bool,
        actor_id: UUID,
        timestamp: datetime,
    ) -> None:
        policy = self.sla_policies[str(policy_id)]
        self.sla_policies[str(policy_id)] = replace(
            policy,
            priority=policy.priority if priority is None else Priority(priority),
            first_response_minutes=_kept(first_response_minutes, policy.first_response_minutes),
            resolution_minutes=_kept(resolution_minutes, policy.resolution_minutes),
            team_id=team_id if team_changed else policy.team_id,
        )

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
        self, canned_id: UUID, changes: CannedResponseChanges, actor_id: UUID, at: datetime
    ) -> CannedResponse:
        current = self.canned_response(canned_id)
        merged = replace(
            current,
            title=_or(changes.title, current.title),
            body=_or(changes.body, current.body),
            team_id=_or(changes.team_id, current.team_id),
        )
        self.require_team(merged.team_id)
        if merged != current:
            self._canned_response_updated(
                canned_id=canned_id,
                title=_changed(merged.title, current.title),
                body=_changed(merged.body, current.body),
                team_id=merged.team_id,
                team_changed=merged.team_id != current.team_id,
                actor_id=actor_id,
                timestamp=at,
            )
        return self.canned_response(canned_id)

    class CannedResponseUpdated(Event):
        """The new title and body (None: unchanged), and the new team if `team_changed`."""

        class_version = 2
        canned_id: UUID
        title: str | None
        body: str | None
        team_id: UUID | None
        team_changed: bool

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            _typed_changes(state, ("title", "body"), scoped=True)

    @event(CannedResponseUpdated)
    def _canned_response_updated(
        self,
        canned_id: UUID,
        title: str | None,
        body: str | None,
        team_id: UUID | None,
        team_changed: bool,
        actor_id: UUID,
        timestamp: datetime,
    ) -> None:
        canned = self.canned_responses[str(canned_id)]
        self.canned_responses[str(canned_id)] = replace(
            canned,
            title=_kept(title, canned.title),
            body=_kept(body, canned.body),
            team_id=team_id if team_changed else canned.team_id,
        )

    def delete_canned_response(self, canned_id: UUID, actor_id: UUID, at: datetime) -> None:
        self.canned_response(canned_id)
        self._canned_response_deleted(canned_id=canned_id, actor_id=actor_id, timestamp=at)

    class CannedResponseDeleted(Event):
        canned_id: UUID

    @event(CannedResponseDeleted)
    def _canned_response_deleted(self, canned_id: UUID, actor_id: UUID, timestamp: datetime) -> None:
        del self.canned_responses[str(canned_id)]


def _check_agent_target(dispatch_url: str | None, behaviour: str | None) -> None:
    """An agent runs either at a URL (http or https) or as a built-in behaviour: exactly one."""
    if (dispatch_url is None) == (behaviour is None):
        raise InvalidValueError("an agent has either a dispatchUrl or a built-in behaviour (one of the two)")
    if behaviour is not None and behaviour not in AGENT_BEHAVIOURS:
        raise InvalidValueError(f"behaviour must be one of {', '.join(AGENT_BEHAVIOURS)}, not {behaviour!r}")
    if dispatch_url is not None:
        parts = urlsplit(dispatch_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidValueError(f"dispatchUrl must be an http:// or https:// URL, not {dispatch_url!r}")


T = TypeVar("T")


def _or(value: T | Keep, current: T) -> T:
    """The value a change asks for, or the current one when it keeps it."""
    return current if isinstance(value, Keep) else value


def _changed(value: T | Keep, current: T) -> T | None:
    """What an update event records of a field: its new value, or None when it does not change."""
    new = _or(value, current)
    return None if new == current else new


def _kept(recorded: T | None, current: T) -> T:
    """A field after an update event: the recorded new value, or the current one (None: unchanged)."""
    return current if recorded is None else recorded


def _typed_changes(state: dict[str, Any], names: tuple[str, ...], scoped: bool = False) -> None:
    """Upcast a version-1 update event (`changes: {field: new value}`) to its typed fields."""
    changes: dict[str, Any] = state.pop("changes")
    for name in names:
        state[name] = changes.get(name)
    if scoped:
        state["team_changed"] = "team_id" in changes
        state["team_id"] = changes.get("team_id")
