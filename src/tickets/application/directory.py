"""Orgs, members, API tokens, teams, tags, SLA policies and canned responses."""

from __future__ import annotations

import base64
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError, Recording

from tickets.application.actors import Actor
from tickets.application.app import Saved, TicketsApp, position_of, retry_on_conflict
from tickets.domain.agents import AgentSecret
from tickets.domain.commands import (
    KEEP,
    CannedResponseChanges,
    Keep,
    MemberChanges,
    SlaPolicyChanges,
    TagChanges,
    TeamChanges,
)
from tickets.domain.errors import ConflictError, ForbiddenError, InvalidValueError, NotFoundError
from tickets.domain.mail import MailAddress, normalize_address
from tickets.domain.organization import CannedResponse, Member, Organization, SlaPolicy, Tag, Team
from tickets.domain.registry import TOKEN_SCOPES, ApiToken, OrgSlug, TicketCounter, hash_token
from tickets.domain.values import Role
from tickets.infrastructure.clock import Clock, system_clock
from tickets.infrastructure.ssrf import check_public_url

T = TypeVar("T")

TOKEN_PREFIX = "pfai_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_signing_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@dataclass(frozen=True)
class NewAgent:
    """A created agent, and the secret its dispatches are signed with (external agents; shown once)."""

    agent: Member
    secret: str | None


@dataclass(frozen=True)
class Credentials:
    """What creating an org or a user hands back: ids and a token shown only once."""

    org_id: UUID
    user_id: UUID
    token: str


# The order of each list, as a sort key of strings ending in the item's id, so it is total: list
# endpoints page through it with keyset cursors (an item added or deleted between pages shifts nothing).
def member_order(member: Member) -> tuple[str, ...]:
    return (member.name.lower(), member.email, str(member.id))


def team_order(team: Team) -> tuple[str, ...]:
    return (team.name.lower(), str(team.id))


def tag_order(tag: Tag) -> tuple[str, ...]:
    return (tag.name.lower(), str(tag.id))


def sla_policy_order(policy: SlaPolicy) -> tuple[str, ...]:
    return (str(policy.team_id or ""), policy.priority.value, str(policy.id))


def canned_response_order(canned: CannedResponse) -> tuple[str, ...]:
    return (canned.title.lower(), str(canned.id))


# How long another process's revocation (or change of a member) may go unseen by a cached token.
AUTH_CACHE_SECONDS = 2
AUTH_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class _Authenticated:
    """A token's member as authenticated at `checked_at`, valid until `expires_at` (if it expires)."""

    actor: Actor
    token_id: UUID
    expires_at: datetime | None
    checked_at: datetime


class AuthCache:
    """Tokens authenticated recently, by the token's hash, so a request need not load its token and org.

    An entry is dropped as soon as this process saves an event of its token (revoked) or of its org
    (a member removed, or their role changed); it expires at the token's own expiry; and it is
    checked against the store again after `AUTH_CACHE_SECONDS`, the longest another process's
    revocation goes unseen here.
    """

    def __init__(self, app: TicketsApp, clock: Clock) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Authenticated] = OrderedDict()
        # Bumped by every invalidation: an entry loaded before one is not kept (it may be stale).
        self.generation = 0
        app.on_saved(self._saved)

    def get(self, token_hash: str) -> Actor | None:
        now = self.clock()
        with self._lock:
            entry = self._entries.get(token_hash)
        if entry is None:
            return None
        fresh = entry.checked_at <= now < entry.checked_at + timedelta(seconds=AUTH_CACHE_SECONDS)
        if not fresh or (entry.expires_at is not None and now >= entry.expires_at):
            return None
        return entry.actor

    def put(self, token_hash: str, entry: _Authenticated, generation: int) -> None:
        with self._lock:
            if generation != self.generation:
                return
            self._entries[token_hash] = entry
            self._entries.move_to_end(token_hash)
            if len(self._entries) > AUTH_CACHE_SIZE:
                self._entries.popitem(last=False)

    def _saved(self, recordings: list[Recording[UUID]]) -> None:
        changed = {
            r.domain_event.originator_id
            for r in recordings
            if isinstance(r.domain_event, ApiToken.Event | Organization.Event)
        }
        if not changed:  # most saves: tickets and the rest
            return
        with self._lock:
            # A token or org being loaded right now for a new entry may be older than this save.
            self.generation += 1
            stale = [
                token_hash
                for token_hash, entry in self._entries.items()
                if entry.token_id in changed or entry.actor.org_id in changed
            ]
            for token_hash in stale:
                del self._entries[token_hash]


class DirectoryService:
    """Commands and queries on an org's settings and members."""

    def __init__(self, app: TicketsApp, clock: Clock = system_clock) -> None:
        self.app = app
        self.clock = clock
        self.auth_cache = AuthCache(app, clock)

    # ------------------------------------------------------------------ orgs, members, tokens

    def create_org(
        self, slug: str, name: str, admin_email: str, admin_name: str | None = None
    ) -> Credentials:
        """Create an org with its first admin; returns the admin's new token."""
        now = self.clock()
        org = Organization(slug=slug, name=name, actor_id=None, timestamp=now)
        user_id = uuid4()
        org.add_member(user_id, admin_email, admin_name or admin_email, Role.ADMIN, None, None, now)
        token = new_token()
        try:
            self.app.save(
                org,
                OrgSlug(slug=slug, org_id=org.id, timestamp=now),
                ApiToken(token_hash=hash_token(token), org_id=org.id, user_id=user_id, timestamp=now),
                TicketCounter(org_id=org.id, timestamp=now),
            )
        except IntegrityError:
            raise ConflictError(f"an org with slug {slug!r} already exists") from None
        return Credentials(org.id, user_id, token)

    def org_id_for_slug(self, slug: str) -> UUID:
        try:
            index: OrgSlug = self.app.repository.get(OrgSlug.create_id(slug))
        except AggregateNotFoundError:
            raise NotFoundError(f"no org with slug {slug!r}") from None
        return index.org_id

    def create_user(
        self,
        org_id: UUID,
        email: str,
        name: str,
        role: Role,
        handle: str | None = None,
        actor: Actor | None = None,
    ) -> Credentials:
        """Add a member to the org (admins only, or the operator's CLI) and issue a token."""
        if actor is not None:
            actor.require(Role.ADMIN)
        user_id = uuid4()
        token = new_token()

        def add() -> None:
            now = self.clock()
            org = self.org(org_id)
            org.add_member(user_id, email, name, role, handle, actor.user_id if actor else None, now)
            self.app.save(
                org, ApiToken(token_hash=hash_token(token), org_id=org_id, user_id=user_id, timestamp=now)
            )

        retry_on_conflict(add)
        return Credentials(org_id, user_id, token)

    def authenticate(self, token: str) -> Actor | None:
        """The member a bearer token belongs to (with the ticket it is scoped to, if any), or None.

        An expired or revoked token is None; so is an agent's token that is not scoped to a
        ticket (agents never act org-wide). Answered from `auth_cache` when it can.
        """
        token_hash = hash_token(token)
        cached = self.auth_cache.get(token_hash)
        if cached is not None:
            return cached
        return self._authenticate_from_store(token_hash)

    def authenticated_recently(self, token: str) -> Actor | None:
        """The token's member if `auth_cache` knows it (no I/O: callable on an event loop), else None."""
        return self.auth_cache.get(hash_token(token))

    def _authenticate_from_store(self, token_hash: str) -> Actor | None:
        generation = self.auth_cache.generation
        now = self.clock()
        try:
            issued: ApiToken = self.app.repository.get(ApiToken.create_id(token_hash))
        except AggregateNotFoundError:
            return None
        if not issued.usable_at(now):
            return None
        org = self.org(issued.org_id)
        member = org.members.get(str(issued.user_id))
        if member is None or (member.is_agent and issued.ticket_id is None):
            return None
        actor = Actor(
            user_id=member.id,
            org_id=org.id,
            role=member.role,
            ticket_id=issued.ticket_id,
            scopes=tuple(issued.scopes),
        )
        self.auth_cache.put(token_hash, _Authenticated(actor, issued.id, issued.expires_at, now), generation)
        return actor

    def scoped_token(self, org_id: UUID, email: str, scopes: list[str], expires_at: datetime | None) -> str:
        """A new token of the member with this e-mail that opens only `scopes` (an integration's: the
        event feed), saved; shown this once. The member must be an admin (the feed is theirs)."""
        unknown = sorted(set(scopes) - set(TOKEN_SCOPES))
        if not scopes or unknown:
            raise InvalidValueError(
                f"scopes must be some of {', '.join(TOKEN_SCOPES)}; not {', '.join(unknown) or 'none'}"
            )
        org = self.org(org_id)
        member = next((m for m in org.members.values() if m.email == email.strip().lower()), None)
        if member is None or member.is_agent:
            raise NotFoundError(f"no member {email} in this org")
        if member.role != Role.ADMIN:
            raise ForbiddenError(f"{email} is {member.role.value}: an integration token is an admin's")
        token = new_token()
        issued = ApiToken(
            token_hash=hash_token(token),
            org_id=org_id,
            user_id=member.id,
            timestamp=self.clock(),
            expires_at=expires_at,
            scopes=sorted(set(scopes)),
        )
        self.app.save(issued)
        return token

    def ticket_token(
        self, org_id: UUID, user_id: UUID, ticket_id: UUID, expires_at: datetime
    ) -> tuple[str, ApiToken]:
        """A new token for `user_id` that works on one ticket until `expires_at` (not yet saved)."""
        token = new_token()
        issued = ApiToken(
            token_hash=hash_token(token),
            org_id=org_id,
            user_id=user_id,
            timestamp=self.clock(),
            ticket_id=ticket_id,
            expires_at=expires_at,
        )
        return token, issued

    def revoked_tokens(self, token_ids: Iterable[UUID]) -> list[ApiToken]:
        """The tokens with these aggregate ids, revoked now (those not revoked already; to save)."""
        revoked = []
        for token_id in token_ids:
            try:
                issued: ApiToken = self.app.repository.get(token_id)
            except AggregateNotFoundError:
                continue
            if not issued.revoked:
                issued.revoke(timestamp=self.clock())
                revoked.append(issued)
        return revoked

    def revoke_token(self, token: str) -> None:
        """Make a token stop working; its record stays, for the audit trail."""
        try:
            issued: ApiToken = self.app.repository.get(ApiToken.id_for(token))
        except AggregateNotFoundError:
            raise NotFoundError("no such token") from None
        if not issued.revoked:
            issued.revoke(timestamp=self.clock())
            self.app.save(issued)

    def org(self, org_id: UUID) -> Organization:
        try:
            org: Organization = self.app.repository.get(org_id)
        except AggregateNotFoundError:
            raise NotFoundError(f"org {org_id} not found") from None
        return org

    def org_as_of(self, org_id: UUID, at: datetime) -> Organization:
        """The org as it was at `at` (its members, teams and tags then), for replaying a ticket's past."""
        current = self.org(org_id)
        if current.modified_on <= at:
            return current
        # Before the org existed nothing of it can be shown: its first version is the nearest.
        version = self.app.version_at(org_id, at) or 1
        org: Organization = self.app.repository.get(org_id, version=version)
        return org

    def members(self, actor: Actor) -> list[Member]:
        return sorted(self.org(actor.org_id).members.values(), key=member_order)

    def member(self, actor: Actor, user_id: UUID) -> Member:
        return self.org(actor.org_id).member(user_id)

    def update_member(self, actor: Actor, user_id: UUID, changes: MemberChanges) -> Saved[Member]:
        actor.require(Role.ADMIN)
        return self.change_org(
            actor, lambda org, now: org.update_member(user_id, changes, actor.user_id, now)
        )

    def update_org_settings(
        self,
        actor: Actor,
        auto_close_after_days: int | None,
        acknowledge_new_tickets: bool | None = None,
        sla_warning_percent: int | Keep | None = KEEP,
    ) -> Saved[Organization]:
        """Change the org's own settings (admins); a setting not given (None, or KEEP where None means
        "off") stays."""
        actor.require(Role.ADMIN)

        def change(org: Organization, now: datetime) -> Organization:
            if auto_close_after_days is not None:
                org.set_auto_close_after_days(auto_close_after_days, actor.user_id, now)
            if acknowledge_new_tickets is not None:
                org.set_acknowledge_new_tickets(acknowledge_new_tickets, actor.user_id, now)
            if not isinstance(sla_warning_percent, Keep):
                org.set_sla_warning_percent(sla_warning_percent, actor.user_id, now)
            return org

        return self.change_org(actor, change)

    # ------------------------------------------------------------------ agents

    def agents(self, actor: Actor) -> list[Member]:
        return sorted(self.org(actor.org_id).agents(), key=member_order)

    def agent(self, actor: Actor, agent_id: UUID) -> Member:
        return self.org(actor.org_id).agent(agent_id)

    def create_agent(
        self,
        actor: Actor | None,
        org_id: UUID,
        name: str,
        handle: str,
        dispatch_url: str | None = None,
        behaviour: str | None = None,
    ) -> Saved[NewAgent]:
        """Add an agent (admins, or the operator's CLI). An external agent (`dispatch_url`, a public
        host) gets a signing secret, returned once; a built-in one (`behaviour`) needs none."""
        if actor is not None:
            actor.require(Role.ADMIN)
            actor.require_org_wide()
        if dispatch_url is not None:
            check_public_url(dispatch_url)
        agent_id = uuid4()
        secret = new_signing_secret() if dispatch_url is not None else None

        def add() -> Saved[NewAgent]:
            now = self.clock()
            org = self.org(org_id)
            who = actor.user_id if actor else None
            agent = org.add_agent(agent_id, name, handle, dispatch_url, behaviour, who, now)
            extra = [] if secret is None else [AgentSecret(org_id, agent_id, secret, now)]
            return Saved(NewAgent(agent, secret), position_of(self.app.save(org, *extra)))

        return retry_on_conflict(add)

    def update_agent(
        self,
        actor: Actor,
        agent_id: UUID,
        name: str | Keep = KEEP,
        dispatch_url: str | Keep | None = KEEP,
        behaviour: str | Keep | None = KEEP,
    ) -> Saved[NewAgent]:
        """Rename an agent or change where it runs. An agent that becomes external gets a secret
        (returned once) if it had none."""
        actor.require(Role.ADMIN)
        actor.require_org_wide()
        if isinstance(dispatch_url, str):
            check_public_url(dispatch_url)

        def change() -> Saved[NewAgent]:
            now = self.clock()
            org = self.org(actor.org_id)
            agent = org.update_agent(agent_id, name, dispatch_url, behaviour, actor.user_id, now)
            secret, extra = None, []
            if agent.dispatch_url is not None and self.agent_secret(agent_id) is None:
                secret = new_signing_secret()
                extra.append(AgentSecret(org.id, agent_id, secret, now))
            return Saved(NewAgent(agent, secret), position_of(self.app.save(org, *extra)))

        return retry_on_conflict(change)

    def rotate_agent_secret(self, actor: Actor, agent_id: UUID) -> Saved[str]:
        """A new signing secret for an external agent (returned once); the old one stops signing."""
        actor.require(Role.ADMIN)
        actor.require_org_wide()
        agent = self.agent(actor, agent_id)
        if agent.dispatch_url is None:
            raise InvalidValueError(f"@{agent.handle} is built in: it has no signing secret")
        secret = new_signing_secret()

        def rotate() -> Saved[str]:
            now = self.clock()
            try:
                held: AgentSecret = self.app.repository.get(AgentSecret.create_id(agent_id))
            except AggregateNotFoundError:
                held = AgentSecret(actor.org_id, agent_id, secret, now)
            else:
                held.rotate(secret, now)
            return Saved(secret, position_of(self.app.save(held)))

        return retry_on_conflict(rotate)

    def agent_secret(self, agent_id: UUID) -> str | None:
        """The secret an external agent's dispatches are signed with (for the dispatcher)."""
        try:
            held: AgentSecret = self.app.repository.get(AgentSecret.create_id(agent_id))
        except AggregateNotFoundError:
            return None
        return held.secret

    # ------------------------------------------------------------------ mail addresses

    def mail_addresses(self, actor: Actor) -> list[tuple[str, UUID | None]]:
        """The org's extra receiving addresses and their teams, by address."""
        actor.require(Role.ADMIN)
        return sorted(self.org(actor.org_id).mail_addresses.items())

    def add_mail_address(
        self, actor: Actor, address: str, team_id: UUID | None, mail_domain: str
    ) -> Saved[tuple[str, UUID | None]]:
        """Receive mail at `address` too. An address held by another org is a conflict; addresses at
        the mail domain are the orgs' own (`<slug>@<domain>`) and cannot be added."""
        actor.require(Role.ADMIN)
        address = normalize_address(address)
        if address.rpartition("@")[2] == mail_domain.lower():
            raise InvalidValueError(f"addresses at {mail_domain} are the orgs' own (<slug>@{mail_domain})")

        def attempt() -> Saved[tuple[str, UUID | None]]:
            now = self.clock()
            org = self.org(actor.org_id)
            org.add_mail_address(address, team_id, actor.user_id, now)
            try:
                held: MailAddress = self.app.repository.get(MailAddress.create_id(address))
            except AggregateNotFoundError:
                held = MailAddress(address=address, org_id=org.id, team_id=team_id, timestamp=now)
            else:
                if held.active and held.org_id != org.id:
                    raise ConflictError(f"{address} receives mail for another org")
                held.reclaim(org_id=org.id, team_id=team_id, timestamp=now)
            return Saved((address, team_id), position_of(self.app.save(org, held)))

        return retry_on_conflict(attempt)

    def remove_mail_address(self, actor: Actor, address: str) -> Saved[None]:
        actor.require(Role.ADMIN)
        address = normalize_address(address)

        def attempt() -> Saved[None]:
            now = self.clock()
            org = self.org(actor.org_id)
            org.remove_mail_address(address, actor.user_id, now)
            held: MailAddress = self.app.repository.get(MailAddress.create_id(address))
            held.release(timestamp=now)
            return Saved(None, position_of(self.app.save(org, held)))

        return retry_on_conflict(attempt)

    def change_org(self, actor: Actor, change: Callable[[Organization, Any], T]) -> Saved[T]:
        """Load the caller's org, apply `change(org, now)`, save; retried on a version clash."""

        def attempt() -> Saved[T]:
            org = self.org(actor.org_id)
            result = change(org, self.clock())
            return Saved(result, position_of(self.app.save(org)))

        return retry_on_conflict(attempt)

    # ------------------------------------------------------------------ teams

    def teams(self, actor: Actor) -> list[Team]:
        return sorted(self.org(actor.org_id).teams.values(), key=team_order)

    def team(self, actor: Actor, team_id: UUID) -> Team:
        return self.org(actor.org_id).team(team_id)

    def create_team(self, actor: Actor, name: str, description: str, private: bool = False) -> Saved[Team]:
        actor.require(Role.ADMIN)
        team_id = uuid4()

        def change(org: Organization, now: datetime) -> Team:
            org.create_team(team_id, name, description, actor.user_id, now)
            return org.set_team_private(team_id, private, actor.user_id, now)

        return self.change_org(actor, change)

    def update_team(self, actor: Actor, team_id: UUID, changes: TeamChanges) -> Saved[Team]:
        actor.require(Role.ADMIN)

        def change(org: Organization, now: datetime) -> Team:
            team = org.update_team(team_id, changes, actor.user_id, now)
            if isinstance(changes.private, bool):
                team = org.set_team_private(team_id, changes.private, actor.user_id, now)
            return team

        return self.change_org(actor, change)

    def delete_team(self, actor: Actor, team_id: UUID) -> Saved[None]:
        actor.require(Role.ADMIN)
        return self.change_org(actor, lambda org, now: org.delete_team(team_id, actor.user_id, now))

    def team_members(self, actor: Actor, team_id: UUID) -> list[Member]:
        """The team's members (any member of the org may read them)."""
        return self.org(actor.org_id).team_members(team_id)

    def add_team_member(self, actor: Actor, team_id: UUID, user_id: UUID) -> Saved[Member]:
        actor.require(Role.ADMIN)
        return self.change_org(
            actor, lambda org, now: org.add_team_member(team_id, user_id, actor.user_id, now)
        )

    def remove_team_member(self, actor: Actor, team_id: UUID, user_id: UUID) -> Saved[None]:
        actor.require(Role.ADMIN)
        return self.change_org(
            actor, lambda org, now: org.remove_team_member(team_id, user_id, actor.user_id, now)
        )

    # ------------------------------------------------------------------ tags

    def tags(self, actor: Actor, team_id: UUID | None = None) -> list[Tag]:
        tags: Iterable[Tag] = self.org(actor.org_id).tags.values()
        if team_id is not None:
            tags = [t for t in tags if t.team_id == team_id]
        return sorted(tags, key=tag_order)

    def tag(self, actor: Actor, tag_id: UUID) -> Tag:
        return self.org(actor.org_id).tag(tag_id)

    def _require_team_member(self, actor: Actor, *team_ids: UUID | Keep | None) -> None:
        """What is scoped to a team (a tag, a canned response) is changed by that team's members and
        by admins only."""
        if actor.role == Role.ADMIN:
            return
        org = self.org(actor.org_id)
        for team_id in team_ids:
            team = org.teams.get(str(team_id)) if isinstance(team_id, UUID) else None
            if team is not None and actor.user_id not in team.member_ids:
                raise ForbiddenError(
                    f"only members of team {team.name!r} (and admins) change what is scoped to it"
                )

    def create_tag(self, actor: Actor, name: str, color: str, team_id: UUID | None) -> Saved[Tag]:
        actor.require(Role.AGENT)
        self._require_team_member(actor, team_id)
        tag_id = uuid4()
        return self.change_org(
            actor, lambda org, now: org.create_tag(tag_id, name, color, team_id, actor.user_id, now)
        )

    def update_tag(self, actor: Actor, tag_id: UUID, changes: TagChanges) -> Saved[Tag]:
        actor.require(Role.AGENT)
        self._require_team_member(actor, self.tag(actor, tag_id).team_id, changes.team_id)
        return self.change_org(actor, lambda org, now: org.update_tag(tag_id, changes, actor.user_id, now))

    def delete_tag(self, actor: Actor, tag_id: UUID) -> Saved[None]:
        actor.require(Role.AGENT)
        self._require_team_member(actor, self.tag(actor, tag_id).team_id)
        return self.change_org(actor, lambda org, now: org.delete_tag(tag_id, actor.user_id, now))

    # ------------------------------------------------------------------ SLA policies

    def sla_policies(self, actor: Actor) -> list[SlaPolicy]:
        policies = self.org(actor.org_id).sla_policies.values()
        return sorted(policies, key=sla_policy_order)

    def sla_policy(self, actor: Actor, policy_id: UUID) -> SlaPolicy:
        return self.org(actor.org_id).sla_policy(policy_id)

    def _require_policy_editor(self, actor: Actor, *team_ids: UUID | Keep | None) -> None:
        """An org-wide SLA policy is changed by admins; a team's by its members too (moving a policy
        between teams needs both)."""
        if any(team_id is None for team_id in team_ids):
            actor.require(Role.ADMIN)
        actor.require(Role.AGENT)
        self._require_team_member(actor, *team_ids)

    def create_sla_policy(
        self,
        actor: Actor,
        priority: Any,
        first_response_minutes: int,
        resolution_minutes: int,
        team_id: UUID | None,
    ) -> Saved[SlaPolicy]:
        self._require_policy_editor(actor, team_id)
        policy = SlaPolicy(uuid4(), priority, first_response_minutes, resolution_minutes, team_id)
        return self.change_org(actor, lambda org, now: org.create_sla_policy(policy, actor.user_id, now))

    def update_sla_policy(self, actor: Actor, policy_id: UUID, changes: SlaPolicyChanges) -> Saved[SlaPolicy]:
        self._require_policy_editor(actor, self.sla_policy(actor, policy_id).team_id, changes.team_id)
        return self.change_org(
            actor, lambda org, now: org.update_sla_policy(policy_id, changes, actor.user_id, now)
        )

    def delete_sla_policy(self, actor: Actor, policy_id: UUID) -> Saved[None]:
        self._require_policy_editor(actor, self.sla_policy(actor, policy_id).team_id)
        return self.change_org(actor, lambda org, now: org.delete_sla_policy(policy_id, actor.user_id, now))

    # ------------------------------------------------------------------ canned responses

    def canned_responses(self, actor: Actor, team_id: UUID | None = None) -> list[CannedResponse]:
        items: Iterable[CannedResponse] = self.org(actor.org_id).canned_responses.values()
        if team_id is not None:
            items = [c for c in items if c.team_id in (team_id, None)]
        return sorted(items, key=canned_response_order)

    def canned_response(self, actor: Actor, canned_id: UUID) -> CannedResponse:
        return self.org(actor.org_id).canned_response(canned_id)

    def _require_canned_scope(self, actor: Actor, team_id: UUID | None) -> None:
        """Agents manage their teams' canned responses; org-wide ones are for admins."""
        actor.require(Role.AGENT)
        if team_id is None and actor.role != Role.ADMIN:
            raise ForbiddenError("org-wide canned responses are managed by admins; set a teamId")
        self._require_team_member(actor, team_id)

    def create_canned_response(
        self, actor: Actor, title: str, body: str, team_id: UUID | None
    ) -> Saved[CannedResponse]:
        self._require_canned_scope(actor, team_id)
        canned = CannedResponse(uuid4(), title, body, team_id, actor.user_id)
        return self.change_org(actor, lambda org, now: org.create_canned_response(canned, actor.user_id, now))

    def update_canned_response(
        self, actor: Actor, canned_id: UUID, changes: CannedResponseChanges
    ) -> Saved[CannedResponse]:
        current = self.canned_response(actor, canned_id)
        self._require_canned_scope(actor, current.team_id)
        if not isinstance(changes.team_id, Keep):
            self._require_canned_scope(actor, changes.team_id)
        return self.change_org(
            actor, lambda org, now: org.update_canned_response(canned_id, changes, actor.user_id, now)
        )

    def delete_canned_response(self, actor: Actor, canned_id: UUID) -> Saved[None]:
        self._require_canned_scope(actor, self.canned_response(actor, canned_id).team_id)
        return self.change_org(
            actor, lambda org, now: org.delete_canned_response(canned_id, actor.user_id, now)
        )
