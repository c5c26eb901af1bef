"""Every aggregate comes back from its snapshot exactly as it was, types included, and keeps working."""

from __future__ import annotations

from enum import Enum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Snapshot
from eventsourcing.utils import get_topic

from projections.outbox import ticket_mail_key
from projections.runner import Follower
from tests.conftest import Org
from tests.state import aggregate_state
from tickets.application.actors import Actor
from tickets.application.app import TicketsApp
from tickets.application.inbound import InboundMail
from tickets.bootstrap import Services, build_services
from tickets.domain.commands import IssueChanges, NewTicket, TicketChanges
from tickets.domain.contact import contact_id_for
from tickets.domain.issue import IssueCounter, IssueNumber
from tickets.domain.mail import MailAddress, OutgoingMail, ReceivedMail
from tickets.domain.registry import ApiToken, OrgSlug, TicketCounter, TicketNumber
from tickets.domain.ticket import Ticket
from tickets.domain.values import Category, IssueStatus, Priority, Status
from tickets.infrastructure.clock import ManualClock
from tickets.infrastructure.settings import Settings


def replayed(app: TicketsApp, aggregate_id: UUID, version: int | None = None) -> Any:
    """The aggregate folded from its stored events (up to `version`): no cache, no snapshot."""
    aggregate = None
    for domain_event in app.events.get(aggregate_id, lte=version):
        aggregate = domain_event.mutate(aggregate)
    return aggregate


def _actor(services: Services, token: str) -> Actor:
    actor = services.directory.authenticate(token)
    assert actor is not None
    return actor


def test_every_aggregate_round_trips_through_its_snapshot(
    services: Services, org: Org, database_url: str, clock: ManualClock
) -> None:
    admin = _actor(services, org.admin.token)
    team = services.directory.create_team(admin, "Support", "").value
    tag = services.directory.create_tag(admin, "vip", "#ff0000", None).value
    ticket = services.tickets.create(
        admin,
        NewTicket(
            subject="s",
            priority=Priority.HIGH,
            category=Category.BUG,
            team_id=team.id,
            tag_ids=[tag.id],
            contact_email="cara@example.com",
        ),
    ).value
    services.tickets.add_message(admin, "1", "hello", False)
    services.tickets.update(admin, "1", TicketChanges(status=Status.ON_HOLD))
    # The e-mail's state too: a message's delivery, the thread's mail ids, the org's addresses.
    services.directory.add_mail_address(admin, "help@acme.example", team.id, services.mail_settings.domain)
    route = services.mail.route("help@acme.example")
    assert route is not None
    services.mail.receive(
        route, InboundMail("in@example.com", "cara@example.com", "Cara", "Re: [#1] s", "hi")
    )
    assert services.read_side is not None
    services.read_side.catch_up_all()
    Follower(services.read_side, mail_sender=services.mail_sender).send_mail()
    [delivered] = [m for m in services.tickets.get(admin, "1").messages.values() if m.delivery]
    assert delivered.delivery is not None and delivered.delivery.status == "sent"
    [queued] = [e for e in services.app.events.get(ticket.id) if isinstance(e, Ticket.EmailQueued)]
    # An engineering issue linked to the ticket, done, and the ticket told of it.
    issue = services.issues.convert(admin, "1", None, None).value
    services.issues.update(
        admin, "1", IssueChanges(status=IssueStatus.DONE, metadata={"ticketId": "x", "n": [1]})
    )
    services.read_side.catch_up_all()
    Follower(services.read_side).run_policies()
    assert services.tickets.get(admin, "1").done_issue_ids == [issue.id]
    ids = {
        "issue": issue.id,
        "issue counter": IssueCounter.create_id(UUID(org.admin.org_id)),
        "issue number": IssueNumber.create_id(UUID(org.admin.org_id), 1),
        "contact": contact_id_for(UUID(org.admin.org_id), "cara@example.com"),
        "outgoing mail": OutgoingMail.create_id(ticket_mail_key(ticket.id, queued.originator_version)),
        "received mail": ReceivedMail.create_id(UUID(org.admin.org_id), "in@example.com"),
        "mail address": MailAddress.create_id("help@acme.example"),
        "ticket": ticket.id,
        "org": UUID(org.admin.org_id),
        "counter": TicketCounter.create_id(UUID(org.admin.org_id)),
        "number": TicketNumber.create_id(UUID(org.admin.org_id), 1),
        "slug": OrgSlug.create_id(org.slug),
        "token": ApiToken.id_for(org.admin.token),
    }
    for aggregate_id in ids.values():
        services.app.take_snapshot(aggregate_id)

    restarted = build_services(Settings(database_url), clock=clock)
    try:
        for name, aggregate_id in ids.items():
            assert list(restarted.app.snapshots.get(aggregate_id)), name
            from_snapshot = restarted.app.repository.get(aggregate_id)
            assert aggregate_state(from_snapshot) == aggregate_state(replayed(restarted.app, aggregate_id)), (
                name
            )
        # The restored ticket takes every kind of change, as the live one would.
        actor = _actor(restarted, org.admin.token)
        restarted.tickets.update(
            actor,
            "1",
            TicketChanges(status=Status.RESOLVED, priority=Priority.URGENT, category=Category.BILLING),
        )
        reloaded = restarted.tickets.get(actor, "1")
        assert (reloaded.status, reloaded.priority, reloaded.category) == (
            Status.RESOLVED,
            Priority.URGENT,
            Category.BILLING,
        )
    finally:
        restarted.app.close()


def test_a_ticket_past_its_snapshot_interval_changes_after_a_restart(
    services: Services, org: Org, database_url: str, clock: ManualClock
) -> None:
    admin = _actor(services, org.admin.token)
    services.tickets.create(admin, NewTicket(subject="long"))
    for i in range(TicketsApp.snapshotting_intervals[type(services.tickets.get(admin, "1"))]):
        services.tickets.add_message(admin, "1", f"m{i}", False)
    restarted = build_services(Settings(database_url), clock=clock)
    try:
        actor = _actor(restarted, org.admin.token)
        ticket_id = restarted.tickets.get(actor, "1").id
        assert list(restarted.app.snapshots.get(ticket_id)), "the ticket was snapshotted"
        restarted.tickets.update(actor, "1", TicketChanges(status=Status.RESOLVED, priority=Priority.LOW))
        restarted.tickets.update(actor, "1", TicketChanges(status=Status.CLOSED))
        follow_up = restarted.tickets.follow_up(actor, "1").value
        assert follow_up.priority is Priority.LOW
    finally:
        restarted.app.close()


def test_a_snapshot_stored_before_typed_snapshots_is_not_used(
    services: Services, org: Org, database_url: str, clock: ManualClock
) -> None:
    admin = _actor(services, org.admin.token)
    ticket = services.tickets.create(admin, NewTicket(subject="old", priority=Priority.URGENT)).value
    services.tickets.update(admin, "1", TicketChanges(status=Status.PENDING))
    live = services.tickets.get(admin, "1")
    # What the library's own Snapshot wrote before: no class version, enums as plain strings.
    state = {k: (v.value if isinstance(v, Enum) else v) for k, v in vars(live).items()}
    for bookkeeping in ("_id", "_version", "_pending_events"):
        state.pop(bookkeeping)
    old = Snapshot(
        originator_id=ticket.id,
        originator_version=live.version,
        timestamp=Snapshot.create_timestamp(),
        topic=get_topic(type(live)),
        state=state,
    )
    services.app.snapshots.put([old])
    # Its state came from the rules of that release; loading replays the events instead.
    assert list(services.app.snapshots.get(ticket.id)) == []

    restarted = build_services(Settings(database_url), clock=clock)
    try:
        restored = restarted.app.repository.get(ticket.id)
        assert aggregate_state(restored) == aggregate_state(replayed(restarted.app, ticket.id))
        restarted.tickets.update(
            _actor(restarted, org.admin.token), "1", TicketChanges(status=Status.RESOLVED)
        )
    finally:
        restarted.app.close()


def test_a_stale_snapshot_newer_than_a_current_one_does_not_hide_it(
    services: Services, org: Org, database_url: str, clock: ManualClock
) -> None:
    admin = _actor(services, org.admin.token)
    ticket = services.tickets.create(admin, NewTicket(subject="s")).value
    services.tickets.update(admin, "1", TicketChanges(priority=Priority.HIGH))
    services.app.take_snapshot(ticket.id)  # current, at version 2
    services.tickets.update(admin, "1", TicketChanges(priority=Priority.LOW))
    live = services.tickets.get(admin, "1")
    state = {k: (v.value if isinstance(v, Enum) else v) for k, v in vars(live).items()}
    for bookkeeping in ("_id", "_version", "_pending_events"):
        state.pop(bookkeeping)
    # A snapshot at version 3 written by the previous release (a process of it still running).
    services.app.snapshots.put(
        [
            Snapshot(
                originator_id=ticket.id,
                originator_version=3,
                timestamp=Snapshot.create_timestamp(),
                topic=get_topic(type(live)),
                state=state,
            )
        ]
    )
    [newest_current] = services.app.snapshots.get(ticket.id, desc=True, limit=1)
    assert newest_current.originator_version == 2
    restarted = build_services(Settings(database_url), clock=clock)
    try:
        restored = restarted.app.repository.get(ticket.id)
        assert aggregate_state(restored) == aggregate_state(replayed(restarted.app, ticket.id))
    finally:
        restarted.app.close()
