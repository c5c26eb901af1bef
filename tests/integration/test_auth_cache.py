"""The authentication cache: revocations and changes in this process count at once, another
process's within AUTH_CACHE_SECONDS, expiry at the token's own time."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from tests.conftest import Org
from tickets.application.directory import AUTH_CACHE_SECONDS, _Authenticated
from tickets.bootstrap import Services, build_services
from tickets.domain.commands import MemberChanges, NewTicket
from tickets.domain.registry import ApiToken, hash_token
from tickets.domain.values import Role
from tickets.infrastructure.clock import ManualClock
from tickets.infrastructure.settings import Settings


def test_a_token_revoked_here_stops_at_once(services: Services, org: Org) -> None:
    assert services.directory.authenticate(org.admin.token) is not None  # now cached
    services.directory.revoke_token(org.admin.token)
    assert services.directory.authenticate(org.admin.token) is None


def test_a_token_revoked_by_any_save_here_stops_at_once(services: Services, org: Org) -> None:
    member = org.add_member("agent")
    assert services.directory.authenticate(member.token) is not None
    issued: ApiToken = services.app.repository.get(ApiToken.id_for(member.token))
    issued.revoke(timestamp=services.clock())
    services.app.save(issued)
    assert services.directory.authenticate(member.token) is None


def test_a_role_changed_here_counts_at_once(services: Services, org: Org) -> None:
    admin = services.directory.authenticate(org.admin.token)
    member = org.add_member("agent")
    agent = services.directory.authenticate(member.token)
    assert admin is not None and agent is not None and agent.role == Role.AGENT
    services.directory.update_member(admin, UUID(member.user_id), MemberChanges(role=Role.VIEWER))
    changed = services.directory.authenticate(member.token)
    assert changed is not None and changed.role == Role.VIEWER


def test_another_process_revocation_counts_within_the_cache_bound(
    services: Services, org: Org, database_url: str, clock: ManualClock
) -> None:
    assert services.directory.authenticate(org.admin.token) is not None
    other_server = build_services(Settings(database_url))
    try:
        other_server.directory.revoke_token(org.admin.token)
    finally:
        other_server.close()
    # This process has not seen the revocation's event yet: the cached answer stands, for a bounded time.
    assert services.directory.authenticate(org.admin.token) is not None
    clock.advance(seconds=AUTH_CACHE_SECONDS)
    assert services.directory.authenticate(org.admin.token) is None


def test_a_cached_token_expires_at_its_own_time(services: Services, org: Org, clock: ManualClock) -> None:
    admin = services.directory.authenticate(org.admin.token)
    assert admin is not None
    ticket = services.tickets.create(admin, NewTicket(subject="scoped")).value
    token, issued = services.directory.ticket_token(
        admin.org_id, admin.user_id, ticket.id, clock() + timedelta(seconds=1)
    )
    services.app.save(issued)
    scoped = services.directory.authenticate(token)
    assert scoped is not None and scoped.ticket_id == ticket.id
    clock.advance(seconds=1)
    assert services.directory.authenticate(token) is None


def test_an_entry_loaded_before_a_revocation_is_not_kept(services: Services, org: Org) -> None:
    actor = services.directory.authenticate(org.admin.token)
    assert actor is not None
    cache = services.directory.auth_cache
    token_hash = hash_token(org.admin.token)
    # A request loaded the token, then the revocation committed before it stored its entry.
    generation = cache.generation
    services.directory.revoke_token(org.admin.token)
    entry = _Authenticated(actor, ApiToken.create_id(token_hash), None, services.clock())
    cache.put(token_hash, entry, generation)
    assert services.directory.authenticate(org.admin.token) is None
