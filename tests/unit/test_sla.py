"""SLA: due times from policies, the first response, on-hold pauses, breaches."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.conftest import Desk
from tickets.application.tickets import NewTicket
from tickets.domain.values import Priority, Status


@pytest.fixture
def policies(desk: Desk) -> Desk:
    desk.directory.create_sla_policy(desk.admin, Priority.HIGH, 60, 480, None)
    desk.directory.create_sla_policy(desk.admin, Priority.URGENT, 15, 120, None)
    return desk


def test_matching_policy_stamps_due_times_on_create(policies: Desk) -> None:
    start = policies.clock()
    ticket = policies.tickets.create(policies.agent, NewTicket(subject="s", priority=Priority.HIGH)).value
    assert ticket.first_response_due_at == start + timedelta(minutes=60)
    assert ticket.resolution_due_at == start + timedelta(minutes=480)
    assert ticket.sla_deadline == start + timedelta(minutes=60)


def test_no_policy_means_no_due_times(policies: Desk) -> None:
    ticket = policies.tickets.create(policies.agent, NewTicket(subject="s", priority=Priority.LOW)).value
    assert (ticket.first_response_due_at, ticket.resolution_due_at, ticket.sla_deadline) == (None, None, None)


def test_priority_change_restamps_from_creation_time(policies: Desk) -> None:
    start = policies.clock()
    policies.tickets.create(policies.agent, NewTicket(subject="s", priority=Priority.HIGH))
    policies.clock.advance(minutes=10)
    ticket = policies.tickets.update(policies.agent, "1", {"priority": Priority.URGENT}).value
    assert ticket.first_response_due_at == start + timedelta(minutes=15)
    assert ticket.resolution_due_at == start + timedelta(minutes=120)
    types = [e.type for e in policies.tickets.timeline(policies.agent, "1")]
    assert types[-2:] == ["priority_changed", "sla_deadline_set"]


def test_team_policy_beats_the_org_wide_one(policies: Desk) -> None:
    team = policies.directory.create_team(policies.admin, "VIP", "").value
    policies.directory.create_sla_policy(policies.admin, Priority.HIGH, 5, 30, team.id)
    start = policies.clock()
    policies.tickets.create(policies.agent, NewTicket(subject="s", priority=Priority.HIGH))
    moved = policies.tickets.update(policies.agent, "1", {"team_id": team.id}).value
    assert moved.first_response_due_at == start + timedelta(minutes=5)
    back = policies.tickets.update(policies.agent, "1", {"team_id": None}).value
    assert back.first_response_due_at == start + timedelta(minutes=60)


def test_first_public_reply_from_someone_else_sets_first_response(policies: Desk) -> None:
    policies.tickets.create(policies.agent, NewTicket(subject="s", priority=Priority.HIGH))
    policies.tickets.add_message(policies.agent, "1", "creator's own reply", False)
    policies.tickets.add_message(policies.admin, "1", "internal note", True)
    assert policies.tickets.get(policies.agent, "1").first_response_at is None
    policies.clock.advance(minutes=3)
    policies.tickets.add_message(policies.admin, "1", "Hi! Looking into it.", False)
    ticket = policies.tickets.get(policies.agent, "1")
    assert ticket.first_response_at == policies.clock()
    # First response met: the deadline is now the resolution target.
    assert ticket.sla_deadline == ticket.resolution_due_at


def test_on_hold_time_pushes_due_times_back(policies: Desk) -> None:
    start = policies.clock()
    policies.tickets.create(policies.agent, NewTicket(subject="s", priority=Priority.HIGH))
    policies.clock.advance(minutes=20)
    policies.tickets.update(policies.agent, "1", {"status": Status.ON_HOLD})
    policies.clock.advance(minutes=90)
    on_hold = policies.tickets.get(policies.agent, "1")
    assert not on_hold.is_sla_breached(policies.clock())
    ticket = policies.tickets.update(policies.agent, "1", {"status": Status.OPEN}).value
    assert ticket.first_response_due_at == start + timedelta(minutes=60 + 90)
    assert ticket.resolution_due_at == start + timedelta(minutes=480 + 90)


def test_restamping_after_a_hold_keeps_the_held_time(policies: Desk) -> None:
    start = policies.clock()
    policies.tickets.create(policies.agent, NewTicket(subject="s", priority=Priority.HIGH))
    policies.tickets.update(policies.agent, "1", {"status": Status.ON_HOLD})
    policies.clock.advance(minutes=30)
    policies.tickets.update(policies.agent, "1", {"status": Status.OPEN})
    ticket = policies.tickets.update(policies.agent, "1", {"priority": Priority.URGENT}).value
    assert ticket.first_response_due_at == start + timedelta(minutes=15 + 30)


def test_breached_when_past_the_deadline_and_not_resolved(policies: Desk) -> None:
    policies.tickets.create(policies.agent, NewTicket(subject="s", priority=Priority.URGENT))
    policies.clock.advance(minutes=15)
    assert not policies.tickets.get(policies.agent, "1").is_sla_breached(policies.clock())
    policies.clock.advance(seconds=1)
    assert policies.tickets.get(policies.agent, "1").is_sla_breached(policies.clock())
    resolved = policies.tickets.update(policies.agent, "1", {"status": Status.RESOLVED}).value
    assert not resolved.is_sla_breached(policies.clock())
