"""Group commit on the real stores: commands queued together commit in one save, each answered
with its own outcome; numbers stay gap-free, snapshots and the cache still hold."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from tests.conftest import Org
from tickets.application.actors import Actor
from tickets.application.app import TicketsApp
from tickets.application.committer import GroupCommitter, Staged
from tickets.application.tickets import StaleVersionError
from tickets.bootstrap import Services, build_services
from tickets.domain.commands import NewTicket, TicketChanges
from tickets.domain.errors import InvalidValueError
from tickets.domain.registry import TicketCounter, TicketNumber
from tickets.domain.ticket import Ticket
from tickets.infrastructure.settings import Settings

TIMEOUT = 30


def _actor(services: Services, token: str) -> Actor:
    actor = services.directory.authenticate(token)
    assert actor is not None
    return actor


class OneBatch:
    """Puts commands in one batch: the committer is busy with a held command while they queue, in
    the order they are submitted; `release()` lets the held batch end, and the queue commits."""

    def __init__(self, committer: GroupCommitter, pool: ThreadPoolExecutor) -> None:
        self.committer = committer
        self.pool = pool
        self.queued = 0

    def submit(self, call: Callable[[], Any]) -> Future[Any]:
        future = self.pool.submit(call)
        self.queued += 1
        assert self.committer.wait_until_queued(self.queued, TIMEOUT)
        return future


@contextmanager
def one_batch(services: Services, workers: int = 16) -> Iterator[OneBatch]:
    committer = services.tickets.committer
    holding, release = threading.Event(), threading.Event()

    def hold() -> Staged[None]:
        holding.set()
        assert release.wait(TIMEOUT)
        return Staged(None, ())

    with ThreadPoolExecutor(workers + 1) as pool:
        held = pool.submit(committer.run, hold)
        assert holding.wait(TIMEOUT)
        try:
            yield OneBatch(committer, pool)
        finally:
            release.set()
            held.result(TIMEOUT)


@pytest.fixture
def saves(services: Services, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of events of each `app.save` (each one transaction)."""
    counted: list[int] = []
    save = services.app.save

    def counting_save(*objs: Any, **kwargs: Any) -> Any:
        recordings = save(*objs, **kwargs)
        counted.append(len(recordings))
        return recordings

    monkeypatch.setattr(services.app, "save", counting_save)
    return counted


def test_a_failing_command_in_a_batch_fails_alone(services: Services, org: Org, saves: list[int]) -> None:
    actor = _actor(services, org.admin.token)
    ticket = services.tickets.create(actor, NewTicket(subject="shared")).value
    ref = str(ticket.id)
    saves.clear()
    with one_batch(services) as batch:
        before = batch.submit(lambda: services.tickets.add_message(actor, ref, "before", False))
        # Its subject change is recorded before the unknown team fails it: it must be undone.
        failing = batch.submit(
            lambda: services.tickets.update(actor, ref, TicketChanges(subject="lost", team_id=uuid4()))
        )
        after = batch.submit(lambda: services.tickets.add_message(actor, ref, "after", False))
        created = batch.submit(lambda: services.tickets.create(actor, NewTicket(subject="neighbour")))
    with pytest.raises(InvalidValueError):
        failing.result(TIMEOUT)
    first, second, new = before.result(TIMEOUT), after.result(TIMEOUT), created.result(TIMEOUT)
    assert saves == [5]  # two messages, and the counter, ticket and number index of the create: one save
    assert first.position is not None and second.position is not None and new.position is not None
    assert first.position < second.position < new.position
    loaded = services.tickets.get(actor, ref)
    assert loaded.subject == "shared"
    assert [m.content for m in loaded.visible_messages()] == ["before", "after"]
    assert loaded.version == 3
    assert new.value.ticket_number == 2
    # Each command's position is its own last event's.
    events = {n.id: n for n in services.app.recorder.select_notifications(first.position, 10)}
    assert events[first.position].originator_version == 2
    assert events[second.position].originator_version == 3
    # (a create's last event registers its number, as when it saved alone)
    assert events[new.position].originator_id == TicketNumber.create_id(actor.org_id, 2)


def test_commands_on_one_ticket_in_one_batch_apply_in_order(
    services: Services, org: Org, saves: list[int]
) -> None:
    actor = _actor(services, org.admin.token)
    ticket = services.tickets.create(actor, NewTicket(subject="v1")).value
    ref = str(ticket.id)
    saves.clear()
    with one_batch(services) as batch:
        # Each edits the version the previous one makes: only in order, on one instance, do all apply.
        edits = [
            batch.submit(
                lambda v=version: services.tickets.update(
                    actor, ref, TicketChanges(subject=f"v{v + 1}"), expected_version=v
                )
            )
            for version in range(1, 6)
        ]
        stale = batch.submit(
            lambda: services.tickets.update(actor, ref, TicketChanges(subject="stale"), expected_version=1)
        )
    assert [edit.result(TIMEOUT).value.version for edit in edits] == [2, 3, 4, 5, 6]
    with pytest.raises(StaleVersionError):
        stale.result(TIMEOUT)
    assert saves == [5]
    assert services.tickets.get(actor, ref).subject == "v6"


def test_creates_in_one_batch_take_consecutive_numbers(
    services: Services, org: Org, saves: list[int]
) -> None:
    actor = _actor(services, org.admin.token)
    counter_id = TicketCounter.create_id(actor.org_id)

    def number_then_fail() -> Staged[None]:
        # A command that fails after its counter recorded a number: the number must not be used up.
        counter: TicketCounter = services.app.repository.get(counter_id)
        counter.next_number(uuid4(), services.clock())
        raise InvalidValueError("changed its mind")

    with one_batch(services) as batch:
        creates = []
        for i in range(6):
            creates.append(
                batch.submit(lambda i=i: services.tickets.create(actor, NewTicket(subject=f"n{i}")))
            )
            if i % 2:
                batch.submit(lambda: services.tickets.committer.run(number_then_fail))
            if i == 3:
                batch.submit(lambda: services.tickets.create(actor, NewTicket(subject="x", team_id=uuid4())))
    assert [c.result(TIMEOUT).value.ticket_number for c in creates] == [1, 2, 3, 4, 5, 6]
    assert saves == [18]
    counter: TicketCounter = services.app.repository.get(counter_id)
    assert counter.last_number == 6
    for number in range(1, 7):
        assert services.tickets.get(actor, str(number)).subject == f"n{number - 1}"


def test_two_servers_batching_creates_keep_numbers_gap_free(
    services: Services, org: Org, database_url: str
) -> None:
    actor = _actor(services, org.admin.token)
    other_server = build_services(Settings(database_url))
    count = 120

    def create(i: int) -> int:
        writer = services if i % 2 else other_server
        if i % 10 == 0:  # failing commands in the batches
            with pytest.raises(InvalidValueError):
                writer.tickets.create(actor, NewTicket(subject="bad", team_id=uuid4()))
        return writer.tickets.create(actor, NewTicket(subject=f"parallel {i}")).value.ticket_number

    try:
        with ThreadPoolExecutor(24) as pool:
            numbers = list(pool.map(create, range(count)))
    finally:
        other_server.close()
    assert sorted(numbers) == list(range(1, count + 1))
    for number in (1, count // 2, count):
        assert services.tickets.get(actor, str(number)).ticket_number == number


def test_two_servers_batching_writes_to_one_ticket_lose_nothing(
    services: Services, org: Org, database_url: str
) -> None:
    actor = _actor(services, org.admin.token)
    ticket = services.tickets.create(actor, NewTicket(subject="hot")).value
    other_server = build_services(Settings(database_url))
    count = 80

    def post(i: int) -> UUID:
        writer = services if i % 2 else other_server
        return writer.tickets.add_message(actor, str(ticket.id), f"m{i}", i % 3 == 0).value.id

    try:
        with ThreadPoolExecutor(16) as pool:
            ids = list(pool.map(post, range(count)))
    finally:
        other_server.close()
    loaded = services.tickets.get(actor, str(ticket.id))
    assert {m.id for m in loaded.visible_messages(include_internal=True)} == set(ids)
    assert sorted(m.content for m in loaded.visible_messages(include_internal=True)) == sorted(
        f"m{i}" for i in range(count)
    )


def test_a_batch_that_passes_a_snapshot_interval_snapshots_and_reloads(
    services: Services, org: Org, saves: list[int]
) -> None:
    actor = _actor(services, org.admin.token)
    ticket = services.tickets.create(actor, NewTicket(subject="long")).value
    ref = str(ticket.id)
    for i in range(45):
        services.tickets.add_message(actor, ref, f"m{i}", False)
    saves.clear()
    with one_batch(services) as batch:
        posts = [
            batch.submit(lambda i=i: services.tickets.add_message(actor, ref, f"m{i}", False))
            for i in range(45, 55)
        ]
    assert [p.result(TIMEOUT).value.content for p in posts] == [f"m{i}" for i in range(45, 55)]
    assert saves == [10]  # versions 47 to 56: the snapshot at 50 is taken inside the batch
    assert services.app.snapshots is not None
    assert [s.originator_version for s in services.app.snapshots.get(ticket.id)] == [50]
    # The cache, and a fresh application (snapshot plus six events), both see every message.
    expected = [f"m{i}" for i in range(55)]
    assert [m.content for m in services.tickets.get(actor, ref).visible_messages()] == expected
    fresh = TicketsApp(env=services.app.env)
    try:
        loaded: Ticket = fresh.repository.get(ticket.id)
        assert [m.content for m in loaded.visible_messages()] == expected
        assert loaded.version == 56
    finally:
        fresh.close()


def test_kill_9_under_load_loses_no_acknowledged_write(
    services: Services, org: Org, database_url: str
) -> None:
    actor = _actor(services, org.admin.token)
    tickets = [str(services.tickets.create(actor, NewTicket(subject=f"t{i}")).value.id) for i in range(5)]
    writer = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.acknowledging_writer",
            database_url,
            org.admin.token,
            *tickets,
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert writer.stdout is not None
    acknowledged: list[str] = []
    try:
        for line in writer.stdout:
            acknowledged.append(line)
            if len(acknowledged) >= 300:
                break
    finally:
        writer.send_signal(signal.SIGKILL)
        # What it printed before it died was acknowledged too.
        acknowledged.extend(writer.stdout.read().splitlines(keepends=True))
        writer.wait(TIMEOUT)
    writes = [line.split() for line in acknowledged if line.endswith("\n") and line != "started\n"]
    assert len(writes) >= 290, acknowledged[-5:]
    messages = [(ticket_id, UUID(message_id)) for kind, ticket_id, message_id in writes if kind == "message"]
    numbers = {int(number): UUID(ticket_id) for kind, ticket_id, number in writes if kind == "ticket"}
    assert messages and numbers
    # A new server on the store finds every acknowledged write, and ticket numbers without a gap.
    restarted = build_services(Settings(database_url))
    try:
        for ticket_id in tickets:
            stored = {m.id for m in restarted.tickets.get(actor, ticket_id).visible_messages()}
            assert {m for t, m in messages if t == ticket_id} <= stored
        for number, ticket_id in numbers.items():
            assert restarted.tickets.get(actor, str(number)).id == ticket_id
        counter: TicketCounter = restarted.app.repository.get(TicketCounter.create_id(actor.org_id))
        assert counter.last_number >= 5 + len(numbers)
        for number in range(1, counter.last_number + 1):
            restarted.tickets.get(actor, str(number))
    finally:
        restarted.close()
