"""SLA: due times from policies, the first response, on-hold pauses, breaches."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.conftest import Desk
from tickets.domain.commands import NewTicket, TicketChanges
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
    ticket = policies.tickets.update(policies.agent, "1", TicketChanges(priority=Priority.URGENT)).value
    assert ticket.first_response_due_at == start + timedelta(minutes=15)
    assert ticket.resolution_due_at == start + timedelta(minutes=120)
    types = [e.type for e in policies.tickets.timeline(policies.agent, "1")]
    assert types[-2:] == ["priority_changed", "sla_deadline_set"]


def test_team_policy_beats_the_org_wide_one(policies: Desk) -> None:
    team = policies.directory.create_team(policies.admin, "VIP", "").value
    policies.directory.create_sla_policy(policies.admin, Priority.HIGH, 5, 30, team.id)
    start = policies.clock()
    policies.tickets.create(policies.agent, NewTicket(subject="s", priority=Priority.HIGH))
    moved = policies.tickets.update(policies.agent, "1", TicketChanges(team_id=team.id)).value
    assert moved.first_response_due_at == start + timedelta(minutes=5)
    back = policies.tickets.update(policies.agent, "1", TicketChanges(team_id=None)).value
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
    policies.tickets.update(policies.agent, "1", TicketChanges(status=Status.ON_HOLD))
    policies.clock.advance(minutes=90)
    on_hold = policies.tickets.get(policies.agent, "1")
    assert not on_hold.is_sla_breached(policies.clock())
    ticket = policies.tickets.update(policies.agent, "1", TicketChanges(status=Status.OPEN)).value
    assert ticket.first_response_due_at == start + timedelta(minutes=60 + 90)
    assert ticket.resolution_due_at == start + timedelta(minutes=480 + 90)


def test_restamping_after_a_hold_keeps_the_held_time(policies: Desk) -> None:
    start = policies.clock()
    policies.tickets.create(policies.agent, NewTicket(subject="s", priority=Priority.HIGH))
    policies.tickets.update(policies.agent, "1", TicketChanges(status=Status.ON_HOLD))
    policies.clock.advance(minutes=30)
    policies.tickets.update(policies.agent, "1", TicketChanges(status=Status.OPEN))
    ticket = policies.tickets.update(policies.agent, "1", TicketChanges(priority=Priority.URGENT)).value
    assert ticket.first_response_due_at == start + timedelta(minutes=15 + 30)


def test_breached_when_past_the_deadline_and_not_resolved(policies: Desk) -> None:
    policies.tickets.create(policies.agent, NewTicket(subject="s", priority=Priority.URGENT))
    policies.clock.advance(minutes=15)
    assert not policies.tickets.get(policies.agent, "1").is_sla_breached(policies.clock())
    policies.clock.advance(seconds=1)
    assert policies.tickets.get(policies.agent, "1").is_sla_breached(policies.clock())
    resolved = policies.tickets.update(policies.agent, "1", TicketChanges(status=Status.RESOLVED)).value
    assert not resolved.is_sla_breached(policies.clock())


def test_a_breach_stays_a_breach_when_the_ticket_goes_on_hold(policies: Desk) -> None:
    start = policies.clock()
    policies.tickets.create(policies.agent, NewTicket(subject="s", priority=Priority.URGENT))
    policies.clock.advance(minutes=20)  # the 15-minute first response is missed
    held = policies.tickets.update(policies.agent, "1", TicketChanges(status=Status.ON_HOLD)).value
    policies.clock.advance(hours=3)
    assert held.is_sla_breached(policies.clock())
    assert held.sla.first_response_breached(policies.clock())
    # Leaving the hold moves only the target that was still running (resolution, 120 minutes).
    reopened = policies.tickets.update(policies.agent, "1", TicketChanges(status=Status.OPEN)).value
    assert reopened.first_response_due_at == start + timedelta(minutes=15)
    assert reopened.resolution_due_at == start + timedelta(minutes=120 + 180)
    assert reopened.is_sla_breached(policies.clock())


def test_an_on_hold_ticket_is_paused_with_the_time_it_had_left(policies: Desk) -> None:
    policies.tickets.create(policies.agent, NewTicket(subject="s", priority=Priority.HIGH))
    policies.clock.advance(minutes=20)
    held = policies.tickets.update(policies.agent, "1", TicketChanges(status=Status.ON_HOLD)).value
    assert held.sla.paused
    assert held.sla.shown_deadline(held.status) is None
    assert held.sla.remaining_when_paused == timedelta(minutes=40)
    policies.clock.advance(days=2)
    assert not held.is_sla_breached(policies.clock())


def test_each_target_keeps_its_outcome_after_resolving(policies: Desk) -> None:
    policies.tickets.create(policies.agent, NewTicket(subject="s", priority=Priority.URGENT))
    policies.clock.advance(minutes=16)
    policies.tickets.add_message(policies.admin, "1", "late reply", False)
    resolved = policies.tickets.update(policies.agent, "1", TicketChanges(status=Status.RESOLVED)).value
    now = policies.clock()
    assert not resolved.is_sla_breached(now)
    assert resolved.sla.first_response_breached(now)
    assert not resolved.sla.resolution_breached(now)
    assert resolved.sla.ever_breached(None), "decided: no time passing changes it"


def test_restamping_does_not_undo_a_missed_target(policies: Desk) -> None:
    policies.tickets.create(policies.agent, NewTicket(subject="s", priority=Priority.URGENT))
    policies.clock.advance(minutes=30)
    # Low priority has no policy: the due times are cleared, the missed first response stays missed.
    ticket = policies.tickets.update(policies.agent, "1", TicketChanges(priority=Priority.LOW)).value
    assert ticket.first_response_due_at is None
    assert ticket.sla.first_response_breached(policies.clock())
    assert not ticket.is_sla_breached(policies.clock())


def test_leaving_a_hold_is_on_the_timeline_with_the_moved_due_times(policies: Desk) -> None:
    start = policies.clock()
    policies.tickets.create(policies.agent, NewTicket(subject="s", priority=Priority.HIGH))
    policies.tickets.update(policies.agent, "1", TicketChanges(status=Status.ON_HOLD))
    policies.clock.advance(minutes=30)
    policies.tickets.update(policies.agent, "1", TicketChanges(status=Status.PENDING))
    resumed, changed = policies.tickets.timeline(policies.agent, "1")[-2:]
    assert (resumed.type, changed.type) == ("sla_clock_resumed", "status_changed")
    assert resumed.old_value == start + timedelta(minutes=60)
    assert resumed.new_value == {
        "held_seconds": 1800.0,
        "first_response_due_at": start + timedelta(minutes=90),
        "resolution_due_at": start + timedelta(minutes=510),
    }


def test_a_hold_recorded_before_the_resume_event_replays_by_the_rule_of_its_time(policies: Desk) -> None:
    """Streams written before `SlaClockResumed`: the status change itself moves every unmet due time."""
    from tickets.domain.ticket import Ticket

    start = policies.clock()
    ticket = policies.tickets.create(policies.agent, NewTicket(subject="s", priority=Priority.URGENT)).value
    policies.clock.advance(minutes=20)  # the 15-minute first response is already missed
    policies.tickets.update(policies.agent, "1", TicketChanges(status=Status.ON_HOLD))
    policies.clock.advance(minutes=30)
    held = policies.tickets.get(policies.agent, "1")
    held._status_changed(
        old=Status.ON_HOLD.value,
        new=Status.OPEN.value,
        actor_id=policies.agent.user_id,
        timestamp=policies.clock(),
    )
    policies.app.save(held)
    replayed = None
    for domain_event in policies.app.events.get(ticket.id):
        replayed = domain_event.mutate(replayed)
    assert isinstance(replayed, Ticket)
    # As that release computed it: the missed target moved too...
    assert replayed.first_response_due_at == start + timedelta(minutes=15 + 30)
    assert replayed.resolution_due_at == start + timedelta(minutes=120 + 30)
    assert replayed.held == timedelta(minutes=30)
    # ...but the miss is recorded as a fact all the same.
    assert replayed.sla.first_response_breached(None)


def test_a_reply_during_a_hold_is_judged_by_when_the_hold_began(policies: Desk) -> None:
    policies.tickets.create(policies.agent, NewTicket(subject="s", priority=Priority.HIGH))
    policies.clock.advance(minutes=10)
    policies.tickets.update(policies.agent, "1", TicketChanges(status=Status.ON_HOLD))
    policies.clock.advance(minutes=120)  # far past the 60-minute target, but the clock is stopped
    policies.tickets.add_message(policies.admin, "1", "reply while on hold", False)
    ticket = policies.tickets.update(policies.agent, "1", TicketChanges(status=Status.OPEN)).value
    assert not ticket.sla.first_response_breached(policies.clock())
    assert not ticket.sla.ever_breached(None)


def test_a_late_reply_is_a_missed_first_response_for_good(policies: Desk) -> None:
    policies.tickets.create(policies.agent, NewTicket(subject="s", priority=Priority.HIGH))
    policies.clock.advance(minutes=61)
    policies.tickets.add_message(policies.admin, "1", "sorry for the wait", False)
    ticket = policies.tickets.update(policies.agent, "1", TicketChanges(priority=Priority.URGENT)).value
    assert ticket.sla.first_response_breached(None)


def test_a_hold_after_every_target_was_missed_is_no_pause(policies: Desk) -> None:
    policies.tickets.create(policies.agent, NewTicket(subject="s", priority=Priority.URGENT))
    policies.clock.advance(hours=3)  # both targets (15 and 120 minutes) missed
    held = policies.tickets.update(policies.agent, "1", TicketChanges(status=Status.ON_HOLD)).value
    assert not held.sla.paused
    assert held.sla.shown_deadline(held.status) == held.first_response_due_at
    assert held.is_sla_breached(policies.clock())
