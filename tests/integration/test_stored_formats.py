"""Every event and aggregate stored by an earlier release reads back with today's mapper, exactly.

Two fixture stores hold the previous format (the library's tagged JSON): `release-0.1.sqlite`
(before typed snapshots) and `release-0.2.sqlite` (the last release before the msgspec format,
with a snapshot of every aggregate). Today's mapper reads each of their events as the library's
own mapper does, types included; the same event written again in today's format reads back the
same; every aggregate loads from its snapshot as its replay does; and what today writes into such
a store is plain JSON that reads back after a restart.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent

from tests.integration.test_snapshots import replayed
from tests.state import aggregate_state, typed
from tickets.application.actors import Actor
from tickets.application.app import TicketsApp
from tickets.bootstrap import build_services
from tickets.domain.commands import NewTicket, TicketChanges
from tickets.domain.snapshots import TypedSnapshot
from tickets.domain.values import Priority, Status
from tickets.infrastructure.clock import ManualClock
from tickets.infrastructure.msgspec_mapper import MsgspecMapper
from tickets.infrastructure.settings import Settings

FIXTURES = Path(__file__).parent.parent / "fixtures"
STORES = ["release-0.1.sqlite", "release-0.2.sqlite"]
RELEASE_02 = json.loads((FIXTURES / "release-0.2.json").read_text())


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A copy of a release's store (tests write to it)."""
    copy = tmp_path / "tickets.db"
    shutil.copy(FIXTURES / request.param, copy)
    return copy


def _open(store: Path) -> TicketsApp:
    return TicketsApp(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(store)})


def _library_mapper(app: TicketsApp) -> Mapper[UUID]:
    """The library's own mapper, with the transcodings the previous releases registered."""
    transcoder = JSONTranscoder()
    app.register_transcodings(transcoder)
    return Mapper(transcoder=transcoder)


def _stored(store: Path, table: str) -> list[StoredEvent]:
    with sqlite3.connect(store) as db:
        rows = db.execute(f"SELECT originator_id, originator_version, topic, state FROM {table}").fetchall()
    return [StoredEvent(UUID(row[0]), row[1], row[2], bytes(row[3])) for row in rows]


def _state(domain_event: Any) -> Any:
    """An event's fields with their types, by name."""
    return {name: typed(value) for name, value in vars(domain_event).items()}


def test_every_stored_event_and_snapshot_reads_as_the_librarys_mapper_reads_it(store: Path) -> None:
    app = _open(store)
    try:
        assert isinstance(app.mapper, MsgspecMapper)
        library = _library_mapper(app)
        events, snapshots = _stored(store, "stored_events"), _stored(store, "stored_snapshots")
        assert len(events) > 100 and len(snapshots) >= 2
        for stored in events + snapshots:
            assert b'"timestamp":{"_type_":"datetime_iso"' in stored.state, "the previous format"
            assert _state(app.mapper.to_domain_event(stored)) == _state(library.to_domain_event(stored)), (
                stored
            )
    finally:
        app.close()


def test_every_stored_event_written_again_in_todays_format_reads_back_the_same(store: Path) -> None:
    app = _open(store)
    try:
        for stored in _stored(store, "stored_events") + _stored(store, "stored_snapshots"):
            before = app.mapper.to_domain_event(stored)
            again = app.mapper.to_stored_event(before)
            assert json.loads(again.state)["timestamp"] == before.timestamp.isoformat().replace("+00:00", "Z")
            assert _state(app.mapper.to_domain_event(again)) == _state(before), stored.topic
    finally:
        app.close()


def test_every_aggregate_loads_from_its_snapshot_as_its_replay_does(store: Path) -> None:
    app = _open(store)
    try:
        ids = {stored.originator_id for stored in _stored(store, "stored_events")}
        used = 0
        for aggregate_id in ids:
            assert isinstance(aggregate_id, UUID)
            used += any(
                isinstance(s, TypedSnapshot) for s in app.snapshots.get(aggregate_id, desc=True, limit=1)
            )  # type: ignore[union-attr]
            loaded = app.repository.get(aggregate_id)
            assert aggregate_state(loaded) == aggregate_state(replayed(app, aggregate_id)), aggregate_id
        if store.read_bytes() == (FIXTURES / "release-0.2.sqlite").read_bytes():
            # Its snapshots of aggregates whose class version has not moved since are read and used.
            assert used > len(ids) / 2, "release 0.2's snapshots are used"
    finally:
        app.close()


def test_a_release_02_store_takes_new_writes_in_todays_format_and_reads_them_after_a_restart(
    tmp_path: Path,
) -> None:
    store = tmp_path / "tickets.db"
    shutil.copy(FIXTURES / "release-0.2.sqlite", store)
    clock = ManualClock()
    services = build_services(Settings(f"sqlite:///{store}"), clock=clock)
    services.record_sla_breaches = False
    try:
        actor = services.directory.authenticate(RELEASE_02["admin_token"])
        assert isinstance(actor, Actor)
        ticket = services.tickets.create(actor, NewTicket(subject="new", priority=Priority.HIGH)).value
        services.tickets.add_message(actor, str(ticket.id), "hello", False)
        old = RELEASE_02["tickets"][1]  # the follow-up: open, snapshotted in the previous format
        services.tickets.update(actor, old, TicketChanges(status=Status.PENDING, priority=Priority.URGENT))
        services.tickets.add_message(actor, old, "still here", True)
    finally:
        services.close()
    written = _stored(store, "stored_events")[-6:]
    for stored in written:
        plain = json.loads(stored.state)
        assert isinstance(plain["timestamp"], str) and b'"_type_"' not in stored.state, stored.topic
    app = _open(store)
    try:
        for aggregate_id in (ticket.id, UUID(old)):
            app.take_snapshot(aggregate_id)  # in today's format
        for aggregate_id in (ticket.id, UUID(old), UUID(RELEASE_02["org"])):
            loaded = app.repository.get(aggregate_id)
            assert aggregate_state(loaded) == aggregate_state(replayed(app, aggregate_id))
        assert app.repository.get(UUID(old)).priority is Priority.URGENT
    finally:
        app.close()
