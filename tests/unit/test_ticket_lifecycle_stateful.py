"""A stateful property test: any sequence of commands keeps the ticket equal to a simple model.

The model is a plain dict updated by the rules as the spec states them. The store is a
SQLite file; snapshots are taken every few events, the aggregate cache holds two
aggregates (so tickets and orgs are evicted and reloaded), and "restart" steps open a new
application on the same file. After every step the ticket from the cache, from snapshot
plus tail (a fresh application) and from a full replay of its events must be equal, types
included, and must answer the same next commands in the same way.
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from tests.state import aggregate_state
from tests.unit.conftest import Desk
from tickets.application.app import TicketsApp
from tickets.domain.commands import NewTicket, TicketChanges
from tickets.domain.errors import ConflictError, DomainError
from tickets.domain.organization import Organization
from tickets.domain.registry import TicketCounter
from tickets.domain.ticket import Ticket
from tickets.domain.values import Category, Priority, SlaTargets, Status
from tickets.infrastructure.clock import ManualClock


class FrequentSnapshotsApp(TicketsApp):
    """Snapshots every 3 events and a two-aggregate cache: restores happen all the time."""

    snapshotting_intervals = {Ticket: 3, Organization: 3, TicketCounter: 3}
    env = {"AGGREGATE_CACHE_MAXSIZE": "2"}


# Commands tried on each copy of the ticket: every copy must answer each one alike.
PROBES: list[Callable[[Ticket, Any], None]] = [
    *[lambda t, at, s=s: t.change_status(s, t.creator_id, at) for s in Status],
    *[lambda t, at, p=p: t.change_priority(p, SlaTargets(5, 50), t.creator_id, at) for p in Priority],
    *[lambda t, at, c=c: t.change_category(c, t.creator_id, at) for c in Category],
    lambda t, at: t.change_subject("probe", t.creator_id, at),
    lambda t, at: t.add_message(uuid4(), t.creator_id, "probe", False, [], at),
    lambda t, at: t.set_tags([], t.creator_id, at),
    lambda t, at: t.delete(t.creator_id, at),
]


def probe_outcomes(ticket: Ticket, at: Any) -> list[Any]:
    """How `ticket` answers each probe: the event types it records, or the error it raises."""
    outcomes: list[Any] = []
    for probe in PROBES:
        trial = copy.deepcopy(ticket)
        try:
            probe(trial, at)
        except DomainError as error:
            outcomes.append(type(error))
        else:
            outcomes.append([type(e).__name__ for e in trial.collect_events()])
    return outcomes


class TicketLifecycle(RuleBasedStateMachine):
    @initialize()
    def open_ticket(self) -> None:
        self.directory = tempfile.TemporaryDirectory()
        self.env = {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(Path(self.directory.name) / "tickets.db"),
        }
        self.desk = Desk(ManualClock(), FrequentSnapshotsApp(env=self.env))
        self.tags = [
            self.desk.directory.create_tag(self.desk.agent, n, "#abcdef", None).value.id for n in "xyz"
        ]
        self.desk.tickets.create(self.desk.agent, NewTicket(subject="start"))
        self.model: dict[str, Any] = {
            "status": Status.OPEN,
            "priority": Priority.MEDIUM,
            "category": Category.GENERAL,
            "subject": "start",
            "tags": [],
            "messages": 0,
            "events": 1,
        }

    def _closed(self) -> bool:
        return self.model["status"] == Status.CLOSED

    def _try(self, changes: dict[str, Any], model_changes: dict[str, Any], events: int) -> None:
        try:
            self.desk.tickets.update(self.desk.agent, "1", TicketChanges(**changes))
        except ConflictError:
            assert self._closed()
            return
        assert not self._closed()
        self.model.update(model_changes)
        self.model["events"] += events

    @rule(status=st.sampled_from(Status))
    def change_status(self, status: Status) -> None:
        events = int(status != self.model["status"])
        # Leaving a hold also records that the SLA clock resumed.
        events += int(self.model["status"] == Status.ON_HOLD and status != Status.ON_HOLD)
        self._try({"status": status}, {"status": status}, events)

    @rule(priority=st.sampled_from(Priority))
    def change_priority(self, priority: Priority) -> None:
        events = int(priority != self.model["priority"])
        self._try({"priority": priority}, {"priority": priority}, events)

    @rule(category=st.sampled_from(Category))
    def change_category(self, category: Category) -> None:
        events = int(category != self.model["category"])
        self._try({"category": category}, {"category": category}, events)

    @rule(subject=st.text(min_size=1, max_size=20))
    def change_subject(self, subject: str) -> None:
        self._try({"subject": subject}, {"subject": subject}, int(subject != self.model["subject"]))

    @rule(picks=st.lists(st.integers(0, 2), unique=True, max_size=3))
    def set_tags(self, picks: list[int]) -> None:
        wanted = [self.tags[i] for i in picks]
        current = self.model["tags"]
        kept = [t for t in current if t in wanted]
        events = (len(current) - len(kept)) + len([t for t in wanted if t not in current])
        self._try({"tag_ids": wanted}, {"tags": kept + [t for t in wanted if t not in current]}, events)

    @rule(internal=st.booleans())
    def post(self, internal: bool) -> None:
        try:
            self.desk.tickets.add_message(self.desk.agent, "1", "hello", internal)
        except ConflictError:
            assert self._closed()
            return
        self.model["messages"] += 1
        self.model["events"] += 1

    @precondition(lambda self: self.model["messages"] > 0)
    @rule()
    def delete_a_message(self) -> None:
        ticket = self.desk.tickets.get(self.desk.agent, "1")
        first = ticket.visible_messages()[0]
        try:
            self.desk.tickets.delete_message(self.desk.agent, "1", first.id)
        except ConflictError:
            assert self._closed()
            return
        self.model["messages"] -= 1
        self.model["events"] += 1

    @rule(minutes=st.integers(1, 600))
    def time_passes(self, minutes: int) -> None:
        self.desk.clock.advance(minutes=minutes)

    @rule()
    def restart(self) -> None:
        """A new application on the same store: the cache is gone, snapshots and events remain."""
        self.desk.app.close()
        self.desk.reopen(FrequentSnapshotsApp(env=self.env))

    @invariant()
    def ticket_matches_model(self) -> None:
        if not hasattr(self, "desk"):
            return
        ticket = self.desk.tickets.get(self.desk.agent, "1")
        # A fresh application on the same store loads from the newest snapshot plus the events after it.
        # (Its thread is read from the snapshot's store when first used, so compare before closing it.)
        fresh = FrequentSnapshotsApp(env=self.env)
        try:
            from_snapshot = fresh.repository.get(ticket.id)
            # Replay from the stored events only (no cache, no snapshot) must agree too.
            replayed = None
            for domain_event in self.desk.app.events.get(ticket.id):
                replayed = domain_event.mutate(replayed)
            assert replayed is not None
            assert aggregate_state(ticket) == aggregate_state(from_snapshot) == aggregate_state(replayed)
        finally:
            fresh.close()
        now = self.desk.clock()
        assert (
            probe_outcomes(ticket, now) == probe_outcomes(from_snapshot, now) == probe_outcomes(replayed, now)
        )
        for current in (ticket, replayed):
            assert current is not None
            assert current.status == self.model["status"]
            assert current.priority == self.model["priority"]
            assert current.category == self.model["category"]
            assert current.subject == self.model["subject"]
            assert current.tag_ids == self.model["tags"]
            assert current.message_count == self.model["messages"]
            assert current.version == self.model["events"]
            assert (current.closed_at is not None) == (current.status == Status.CLOSED)
            if current.status in (Status.RESOLVED, Status.CLOSED):
                assert current.resolved_at is not None

    def teardown(self) -> None:
        if hasattr(self, "desk"):
            self.desk.app.close()
            self.directory.cleanup()


TicketLifecycle.TestCase.settings = settings(
    max_examples=40, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_ticket_lifecycle = TicketLifecycle.TestCase
