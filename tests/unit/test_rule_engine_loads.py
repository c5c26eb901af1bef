"""The rule engine loads a ticket only when its org has a rule that reacts to the trigger."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from tickets.application.actors import Actor
from tickets.bootstrap import Services, in_memory
from tickets.domain.commands import NewTicket, RuleSpec
from tickets.domain.rules import Action, Condition
from tickets.domain.values import Role
from tickets.infrastructure.clock import ManualClock


def _events_after(services: Services, position: int) -> list[Any]:
    return [
        services.app.mapper.to_domain_event(n)
        for n in services.app.recorder.select_notifications(position + 1, 10_000)
    ]


def _loads(services: Services, monkeypatch: pytest.MonkeyPatch) -> list[UUID]:
    """The ids the application's repository is asked for, from now on."""
    asked: list[UUID] = []
    get = services.app.repository.get

    def spy(aggregate_id: UUID, **kwargs: Any) -> Any:
        asked.append(aggregate_id)
        return get(aggregate_id, **kwargs)

    monkeypatch.setattr(services.app.repository, "get", spy)
    return asked


def test_triggers_of_an_org_without_rules_load_no_ticket(monkeypatch: pytest.MonkeyPatch) -> None:
    services = in_memory(ManualClock())
    created = services.directory.create_org("acme", "Acme", "ann@acme.test", "Ann")
    admin = Actor(created.user_id, created.org_id, Role.ADMIN)
    tickets = [services.tickets.create(admin, NewTicket(subject=f"t{i}")).value for i in range(5)]
    for ticket in tickets:
        services.tickets.add_message(admin, str(ticket.id), "hello", False)
    asked = _loads(services, monkeypatch)

    assert services.rule_engine.run(_events_after(services, 0)) == 0
    assert not {t.id for t in tickets} & set(asked)
    assert asked == [created.org_id]  # the org, once for the whole run


def test_a_rule_added_later_runs_for_tickets_passed_over_before(monkeypatch: pytest.MonkeyPatch) -> None:
    services = in_memory(ManualClock())
    created = services.directory.create_org("acme", "Acme", "ann@acme.test", "Ann")
    admin = Actor(created.user_id, created.org_id, Role.ADMIN)
    ticket = services.tickets.create(admin, NewTicket(subject="Printer")).value
    services.rule_engine.run(_events_after(services, 0))  # no rules: the ticket's org is remembered
    before = services.app.recorder.max_notification_id() or 0

    services.rules.create_rule(
        admin,
        RuleSpec(
            name="tag replies",
            on=["message.added"],
            all_of=[Condition("subject", "contains", "printer")],
            actions=[Action("set_priority", value="high")],
        ),
    )
    services.tickets.add_message(admin, str(ticket.id), "still broken", False)
    asked = _loads(services, monkeypatch)

    assert services.rule_engine.run(_events_after(services, before)) == 1
    assert ticket.id in asked
    assert services.tickets.get(admin, str(ticket.id)).priority.value == "high"
