"""Concurrency on the real stores: numbers stay unique and gap-free, no update is lost."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

from tests.conftest import Org
from tickets.application.actors import Actor
from tickets.application.tickets import StaleVersionError
from tickets.bootstrap import Services, build_services
from tickets.domain.commands import NewTicket, TicketChanges
from tickets.domain.registry import TicketCounter
from tickets.domain.values import Category, Priority, Status
from tickets.infrastructure.settings import Settings

WORKERS = 8


def _actor(services: Services, token: str) -> Actor:
    actor = services.directory.authenticate(token)
    assert actor is not None
    return actor


def test_parallel_creators_get_distinct_gap_free_numbers(
    services: Services, org: Org, database_url: str
) -> None:
    actor = _actor(services, org.admin.token)
    count = 40
    # A second, independent application on the same store stands for a second server
    # process: its creates clash with ours in the store, not on an in-process lock.
    other_server = build_services(Settings(database_url))

    def create(i: int) -> int:
        writer = services if i % 2 else other_server
        return writer.tickets.create(actor, NewTicket(subject=f"parallel {i}")).value.ticket_number

    try:
        with ThreadPoolExecutor(WORKERS) as pool:
            numbers = list(pool.map(create, range(count)))
    finally:
        other_server.app.close()
    assert sorted(numbers) == list(range(1, count + 1))
    counter: TicketCounter = services.app.repository.get(TicketCounter.create_id(UUID(org.admin.org_id)))
    assert counter.last_number == count
    # Every number resolves to the ticket that holds it.
    for number in range(1, count + 1):
        assert services.tickets.get(actor, str(number)).ticket_number == number


def test_parallel_writers_on_one_ticket_lose_nothing(services: Services, org: Org) -> None:
    actor = _actor(services, org.admin.token)
    ticket = services.tickets.create(actor, NewTicket(subject="busy")).value
    team = services.directory.create_team(actor, "Support", "").value
    ref = str(ticket.id)
    messages = 24
    # Each writer changes something different; a lost update would drop one of them.
    field_changes: list[dict[str, object]] = [
        {"subject": "new subject"},
        {"priority": Priority.URGENT},
        {"category": Category.BILLING},
        {"team_id": team.id},
        {"contact_email": "c@example.com"},
        {"assignee_id": actor.user_id},
        {"description": "details"},
        {"status": Status.PENDING},
    ]

    def write(i: int) -> None:
        if i < messages:
            services.tickets.add_message(actor, ref, f"message {i}", i % 2 == 0)
        else:
            services.tickets.update(actor, ref, TicketChanges(**field_changes[i - messages]))

    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(write, range(messages + len(field_changes))))
    loaded = services.tickets.get(actor, ref)
    assert loaded.message_count == messages
    assert sorted(m.content for m in loaded.visible_messages()) == sorted(
        f"message {i}" for i in range(messages)
    )
    assert (loaded.subject, loaded.priority, loaded.category, loaded.team_id) == (
        "new subject",
        Priority.URGENT,
        Category.BILLING,
        team.id,
    )
    assert (loaded.contact_email, loaded.assignee_id, loaded.description, loaded.status) == (
        "c@example.com",
        actor.user_id,
        "details",
        Status.PENDING,
    )
    # A public reply saved after the contact address was set also queues its e-mail (`EmailQueued`):
    # how many do depends on the order the threads ran in, so they are counted, not fixed.
    queued = sum(a.type == "email_queued" for a in services.tickets.timeline(actor, ref))
    assert queued <= messages // 2
    assert loaded.version == 1 + messages + len(field_changes) + queued


def test_conditional_writers_of_one_version_get_one_success_and_409s(services: Services, org: Org) -> None:
    actor = _actor(services, org.admin.token)
    ticket = services.tickets.create(actor, NewTicket(subject="contested")).value

    def rename(i: int) -> str:
        try:
            services.tickets.update(
                actor, str(ticket.id), TicketChanges(subject=f"writer {i}"), expected_version=1
            )
        except StaleVersionError:
            return "409"
        return "ok"

    with ThreadPoolExecutor(WORKERS) as pool:
        outcomes = list(pool.map(rename, range(WORKERS)))
    assert outcomes.count("ok") == 1
    assert outcomes.count("409") == WORKERS - 1
    loaded = services.tickets.get(actor, str(ticket.id))
    assert loaded.version == 2
    assert loaded.subject == f"writer {outcomes.index('ok')}"


def test_long_threads_load_from_a_snapshot(services: Services, org: Org) -> None:
    actor = _actor(services, org.admin.token)
    ticket = services.tickets.create(actor, NewTicket(subject="long")).value
    for i in range(120):
        services.tickets.add_message(actor, "1", f"m{i}", False)
    snapshots = list(services.app.snapshots.get(ticket.id)) if services.app.snapshots else []
    assert [s.originator_version for s in snapshots] == [50, 100]
    # A fresh application (no cache) rebuilds from the latest snapshot plus 21 events.
    from tickets.application.app import TicketsApp

    fresh = TicketsApp(env=services.app.env)
    try:
        loaded = fresh.repository.get(ticket.id)
        assert loaded.message_count == 120
        assert loaded.version == 121
    finally:
        fresh.close()
