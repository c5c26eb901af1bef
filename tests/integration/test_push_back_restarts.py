"""The closer and portal sessions across restarts and a second server, on SQLite and PostgreSQL."""

from __future__ import annotations

from projections.runner import Follower
from tickets.bootstrap import Services, build_services
from tickets.domain.commands import NewTicket, TicketChanges
from tickets.domain.values import Status
from tickets.infrastructure.clock import ManualClock
from tickets.infrastructure.settings import Settings


def _server(database_url: str, clock: ManualClock) -> Services:
    services = build_services(Settings(database_url), clock=clock)
    services.record_sla_breaches = False
    return services


def _run_policies(services: Services) -> None:
    assert services.read_side is not None
    services.read_side.catch_up_all()
    Follower(services.read_side).run_policies()


def test_the_closer_closes_once_across_restarts_and_two_servers(
    database_url: str, clock: ManualClock
) -> None:
    first = _server(database_url, clock)
    created = first.directory.create_org("acme", "Acme", "ada@acme.test", "Ada")
    admin = first.directory.authenticate(created.token)
    assert admin is not None
    ticket = first.tickets.create(admin, NewTicket(subject="Fire", contact_email="cara@example.com")).value
    first.tickets.update(admin, str(ticket.id), TicketChanges(status=Status.RESOLVED))
    link = first.contacts.issue_link(admin, ticket.contact_id or ticket.id).value
    session = first.contacts.redeem_link(link.token)
    first.close()  # the server stops (its read side had not caught up)

    clock.advance(days=7)
    second, third = _server(database_url, clock), _server(database_url, clock)
    try:
        # The contact's session survives the restart, and the link stays spent.
        assert second.contacts.authenticate(session.token) is not None
        _run_policies(second)
        _run_policies(third)
        _run_policies(second)
        events = list(second.app.events.get(ticket.id))
        closed = [e for e in events if getattr(e, "new", None) == Status.CLOSED.value]
        assert len(closed) == 1
        assert closed[0].actor_id is None
        assert third.tickets.get(admin, str(ticket.id)).status == Status.CLOSED
    finally:
        second.close()
        third.close()
