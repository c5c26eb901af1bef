"""A stateful property test: any sequence of commands keeps the ticket equal to a simple model.

The model is a plain dict updated by the rules as the spec states them; the ticket is
rebuilt from its stored events after every step, so replay must agree with the live object.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from tests.unit.conftest import Desk
from tickets.application.tickets import NewTicket
from tickets.domain.errors import ConflictError
from tickets.domain.values import Category, Priority, Status
from tickets.infrastructure.clock import ManualClock


class TicketLifecycle(RuleBasedStateMachine):
    @initialize()
    def open_ticket(self) -> None:
        self.desk = Desk(ManualClock())
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
            self.desk.tickets.update(self.desk.agent, "1", changes)
        except ConflictError:
            assert self._closed()
            return
        assert not self._closed()
        self.model.update(model_changes)
        self.model["events"] += events

    @rule(status=st.sampled_from(Status))
    def change_status(self, status: Status) -> None:
        events = int(status != self.model["status"])
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

    @invariant()
    def ticket_matches_model(self) -> None:
        if not hasattr(self, "desk"):
            return
        ticket = self.desk.tickets.get(self.desk.agent, "1")
        # Replay from the stored events only (no cache, no snapshot) must agree too.
        replayed = None
        for domain_event in self.desk.app.events.get(ticket.id):
            replayed = domain_event.mutate(replayed)
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


TicketLifecycle.TestCase.settings = settings(
    max_examples=40, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_ticket_lifecycle = TicketLifecycle.TestCase
