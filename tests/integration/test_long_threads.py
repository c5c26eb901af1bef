"""A ticket's thread is stored apart from its snapshot: a cold load does not read it, using it does.

Whatever reads or writes the thread, the ticket is the one its events replay to.
"""

from __future__ import annotations

import copy
import json
from typing import Any
from uuid import UUID, uuid5

from tests.conftest import Org
from tests.integration.test_snapshots import replayed
from tests.state import aggregate_state
from tickets.application.actors import Actor
from tickets.bootstrap import Services, build_services
from tickets.domain.commands import NewTicket
from tickets.domain.ticket import Message
from tickets.infrastructure.clock import ManualClock
from tickets.infrastructure.settings import Settings
from tickets.infrastructure.snapshot_parts import LazyDict, StoredPart

INTERVAL = 50  # TicketsApp.snapshotting_intervals[Ticket]


def _actor(services: Services, token: str) -> Actor:
    actor = services.directory.authenticate(token)
    assert isinstance(actor, Actor)
    return actor


def test_a_cold_load_does_not_read_the_thread_and_appending_does_not_either(
    services: Services, org: Org, database_url: str, clock: ManualClock
) -> None:
    admin = _actor(services, org.admin.token)
    ticket_id = services.tickets.create(admin, NewTicket(subject="long")).value.id
    first = services.tickets.add_message(admin, "1", "first", False).value
    services.tickets.edit_message(admin, "1", first.id, "first, edited")
    for i in range(INTERVAL + 10):  # a snapshot at version 50, then only new messages
        services.tickets.add_message(admin, "1", f"message {i}", i % 2 == 0)

    restarted = build_services(Settings(database_url), clock=clock)
    restarted.record_sla_breaches = False
    try:
        cold: Any = restarted.app.repository.get(ticket_id)
        # (An edit or a deletion after the snapshot would read it: replaying it changes a message.)
        assert isinstance(cold.messages, LazyDict) and not cold.messages.is_loaded
        assert cold.message_count == INTERVAL + 11
        # A new message and a change to the ticket: the thread stays unread, in the cache too.
        actor = _actor(restarted, org.admin.token)
        added = restarted.tickets.add_message(actor, "1", "after the restart", False).value
        cached: Any = restarted.app.repository.get(ticket_id)
        assert isinstance(cached.messages, LazyDict) and not cached.messages.is_loaded
        # Read, it is the thread the events replay to, the new message last.
        assert list(cached.messages)[-1] == str(added.id)
        assert cached.messages[str(first.id)].content == "first, edited"
        assert aggregate_state(cached) == aggregate_state(replayed(restarted.app, ticket_id))
        # Deleting and editing read it and work as on a dict.
        restarted.tickets.delete_message(actor, "1", added.id)
        restarted.tickets.edit_message(actor, "1", first.id, "first, again")
        for i in range(INTERVAL):  # past the next snapshot, written from a thread partly unread
            restarted.tickets.add_message(actor, "1", f"later {i}", False)
    finally:
        restarted.close()

    again = build_services(Settings(database_url), clock=clock)
    try:
        loaded: Any = again.app.repository.get(ticket_id)
        assert loaded.version > 2 * INTERVAL and not loaded.messages.is_loaded
        assert aggregate_state(loaded) == aggregate_state(replayed(again.app, ticket_id))
        # The thread's record is plain JSON, keyed by the ticket and the snapshot's version.
        assert again.app.snapshots is not None
        [snapshot] = again.app.snapshots.recorder.select_events(ticket_id, desc=True, limit=1)
        [part] = again.app.snapshots.recorder.select_events(
            uuid5(ticket_id, "snapshot:messages"), lte=snapshot.originator_version, desc=True, limit=1
        )
        assert part.originator_version == snapshot.originator_version
        thread = json.loads(part.state)
        assert thread[str(first.id)]["content"] == "first, again"
        assert isinstance(thread[str(first.id)]["author_id"], str)
    finally:
        again.close()


def _message(n: int) -> Message:
    return Message(UUID(int=n), UUID(int=0), f"m{n}", False, [], ManualClock()())


def test_a_lazy_dict_is_read_once_for_all_its_copies_and_keeps_what_was_set_before() -> None:
    reads = []

    def read() -> dict[str, Message]:
        reads.append(1)
        return {"a": _message(1), "b": _message(2)}

    thread: LazyDict[str, Message] = LazyDict(StoredPart(read))
    thread["c"] = _message(3)  # before it is read
    copied = copy.copy(thread)
    assert reads == []
    assert list(thread) == ["a", "b", "c"] and thread == {
        "a": _message(1),
        "b": _message(2),
        "c": _message(3),
    }
    assert list(copied.items()) == list(thread.items())
    del copied["a"]
    assert "a" in thread and "a" not in copied
    assert reads == [1]  # one read, shared by the copies
