"""A store written by the previous release (tests/fixtures/release-0.1.sqlite) works with today's code.

Its snapshots (that release's format and rules) are not used; every aggregate loads, at every
version, as a full replay of its events does, types included; every ticket version shows what
that release showed; its tickets and org take new commands; and the API and the read side serve it.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient

from projections.summary import TICKET_EVENTS, TICKET_TOPICS, evolve
from tests.integration.test_snapshots import replayed
from tests.projections.test_read_models import fold
from tests.state import aggregate_state
from tickets.api.app import create_app
from tickets.application.app import TicketsApp
from tickets.bootstrap import build_services
from tickets.domain.values import Priority, Status
from tickets.infrastructure.clock import ManualClock
from tickets.infrastructure.settings import Settings

FIXTURES = Path(__file__).parent.parent / "fixtures"
RELEASE = json.loads((FIXTURES / "release-0.1.json").read_text())


@pytest.fixture
def release_store(tmp_path: Path) -> Path:
    """A copy of the release's store (tests write to it)."""
    copy = tmp_path / "tickets.db"
    shutil.copy(FIXTURES / "release-0.1.sqlite", copy)
    return copy


def _aggregate_ids(store: Path) -> list[UUID]:
    with sqlite3.connect(store) as db:
        return [UUID(row[0]) for row in db.execute("SELECT DISTINCT originator_id FROM stored_events")]


def test_every_aggregate_of_the_previous_release_loads_alike_from_snapshots_and_events(
    release_store: Path,
) -> None:
    with sqlite3.connect(release_store) as db:
        assert db.execute("SELECT COUNT(*) FROM stored_snapshots").fetchone()[0] >= 2
    app = TicketsApp(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(release_store)})
    try:
        ids = _aggregate_ids(release_store)
        assert len(ids) > 10
        for aggregate_id in ids:
            loaded: Any = app.repository.get(aggregate_id)
            assert aggregate_state(loaded) == aggregate_state(replayed(app, aggregate_id)), aggregate_id
            # Every version too: those past a snapshot of that release must not carry its rules.
            for version in range(1, loaded.version + 1):
                at_version = app.repository.get(aggregate_id, version=version)
                assert aggregate_state(at_version) == aggregate_state(replayed(app, aggregate_id, version))
    finally:
        app.close()


def test_every_ticket_version_shows_what_the_previous_release_showed(release_store: Path) -> None:
    sys.path.insert(0, str(FIXTURES))
    try:
        from make_release_store import SEEN_FIELDS, seen_value
    finally:
        sys.path.remove(str(FIXTURES))
    app = TicketsApp(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(release_store)})
    try:
        for ticket_id, seen in RELEASE["versions"].items():
            for version, then in enumerate(seen, start=1):
                now = replayed(app, UUID(ticket_id), version)
                assert {n: seen_value(getattr(now, n)) for n in SEEN_FIELDS} == then, (ticket_id, version)
    finally:
        app.close()


def test_the_org_settings_replay_through_the_upcast_update_events(release_store: Path) -> None:
    sys.path.insert(0, str(FIXTURES))
    try:
        from make_release_store import org_seen
    finally:
        sys.path.remove(str(FIXTURES))
    with sqlite3.connect(release_store) as db:
        old_shapes = sum(
            b'"changes":' in bytes(state)
            for (state,) in db.execute("SELECT state FROM stored_events WHERE topic LIKE '%Updated'")
        )
    assert old_shapes >= 5, "the fixture holds update events of the version-1 shape"
    app = TicketsApp(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(release_store)})
    try:
        org = app.repository.get(UUID(RELEASE["org"]))
        seen: dict[str, dict[str, dict[str, object]]] = org_seen(org)  # type: ignore[assignment]
        # Fields added since the release (a team's members) are compared only as empty: it had none.
        assert all(team.member_ids == () for team in org.teams.values())
        then = {
            part: {k: {f: item[f] for f in RELEASE["org_seen"][part][k]} for k, item in items.items()}
            for part, items in seen.items()
        }
        assert then == RELEASE["org_seen"]
        # A member's kind and agent settings, added since, have their defaults.
        assert {(m.kind, m.dispatch_url, m.behaviour) for m in org.members.values()} == {
            ("human", None, None)
        }
    finally:
        app.close()


def test_the_read_side_decodes_the_previous_releases_events_as_the_librarys_mapper_does(
    release_store: Path,
) -> None:
    app = TicketsApp(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(release_store)})
    try:
        read = TICKET_EVENTS.reader(app.mapper)
        stored = app.recorder.select_notifications(1, 10_000, topics=TICKET_TOPICS)
        assert len({n.topic for n in stored}) >= 15
        for notification in stored:
            mine, library = read(notification), app.mapper.to_domain_event(notification)
            # An event stored by an older class version is the library's to upcast; msgspec reads the others.
            older = json.loads(notification.state).get("class_version", 1) < getattr(
                library, "class_version", 1
            )
            assert (
                type(mine) is type(library)
                if older
                else type(mine).__name__ == f"Stored{type(library).__name__}"
            )
            assert evolve.dispatch(type(mine)) is evolve.dispatch(type(library))
        assert fold(app, read) == fold(app, app.mapper.to_domain_event)
    finally:
        app.close()


def test_the_previous_releases_tickets_and_org_take_new_changes(release_store: Path) -> None:
    clock = ManualClock()
    services = build_services(Settings(f"sqlite:///{release_store}"), clock=clock)
    services.record_sla_breaches = False
    token = RELEASE["admin_token"]
    auth = {"Authorization": f"Bearer {token}"}
    try:
        with TestClient(create_app(services)) as api:
            for number in (1, 2, 3):
                assert api.get(f"/api/v1/tickets/{number}", headers=auth).status_code == 200
            assert api.get("/api/v1/tickets/4", headers=auth).status_code == 404  # deleted in that release
            follow_up = api.patch(
                "/api/v1/tickets/2",
                json={"status": Status.PENDING, "priority": Priority.URGENT},
                headers=auth,
            )
            assert follow_up.status_code == 200, follow_up.text
            closed = api.patch("/api/v1/tickets/1", json={"status": "open"}, headers=auth)
            assert closed.status_code == 409  # closed is final, as it was
            tag = api.post("/api/v1/ticket-tags", json={"name": "new", "color": "#123456"}, headers=auth)
            assert tag.status_code == 201, tag.text
            # The old ticket's history: every version replays, the timeline renders every event.
            first = api.get("/api/v1/tickets/1", headers=auth).json()
            for version in range(1, first["version"] + 1):
                assert api.get(f"/api/v1/tickets/1?version={version}", headers=auth).status_code == 200
            timeline = api.get("/api/v1/tickets/1/activities?limit=200", headers=auth).json()["items"]
            assert [e["version"] for e in timeline] == list(range(1, first["version"] + 1))
            # The read side builds its copies from the old log.
            listed = api.get("/api/v1/tickets", headers={**auth, "X-Min-Position": str(RELEASE["head"])})
            assert sorted(t["ticketNumber"] for t in listed.json()["items"]) == [1, 2, 3]
    finally:
        services.app.close()
